"""Adding a folder from the app: the same sync as `localgpt ingest`, with a progress bar."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Label, Log, ProgressBar

from localgpt.errors import LocalGPTError
from localgpt.settings.display import shown
from tui.messages import IngestDone, IngestFailed, IngestPlanned, IngestProgress

if TYPE_CHECKING:
    from ingest.pipeline import Reporter, Summary
    from ingest.plan import Plan
    from localgpt.rag.resources import Resources


def ingest_folder(resources: Resources, folder: Path, reporter: Reporter) -> Summary:
    """One sync under the collection's ingest lock, like the CLI (a second writer is refused)."""
    from ingest.pipeline import Ingestor
    from localgpt.index.lease import writer_lock

    settings = resources.settings
    with writer_lock(settings, lambda: resources.manifest, wait_s=0):
        summary = Ingestor(resources, reporter).run([folder])
        if summary.added or summary.changed or summary.moved or summary.removed:
            resources.keyword_index()  # rebuilt now, so the next question doesn't wait for it
    return summary


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with the real stderr, on the app's thread.

    Ingest parses in a spawned child, and the first spawn starts the tracker, handing it
    `sys.stderr.fileno()`. Inside the app that is Textual's print capture, whose fileno is -1,
    and the spawn fails with "bad value(s) in fds_to_keep".
    """
    from multiprocessing import resource_tracker

    captured = sys.stderr
    sys.stderr = sys.__stderr__
    try:
        resource_tracker.ensure_running()
    finally:
        sys.stderr = captured


class MessageReporter:
    """The ingest pipeline's reporter protocol, turned into messages (it runs in a worker thread)."""

    def __init__(self, post: Callable[[Message], object]) -> None:
        self.post = post
        self.planned_yet = False

    def planned(self, plan: Plan, chunks_before: int) -> None:
        self.planned_yet = True
        total = len(plan.added) + len(plan.changed) + len(plan.moved) + len(plan.removed)
        unchanged = len(plan.unchanged) + len(plan.touched)
        self.post(
            IngestPlanned(
                total,
                f"{len(plan.added)} new, {len(plan.changed)} changed, {len(plan.moved)} moved, "
                f"{len(plan.removed)} removed, {unchanged} unchanged",
            )
        )

    def file_done(self, path: str, status: str, chunks: int) -> None:
        self.post(IngestProgress(f"{status}: {shown(path)} ({chunks} chunks)", 1))

    def file_skipped(self, path: str, reason: str) -> None:
        # Files refused while scanning come before the plan and are not part of its total.
        self.post(IngestProgress(f"skipped: {shown(path)}: {reason}", 1 if self.planned_yet else 0))


class IngestScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", id="ingest.close")]

    def __init__(self, run: Callable[[Path, Reporter], Summary], collection: str) -> None:
        super().__init__()
        self._run = run
        self.collection = collection
        self.running = False
        self.summary: Summary | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="ingest-box", classes="dialog"):
            yield Label(f"Add a folder to collection '{self.collection}'", classes="dialog-title")
            yield Input(placeholder="folder or file path, then Enter", id="ingest-path")
            yield ProgressBar(id="ingest-progress", show_eta=False)
            yield Label("", id="ingest-plan", markup=False)
            yield Log(id="ingest-log", auto_scroll=True)
        yield Footer()

    @on(Input.Submitted, "#ingest-path")
    def _start(self, event: Input.Submitted) -> None:
        event.stop()
        if self.running:
            return
        raw = event.value.strip()
        folder = Path(raw).expanduser()
        if not raw or not folder.exists():
            # In the dialog, where the eyes are: a toast would sit behind it and fade.
            self._show_error(f"no such file or folder: {shown(raw) if raw else '(empty)'}")
            return
        start_resource_tracker()
        self.running = True
        event.input.disabled = True
        plan = self.query_one("#ingest-plan", Label)
        plan.remove_class("-error")
        plan.update("scanning…")
        bar = self.query_one(ProgressBar)
        bar.update(total=None, progress=0)  # indeterminate until the plan gives the total
        bar.display = True
        self._ingest(folder)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _ingest(self, folder: Path) -> None:
        try:
            summary = self._run(folder, MessageReporter(self.post_message))
        except LocalGPTError as exc:
            self.post_message(IngestFailed(str(exc)))
        except Exception as exc:  # a bug in one sync must not take the chat down with it
            self.post_message(IngestFailed(f"{type(exc).__name__}: {exc}"))
        else:
            self.post_message(IngestDone(summary))

    def on_mount(self) -> None:
        self.query_one(ProgressBar).display = False  # shown once there is something to measure

    def on_ingest_planned(self, message: IngestPlanned) -> None:
        self.query_one(ProgressBar).update(total=max(message.total, 1), progress=0)
        self.query_one("#ingest-plan", Label).update(message.description)

    def on_ingest_progress(self, message: IngestProgress) -> None:
        self.query_one(ProgressBar).advance(message.advance)
        self.query_one(Log).write_line(message.line)

    def on_ingest_done(self, message: IngestDone) -> None:
        # Not stopped: the message bubbles on to the app, which refreshes the status bar.
        s = message.summary
        self.summary = s
        self.running = False
        bar = self.query_one(ProgressBar)
        bar.update(total=bar.total or 1, progress=bar.total or 1)
        self.query_one("#ingest-plan", Label).update(
            f"done: {len(s.added)} added, {len(s.changed)} changed, {len(s.removed)} removed, "
            f"{len(s.skipped)} skipped; {s.files_total} files, {s.chunks_total} chunks "
            f"({s.elapsed_s:.1f} s). Esc closes."
        )
        path_input = self.query_one(Input)
        path_input.disabled = False
        path_input.value = ""

    def on_ingest_failed(self, message: IngestFailed) -> None:
        self.running = False
        self.query_one(Input).disabled = False
        self.query_one(Input).focus()
        self._show_error(f"failed: {message.error}")

    def _show_error(self, error: str) -> None:
        """The reason in the dialog itself; the progress bar stops instead of animating on."""
        plan = self.query_one("#ingest-plan", Label)
        plan.add_class("-error")
        plan.update(error)
        bar = self.query_one(ProgressBar)
        if bar.total is None:
            bar.display = False  # an indeterminate bar would keep pulsing as if still at work

    def action_close(self) -> None:
        if self.running:
            # The pipeline commits file by file and has no abort; leaving would hide its progress.
            self.notify("The ingest is still running; it can't be stopped halfway.", severity="warning")
            return
        self.dismiss(None)
