"""Parsing and splitting in a child process.

Two reasons: it overlaps with embedding in the parent (parsing is CPU-bound Python), and a file
that hangs or crashes a parser (malformed PDFs do both) can be killed without losing the run.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.ocr.pages import OcrOptions
from ingest.plan import Work

POLL_S = 0.2
# Results waiting in the queue: enough to keep the embedder busy, few enough to bound memory.
QUEUE_DEPTH = 4
# A big file goes to the parent in parts of this many chunks, so it is embedded while it is
# still being read and neither process ever holds all of its chunks.
BATCH_CHUNKS = 256


@dataclass(frozen=True)
class Parsed:
    """Some chunks of one file. `final` marks its last part: only then is the file complete."""

    work: Work
    chunks: list[tuple[str, str, dict[str, Any]]]  # (id, text, metadata)
    pages: int | None  # pages read so far
    final: bool = True
    ocr_pages: int = 0  # pages whose text came from OCR, cached ones included (on the final part)
    ocr_cached: int = 0
    ocr_seconds: float = 0.0


@dataclass(frozen=True)
class Failed:
    """The file is skipped; any parts of it already sent must be dropped."""

    work: Work
    reason: str


def make_token_counter(tokenizer_dir: str) -> Any:
    """A token counter from the embedder's own tokenizer, without importing transformers.

    No folder: a remote embedder whose tokenizer this machine lacks, counted by an upper-bound
    estimate (localgpt/embed/openai_server.py).
    """
    if not tokenizer_dir:
        from localgpt.embed.openai_server import estimate_tokens

        return estimate_tokens
    tokenizer_json = Path(tokenizer_dir) / "tokenizer.json"
    if tokenizer_json.is_file():
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(tokenizer_json))
        tok.no_truncation()
        tok.no_padding()
        return lambda text: len(tok.encode(text, add_special_tokens=False).ids)
    from transformers import AutoTokenizer

    auto = AutoTokenizer.from_pretrained(tokenizer_dir, local_files_only=True)
    return lambda text: len(auto.encode(text, add_special_tokens=False))


def _child(
    tasks: list[Work],
    tokenizer_dir: str,
    chunk_size: int,
    overlap: int,
    max_tokens: int,
    ocr_options: OcrOptions,
    results: Any,
    current: Any,
    beat: Any,
    ocr_pages: Any,
) -> None:
    import logging
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    logging.disable(logging.WARNING)
    # Every import before the first file: the watchdog counts from a file's start, and loading
    # the loaders' libraries on a busy machine can take longer than a short limit.
    import ingest.loaders  # noqa: F401
    from ingest.ocr.pages import Ocr
    from ingest.splitter import Splitter

    def heartbeat() -> None:
        # An OCR page is progress for the watchdog: a long scan is not killed while each of its
        # pages is fine.
        _beat(beat)

    def page_done() -> None:
        heartbeat()
        with ocr_pages.get_lock():
            ocr_pages.value += 1

    splitter = Splitter(make_token_counter(tokenizer_dir), chunk_size, overlap, max_tokens)
    ocr = Ocr(ocr_options, on_page=page_done, heartbeat=heartbeat) if ocr_options.mode != "off" else None
    for index, work in enumerate(tasks):
        with current.get_lock():
            current.value = index
        _beat(beat)
        payload = _parse(work, splitter, results, beat, ocr)
        with current.get_lock():
            current.value = -1
        results.put(payload)


def _parse(work: Work, splitter: Any, results: Any, beat: Any, ocr: Any) -> Parsed | Failed:
    """Stream one file's chunks to `results` in parts; return its last part, or why it failed."""
    from ingest.loaders import iter_file
    from localgpt.errors import LoaderError

    file_ocr = ocr.for_file(work.sha256) if ocr is not None else None

    pages: set[int] = set()
    batch: list[tuple[str, str, dict[str, Any]]] = []
    sent = 0
    try:
        docs = _beating(iter_file(Path(work.info.open_path), file_ocr), beat, pages)
        if work.info.fs_path:  # a name that is not UTF-8: indexed under its escaped form
            docs = _renamed(docs, work.info.path)
        for chunk in splitter.stream(docs, work.sha256):
            batch.append((chunk.id, chunk.text, chunk.metadata))
            _beat(beat)
            if len(batch) >= BATCH_CHUNKS:
                results.put(Parsed(work, batch, len(pages) or None, final=False))
                _beat(beat)  # a put that waited on a busy parent is not a stalled parser
                sent += len(batch)
                batch = []
        if not sent and not batch:
            raise LoaderError("no text")
        stats = file_ocr.stats if file_ocr is not None else None
        return Parsed(
            work,
            batch,
            len(pages) or None,
            ocr_pages=stats.pages if stats else 0,
            ocr_cached=stats.cached if stats else 0,
            ocr_seconds=stats.seconds if stats else 0.0,
        )
    except LoaderError as exc:
        return Failed(work, str(exc) or "unreadable")
    except MemoryError:
        return Failed(work, "out of memory while parsing")
    except RecursionError:
        return Failed(work, "structure nested too deeply")
    except Exception as exc:  # a parser bug on one file must not end the run
        return Failed(work, f"parser error: {type(exc).__name__}: {str(exc)[:120]}")


