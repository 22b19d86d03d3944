"""The sources panel: the chunks behind the selected answer, each two lines, best evidence first.

Enter previews a chunk with the sentences the answer quotes from it (its evidence) highlighted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from localgpt.rag.evidence import Evidence
from localgpt.rag.sources import Source
from localgpt.settings.display import shown
from tui.messages import OpenSource, PreviewSource

SNIPPET_CHARS = 240


def where(source: Source) -> str:
    if source.page:
        return f"p.{source.page}"
    return f"§ {source.heading}" if source.heading else ""


def describe(source: Source) -> Text:
    """Line 1: number, file, page and score. Line 2: the start of the chunk."""
    text = Text()  # wrapping is the stylesheet's: one line per field when narrow, wrapped when wide
    text.append(f"[{source.n}] ", style="bold")
    text.append(shown(source.source))
    place = where(source)
    if place:
        text.append(f" {place}", style="italic")
    text.append(f"  {source.score:.2f}\n", style="dim")
    text.append(" ".join(source.text.split())[:SNIPPET_CHARS], style="dim")
    return text


class SourceList(OptionList):
    """Enter previews the highlighted source; o and e open its file outside the app."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "preview", "Preview", id="sources.preview"),
        Binding("o", "open('pager')", "Pager", id="sources.pager"),
        Binding("e", "open('editor')", "Editor", id="sources.editor"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.sources: list[Source] = []
        self.evidence: list[Evidence] = []

    def show(self, sources: list[Source], evidence: Sequence[Evidence] = ()) -> None:
        self.sources = list(sources)
        self.evidence = list(evidence)
        self.set_options([Option(describe(s), id=str(i)) for i, s in enumerate(self.sources)])
        if self.sources:
            self.highlighted = 0

    @property
    def current(self) -> Source | None:
        if self.highlighted is None or not self.sources:
            return None
        return self.sources[self.highlighted]

    def quotes(self, source: Source) -> list[Evidence]:
        """The evidence quoted from this source."""
        return [e for e in self.evidence if e.chunk_id == source.chunk_id and e.n == source.n]

    def action_preview(self) -> None:
        if self.current is not None:
            spans = [(e.start, e.end) for e in self.quotes(self.current)]
            self.post_message(PreviewSource(self.current, spans))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()  # a click: preview it, like Enter
        self.action_preview()

    def action_open(self, kind: str) -> None:
        if self.current is not None:
            self.post_message(OpenSource(self.current, kind))


class SourcesPanel(Vertical):
    def compose(self) -> ComposeResult:
        yield Label("Sources", id="sources-title")
        yield SourceList(id="sources-list")

    def show(self, sources: list[Source], title: str, evidence: Sequence[Evidence] = ()) -> None:
        self.query_one("#sources-title", Label).update(title)
        self.query_one(SourceList).show(sources, evidence)

    @property
    def sources(self) -> list[Source]:
        return self.query_one(SourceList).sources
