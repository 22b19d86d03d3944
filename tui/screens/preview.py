"""The source preview: the retrieved chunk, highlighted, between the text before and after it.

The sentences the answer quotes (its evidence) stand out inside the chunk in the quote style.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, Static

from localgpt.errors import LocalGPTError
from localgpt.rag.sources import Source
from localgpt.settings.display import shown
from tui.messages import OpenSource
from tui.passage import Passage
from tui.widgets.sources import where


class SourcePreview(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", id="preview.close"),
        Binding("o", "open('pager')", "Open in $PAGER", id="preview.pager"),
        Binding("e", "open('editor')", "Open in $EDITOR", id="preview.editor"),
    ]

    QUOTE_STYLE = "bold reverse"

    def __init__(
        self, source: Source, load: Callable[[], Passage], quotes: Sequence[tuple[int, int]] = ()
    ) -> None:
        super().__init__()
        self.source = source
        self._load = load
        self.quotes = list(quotes)  # (start, end) in source.text: the evidence to highlight
        self.passage: Passage | None = None

    def compose(self) -> ComposeResult:
        s = self.source
        place = where(s)
        title = f"[{s.n}] {shown(s.source)}{'  ' + place if place else ''}  · score {s.score:.2f}"
        with Vertical(id="preview-box"):
            yield Label(title, id="preview-title", markup=False)
            with VerticalScroll(id="preview-body"):
                yield Static("", id="preview-before", markup=False)
                yield Static(self.highlighted(s.text), id="preview-passage", markup=False)
                yield Static("", id="preview-after", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#preview-body").loading = True
        self._fetch()

    @work(thread=True, exit_on_error=False)
    def _fetch(self) -> None:
        try:
            passage = self._load()
        except LocalGPTError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        except Exception as exc:  # the preview is a convenience: never let it take the app down
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show, passage)

    def _show(self, passage: Passage) -> None:
        self.passage = passage
        self.query_one("#preview-before", Static).update(passage.before.rstrip("\n"))
        self.query_one("#preview-passage", Static).update(self.highlighted(passage.text))
        self.query_one("#preview-after", Static).update(passage.after.lstrip("\n"))
        self.query_one("#preview-before").display = bool(passage.before.strip())
        self.query_one("#preview-after").display = bool(passage.after.strip())
        if not passage.found:
            self.notify("This chunk is no longer in the index; showing the saved text.", severity="warning")
        body = self.query_one("#preview-body", VerticalScroll)
        body.loading = False
        self.call_after_refresh(body.scroll_to_center, self.query_one("#preview-passage"), animate=False)

    def highlighted(self, text: str) -> Text:
        """The chunk with its quoted spans styled. The offsets are into the chunk as retrieved;
        if the stored copy differs, each quote is looked up by its text instead."""
        out = Text(text)
        for start, end in self.quotes:
            quote = self.source.text[start:end]
            if text[start:end] != quote:
                start = text.find(quote) if quote else -1
                end = start + len(quote)
            if start >= 0 and quote:
                out.stylize(self.QUOTE_STYLE, start, end)
        return out

    def _failed(self, error: str) -> None:
        self.query_one("#preview-body").loading = False
        self.notify(error, title="Preview", severity="error")

    def action_open(self, kind: str) -> None:
        self.post_message(OpenSource(self.source, kind))
