"""The part of the app that shows a source: the preview screen, and the pager or editor.

The reading of a file (and extracting a PDF page) runs in a worker thread; the terminal is handed
to the external program only from the event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import App, SuspendNotSupported

from localgpt.errors import LocalGPTError
from tui import external
from tui.messages import OpenSource, PreviewSource
from tui.passage import surrounding
from tui.screens.preview import SourcePreview

if TYPE_CHECKING:
    from localgpt.rag.resources import Resources
    from localgpt.rag.sources import Source


class SourceViewerApp(App[None]):
    resources: Resources

    def on_preview_source(self, message: PreviewSource) -> None:
        resources, source = self.resources, message.source
        self.push_screen(
            SourcePreview(source, lambda: surrounding(resources.store(), source), message.quotes)
        )

    def on_open_source(self, message: OpenSource) -> None:
        self._prepare_view(message.source, message.kind)

    @work(thread=True, exit_on_error=False, group="view")
    def _prepare_view(self, source: Source, kind: str) -> None:
        """Reading (and for PDFs extracting) the file can take a moment: not on the event loop."""
        try:
            argv = external.program("editor" if kind == "editor" else "pager")
            target = external.prepare(source.source, source.text, source.page)
        except LocalGPTError as exc:
            self.call_from_thread(self.notify, str(exc), title="Open", severity="error")
            return
        self.call_from_thread(self.run_viewer, external.command(argv, target), target)

    def run_viewer(self, argv: list[str], target: external.ViewTarget) -> None:
        """Hand the terminal to the pager or editor; the app resumes when it exits."""
        try:
            with self.suspend():
                external.launch(argv)
        except SuspendNotSupported:
            self.notify("This terminal can't hand over to another program.", severity="error")
        except OSError as exc:
            self.notify(f"cannot run {argv[0]}: {exc.strerror}", severity="error")
        finally:
            target.cleanup()
