"""The chat screen: status bar, conversation beside its sources, and the prompt.

Its bindings name app actions: the app owns the chat state and the workers, this screen only lays
them out. Modal screens pushed over it don't inherit these keys.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input

from tui.widgets.conversation import Conversation
from tui.widgets.sources import SourcesPanel
from tui.widgets.status import StatusBar


class MainScreen(Screen[None]):
    AUTO_FOCUS = "#prompt"
    # Below 110 columns the sources sit under the conversation; from 110 on, beside it.
    # Textual annotates this `ClassVar[...] | None`, which mypy reads as an instance variable,
    # so it can't be re-annotated here as ruff would like.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "app.help", "Help", id="main.help"),
        Binding("question_mark", "app.help", "Help", show=False, id="main.help-alt"),
        Binding("escape", "app.cancel", "Cancel", id="main.cancel"),
        Binding("ctrl+n", "app.new_chat", "New", id="main.new-chat"),
        Binding("ctrl+y", "app.copy_answer", "Copy", id="main.copy-answer"),
        Binding("f2", "app.focus_sources", "Sources", id="main.sources"),
        Binding("f3", "app.chats", "Chats", id="main.chats"),
        Binding("f4", "app.collections", "Collection", id="main.collections"),
        Binding("f5", "app.ingest", "Ingest", id="main.ingest"),
        Binding("ctrl+up", "app.select_answer(-1)", "Previous answer", show=False, id="main.previous-answer"),
        Binding("ctrl+down", "app.select_answer(1)", "Next answer", show=False, id="main.next-answer"),
        Binding("ctrl+l", "app.focus_prompt", "Prompt", show=False, id="main.prompt"),
    ]

    class Ready(Message):
        """The widgets exist: the app may fill them in and start loading the model."""

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Container(id="body"):
            yield Conversation(id="conversation")
            yield SourcesPanel(id="sources")
        yield Input(placeholder="Ask about your documents…", id="prompt")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.post_message(self.Ready())

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def conversation(self) -> Conversation:
        return self.query_one(Conversation)

    @property
    def sources(self) -> SourcesPanel:
        return self.query_one(SourcesPanel)

    @property
    def prompt(self) -> Input:
        return self.query_one("#prompt", Input)