def _renamed(docs: Iterator[Any], source: str) -> Iterator[Any]:
    for doc in docs:
        doc.metadata["source"] = source
        yield doc


def _beating(docs: Iterator[Any], beat: Any, pages: set[int]) -> Iterator[Any]:
    """Pass documents through, reporting progress on each (a page, a row, a block of text)."""
    for doc in docs:
        _beat(beat)
        page = doc.metadata.get("page")
        if isinstance(page, int):
            pages.add(page)
        yield doc


def _beat(beat: Any) -> None:
    # A plain store of a double: no lock needed for a value only this process writes.
    beat.value = time.monotonic()


def _exit_when_orphaned(parent: int) -> None:
    """A parent killed with SIGKILL (or by the OOM killer) never reads the queue again: without
    this, the child would block on the full queue, or on flushing it at exit, forever."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


class ParseWorker:
    """Streams Parsed parts and Failed results, in task order, from a child process.

    A watchdog, not a stopwatch: the child reports progress on every page, row, block of text
    and chunk, and the parent kills it only when a file makes no progress for `timeout_s`. So a
    2,400-page manual that reads for minutes is indexed, and a parser stuck on one page is not
    waited on forever.
    """

    def __init__(
        self,
        tokenizer_dir: str,
        chunk_size: int,
        overlap: int,
        max_tokens: int,
        timeout_s: float,
        ocr: OcrOptions | None = None,
    ) -> None:
        self._args = (tokenizer_dir, chunk_size, overlap, max_tokens, ocr or OcrOptions(mode="off"))
        self._timeout = timeout_s
        self._ctx = mp.get_context("spawn")  # fork after ONNX/torch threads exist can deadlock
        self._proc: Any = None
        # Pages OCR'd (or read from the OCR cache) so far, across child restarts: live progress
        # inside a long scan, before its file is done.
        self._ocr_pages = self._ctx.Value("i", 0)

    @property
    def ocr_pages(self) -> int:
        return int(self._ocr_pages.value)

    def run(self, tasks: list[Work], on_poll: Callable[[], None] | None = None) -> Iterator[Parsed | Failed]:
        """`on_poll` is called each time the wait for the next result times out (every POLL_S)."""
        pending = list(tasks)
        while pending:
            results = self._ctx.Queue(maxsize=QUEUE_DEPTH)
            current = self._ctx.Value("i", -1)
            beat = self._ctx.Value("d", time.monotonic(), lock=False)
            self._proc = self._ctx.Process(
                target=_child,
                args=(pending, *self._args, results, current, beat, self._ocr_pages),
                daemon=True,
            )
            self._proc.start()
            done = 0
            received = time.monotonic()
            try:
                while done < len(pending):
                    try:
                        item = results.get(timeout=POLL_S)
                    except queue.Empty:
                        if on_poll is not None:
                            on_poll()
                        # The queue is drained, so the file in trouble is the next one due.
                        reason = self._check(current, max(beat.value, received))
                        if reason is None:
                            continue
                        yield Failed(pending[done], reason)
                        done += 1
                        break
                    # Taking an item frees a child that waited to put it: progress from here.
                    received = time.monotonic()
                    yield item
                    if not isinstance(item, Parsed) or item.final:
                        done += 1
            finally:
                self.close()
            pending = pending[done:]

    def _check(self, current: Any, progress: float) -> str | None:
        with current.get_lock():
            index = current.value
        if index >= 0 and time.monotonic() - progress > self._timeout:
            return (
                f"timed out after {self._timeout:g} s without progress "
                "(raise [ingest] file_timeout_s to wait longer)"
            )
        if not self._proc.is_alive():
            # Died mid-file: a segfault in a C parser, or the OOM killer.
            return f"parser crashed (exit code {self._proc.exitcode})"
        return None

    def close(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout=5)
        self._proc = None
