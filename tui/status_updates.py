"""The status bar's side of the app: the model's and the index's state as workers report them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from textual import work

from tui.collections import count_index
from tui.messages import IndexCounted, ModelFailed, ModelReady
from tui.source_viewer import SourceViewerApp

if TYPE_CHECKING:
    from localgpt.rag.resources import Resources
    from tui.screens.main import MainScreen


class StatusApp(SourceViewerApp):
    main: MainScreen
    model_state: Literal["loading", "ready", "failed"]
    busy_turn: int | None

    @work(thread=True, exit_on_error=False, group="count")
    def _refresh_index(self, resources: Resources) -> None:
        self.post_message(count_index(resources))

    def on_model_ready(self, message: ModelReady) -> None:
        self.model_state = "ready"
        status = self.main.status
        status.model = message.name
        status.gpu_layers = message.gpu_layers
        status.state = "answering…" if self.busy_turn is not None else ""
        self.main.prompt.placeholder = "Ask about your documents…"
        for note in message.notes:
            self.notify(note, title="Model", severity="warning")

    def on_model_failed(self, message: ModelFailed) -> None:
        self.model_state = "failed"
        self.main.status.model = "no model"
        self.main.status.state = ""
        self.main.prompt.placeholder = "The model could not load; see the message"
        self.notify(message.error, title="Model", severity="error", timeout=20)

    def on_index_counted(self, message: IndexCounted) -> None:
        if message.collection != self.resources.settings.store.collection:
            return  # a count for a collection we have since switched away from
        status = self.main.status
        status.collection = message.collection
        status.files = message.files
        status.chunks = message.chunks
        if message.error:
            status.note = "index unusable"
            self.notify(message.error, title="Index", severity="error", timeout=20)
        else:
            status.note = "" if message.chunks else "empty: F5 adds a folder"
