"""The chat screen: status bar, conversation beside its sources, and the prompt.

Its bindings name app actions: the app owns the chat state and the workers, this screen only lays
them out. Modal screens pushed over it don't inherit these keys. None of them is a bare letter:
whatever has the focus, typing goes to the question box (`on_key`).
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input

from tui.widgets.conversation import Conversation
from tui.widgets.sources import SourcesPanel
from tui.widgets.status import StatusBar

PALETTE_KEY_MIN_WIDTH = 80


class MainScreen(Screen[None]):
    AUTO_FOCUS = "#prompt"
    # Below 110 columns the sources sit under the conversation; from 110 on, beside it.
    # Textual annotates this `ClassVar[...] | None`, which mypy reads as an instance variable,
    # so it can't be re-annotated here as ruff would like.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012
    # The footer shows them in this order and cuts what doesn't fit: the F keys first, so that all
    # of them show in 60 columns (Esc only while answering, the palette key from 80 columns on).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.cancel", "Stop", id="main.cancel"),
        Binding("f1", "app.help", "Help", id="main.help"),
        Binding("f2", "app.focus_sources", "Sources", id="main.sources"),
        Binding("f3", "app.chats", "Chats", id="main.chats"),
        Binding("f4", "app.collections", "Collection", id="main.collections"),
        Binding("f5", "app.ingest", "Ingest", id="main.ingest"),
        Binding("ctrl+n", "app.new_chat", "New", id="main.new-chat"),
        Binding("ctrl+y", "app.copy_answer", "Copy", id="main.copy-answer"),
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
        # Coming back to a draft must not select it: the next key would replace the whole question.
        yield Input(placeholder="Ask about your documents…", id="prompt", select_on_focus=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.post_message(self.Ready())

    def on_resize(self, event: events.Resize) -> None:
        # Ctrl+P still works when narrow (and F1 lists it); its footer slot goes to the F keys.
        self.query_one(Footer).show_command_palette = event.size.width >= PALETTE_KEY_MIN_WIDTH

    def on_key(self, event: events.Key) -> None:
        """A printable key typed outside the question box goes into it.

        After F2 and a preview, the focus is on the sources list while the question box still
        looks ready: a sentence typed then must become the question, not a run of key bindings.
        """
        if not event.is_printable or not event.character or isinstance(self.focused, Input):
            return
        prompt = self.prompt
        if prompt.disabled:
            return
        event.stop()
        event.prevent_default()
        prompt.focus()
        prompt.insert_text_at_cursor(event.character)

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
