"""Progress while ingesting, and the summary afterwards: rich on a TTY, plain lines otherwise."""

from __future__ import annotations

import sys
from typing import IO, Any

from ingest.pipeline import Summary
from ingest.plan import Plan
from localgpt.settings.display import shown


class PlainReporter:
    """One line per event on stderr: readable in logs and CI."""

    def __init__(self, stream: IO[str] | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.total = 0
        self.done = 0

    def _line(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def planned(self, plan: Plan, chunks_before: int) -> None:
        self.total = len(plan.added) + len(plan.changed) + len(plan.moved) + len(plan.removed)
        self._line(
            f"plan: {len(plan.added)} added, {len(plan.changed)} changed, {len(plan.moved)} moved, "
            f"{len(plan.removed)} removed, {len(plan.unchanged) + len(plan.touched)} unchanged"
        )

    def file_done(self, path: str, status: str, chunks: int) -> None:
        self.done += 1
        self._line(f"[{self.done}/{self.total}] {status}: {shown(path)} ({chunks} chunks)")

    def file_skipped(self, path: str, reason: str) -> None:
        self.done += 1 if self.total else 0
        self._line(f"skipped: {shown(path)}: {reason}")

    def close(self) -> None:
        pass


class RichReporter(PlainReporter):
    """A live progress bar: files, chunks, rate and ETA."""

    def __init__(self) -> None:
        super().__init__()
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]ingest"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files  {task.fields[chunks]} chunks  {task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.task: Any = None
        self.chunks = 0

    def planned(self, plan: Plan, chunks_before: int) -> None:
        super().planned(plan, chunks_before)
        self.progress.start()
        self.task = self.progress.add_task("ingest", total=self.total or 1, chunks=0, rate="")

    def _line(self, text: str) -> None:
        self.console.print(text, highlight=False, markup=False)

    def file_done(self, path: str, status: str, chunks: int) -> None:
        self.chunks += chunks
        self.progress.advance(self.task)
        elapsed = self.progress.tasks[0].elapsed or 0.0
        rate = f"{self.chunks / elapsed:.0f} chunks/s" if elapsed > 1 else ""
        self.progress.update(self.task, chunks=self.chunks, rate=rate)

    def file_skipped(self, path: str, reason: str) -> None:
        if self.task is not None and not reason.startswith("binary file"):
            self.progress.advance(self.task)
        from rich.markup import escape

        # A name like "[red]x" must print as itself, not as markup.
        self.console.print(f"[yellow]skipped[/] {escape(shown(path))}: {escape(reason)}", highlight=False)

    def close(self) -> None:
        self.progress.stop()


def print_summary(summary: Summary, rich: bool, stream: IO[str] | None = None) -> None:
    stream = stream or sys.stderr
    verb = "would " if summary.dry_run else ""
    lead = "dry run, nothing written: " if summary.dry_run else ""
    rows = [
        ("added", len(summary.added)),
        ("changed", len(summary.changed)),
        ("moved", len(summary.moved)),
        ("removed", len(summary.removed)),
        ("unchanged", summary.unchanged),
        ("skipped", len(summary.skipped)),
        ("ignored (not documents)", len(summary.ignored)),
    ]
    if summary.dry_run:
        for label, paths in (
            ("add", summary.added),
            ("change", summary.changed),
            ("remove", summary.removed),
        ):
            for path in paths:
                print(f"{verb}{label}: {shown(path)}", file=stream)
        for old, new in summary.moved:
            print(f"{verb}move: {shown(old)} -> {shown(new)}", file=stream)
    if rich:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"collection '{summary.collection}'", show_header=False)
        for label, count in rows:
            table.add_row(label, str(count))
        table.add_row(
            "chunks added / removed",
            f"{summary.chunks_added} / {summary.chunks_removed}",
        )
        table.add_row("index now", f"{summary.files_total} files, {summary.chunks_total} chunks")
        table.add_row("time", f"{summary.elapsed_s:.1f} s")
        Console(file=stream).print(table)
    else:
        counts = ", ".join(f"{count} {label}" for label, count in rows)
        print(
            f"{lead}{counts}; index: {summary.files_total} files, {summary.chunks_total} chunks "
            f"({summary.elapsed_s:.1f} s)",
            file=stream,
        )
