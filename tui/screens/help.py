"""The help screen: every key binding of the app and its screens, read from the bindings themselves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Label

# (where the keys work, their bindings) in the order the table shows them.
Section = tuple[str, Sequence[Binding]]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q,question_mark", "dismiss", "Close", id="help.close")
    ]

    def __init__(self, sections: Sequence[Section]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box", classes="dialog"):
            yield Label("Keys", classes="dialog-title")
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Action", "Where")
        for where, bindings in self.sections:
            for binding in bindings:
                keys = ", ".join(
                    self.app.get_key_display(Binding(key.strip(), "")) for key in binding.key.split(",")
                )
                # Textual's own ctrl+c binding has no description: name its action instead.
                table.add_row(keys, binding.description or binding.action.replace("_", " "), where)
        table.focus()

    @property
    def rows(self) -> list[tuple[str, str, str]]:
        table = self.query_one(DataTable)
        return [tuple(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]  # type: ignore[misc]
