"""The collection switcher: pick an indexed collection, or name a new one to ingest into."""

from __future__ import annotations

from typing import ClassVar

from pydantic import ValidationError
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, OptionList
from textual.widgets.option_list import Option

from localgpt.settings.config import StoreSettings


def valid_collection(name: str) -> str | None:
    """The config's own rule for names; returns the reason a name is refused, or None."""
    try:
        StoreSettings.model_validate({"collection": name})
    except ValidationError:
        return "3-63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit"
    return None


class CollectionsScreen(ModalScreen[str | None]):
    """Dismisses with the chosen collection's name, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss(None)", "Close", id="collections.close")
    ]

    def __init__(self, collections: list[tuple[str, int, int]], current: str) -> None:
        super().__init__()
        self.collections = collections
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="collections-box", classes="dialog"):
            yield Label("Collections", classes="dialog-title")
            options = [
                Option(
                    Text.assemble(
                        ("● " if name == self.current else "  ", "bold"),
                        (name, "bold"),
                        (f"  {files} files · {chunks} chunks", "dim"),
                    ),
                    id=name,
                )
                for name, files, chunks in self.collections
            ]
            yield OptionList(*options, id="collections-list")
            yield Input(placeholder="or type a new collection name and press Enter", id="collection-name")
        yield Footer()

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        names = [name for name, _, _ in self.collections]
        if names:
            options.highlighted = names.index(self.current) if self.current in names else 0
            options.focus()
        else:
            self.query_one(Input).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    @on(Input.Submitted)
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        name = event.value.strip()
        problem = valid_collection(name)
        if problem:
            self.notify(f"'{name}' is not a valid collection name: {problem}", severity="error")
            return
        self.dismiss(name)
