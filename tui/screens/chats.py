"""Saved chats: pick one to reopen it; newest first."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, OptionList
from textual.widgets.option_list import Option

from tui.chats import ChatInfo, ChatStore


def _when(created: str) -> str:
    return created.replace("T", " ")[:16]


class ChatsScreen(ModalScreen[str | None]):
    """Dismisses with the chosen chat's id, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close", id="chats.close"),
        Binding("enter", "open", "Open", id="chats.open"),
        Binding("delete,d", "delete", "Delete", id="chats.delete"),
    ]

    def __init__(self, store: ChatStore) -> None:
        super().__init__()
        self.store = store
        self.infos: list[ChatInfo] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="chats-box", classes="dialog"):
            yield Label("Saved chats", classes="dialog-title")
            yield OptionList(id="chats-list")
            yield Label("", id="chats-empty")
        yield Footer()

    def on_mount(self) -> None:
        self._refresh()

    def _refresh(self) -> None:
        self.infos = self.store.list()
        options = self.query_one(OptionList)
        options.set_options(
            Option(
                Text.assemble(
                    (info.title, "bold"),
                    (f"\n{_when(info.created)} · {info.turns} turns · {info.collection}", "dim"),
                ),
                id=info.id,
            )
            for info in self.infos
        )
        empty = self.query_one("#chats-empty", Label)
        empty.update("" if self.infos else "No saved chats yet: ask a question and it is saved.")
        empty.display = not self.infos
        if self.infos:
            options.highlighted = 0
        options.focus()

    def action_open(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None and self.infos:
            self.dismiss(self.infos[options.highlighted].id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_delete(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None and self.infos:
            self.store.delete(self.infos[options.highlighted].id)
            self._refresh()
