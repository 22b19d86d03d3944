"""`--watch`: keep a collection in step with its folders as files are saved, added and deleted.

Each burst of changes (debounced) runs one ordinary sync through the crash-safe pipeline, under
the collection's ingest lock: the same plan as `localgpt ingest`, so a deleted file is removed and
a renamed one re-pointed. Changes inside the data dir are ignored, or every sync would wake the
watcher again.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING

from localgpt.errors import LocalGPTError

if TYPE_CHECKING:
    from ingest.pipeline import Summary
    from localgpt.rag.resources import Resources

DEBOUNCE_MS = 800  # a save is often several writes (temp file, rename): one sync for all of them
LOCK_WAIT_S = 120.0  # a manual `localgpt ingest` may hold the collection; wait for it, don't skip


def sync_once(res: Resources, roots: Sequence[Path]) -> Summary:
    from ingest.pipeline import Ingestor
    from ingest.report import PlainReporter
    from localgpt.index.lease import writer_lock

    settings = res.settings
    with writer_lock(settings, lambda: res.manifest, LOCK_WAIT_S):
        summary = Ingestor(res, PlainReporter(quiet=True)).run(list(roots))
        if summary.added or summary.changed or summary.moved or summary.removed:
            res.keyword_index()  # rebuilt now, so the next question doesn't pay for it
    return summary


def describe(summary: Summary) -> str:
    parts = [f"{len(summary.added)} added", f"{len(summary.changed)} changed",
             f"{len(summary.moved)} moved", f"{len(summary.removed)} removed"]  # fmt: skip
    if summary.skipped:
        parts.append(f"{len(summary.skipped)} skipped ({summary.skipped[0][1]})")
    return f"synced '{summary.collection}': {', '.join(parts)}; {summary.chunks_total} chunks"


def watch(
    res: Resources,
    roots: Sequence[Path],
    stop: threading.Event | None = None,
    log: IO[str] | None = None,
    on_sync: Callable[[Summary], None] | None = None,
) -> None:
    """Sync on every burst of changes until `stop` is set (or Ctrl-C, on the main thread).

    The first sync runs once the watcher is listening, so nothing changed before it is missed.
    """
    from watchfiles import DefaultFilter
    from watchfiles import watch as watch_changes

    out = log or sys.stderr
    ignore = DefaultFilter(ignore_paths=[str(res.settings.paths.data_dir.resolve())])
    folders = [str(Path(r).resolve()) for r in roots]
    first = True
    for changes in watch_changes(
        *folders,
        watch_filter=ignore,
        debounce=DEBOUNCE_MS,
        stop_event=stop,
        raise_interrupt=False,
        yield_on_timeout=True,  # an empty set each second: the cue for the first sync
        rust_timeout=1000,
    ):
        if not changes and not first:
            continue
        first = False
        try:
            summary = sync_once(res, roots)
        except Exception as exc:
            # A failed sync must not end the watch: the next change tries again.
            message = str(exc) if isinstance(exc, LocalGPTError) else f"{type(exc).__name__}: {exc}"
            print(f"localgpt: watch: {message}", file=out, flush=True)
            continue
        if changes or summary.added or summary.changed or summary.moved or summary.removed:
            print(f"localgpt: watch: {describe(summary)}", file=out, flush=True)
        if on_sync:
            on_sync(summary)
