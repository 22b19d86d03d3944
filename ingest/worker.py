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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.plan import Work

POLL_S = 0.2
# Results waiting in the queue: enough to keep the embedder busy, few enough to bound memory.
QUEUE_DEPTH = 4


@dataclass(frozen=True)
class Parsed:
    work: Work
    chunks: list[tuple[str, str, dict[str, Any]]]  # (id, text, metadata)
    pages: int | None


@dataclass(frozen=True)
class Failed:
    work: Work
    reason: str


def make_token_counter(tokenizer_dir: str) -> Any:
    """A token counter from the embedder's own tokenizer, without importing transformers."""
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
    results: Any,
    current: Any,
    started: Any,
) -> None:
    import logging
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    logging.disable(logging.WARNING)
    from ingest.loaders import load_file
    from ingest.splitter import Splitter
    from localgpt.errors import LoaderError

    splitter = Splitter(make_token_counter(tokenizer_dir), chunk_size, overlap, max_tokens)
    for index, work in enumerate(tasks):
        with current.get_lock():
            current.value = index
            started.value = time.monotonic()
        try:
            docs = load_file(Path(work.info.open_path))
            if work.info.fs_path:  # a name that is not UTF-8: indexed under its escaped form
                for doc in docs:
                    doc.metadata["source"] = work.info.path
            chunks = splitter.split(docs, work.sha256)
            if not chunks:
                raise LoaderError("no text")
            pages = {doc.metadata.get("page") for doc in docs} - {None}
            payload: Parsed | Failed = Parsed(
                work, [(c.id, c.text, c.metadata) for c in chunks], len(pages) or None
            )
        except LoaderError as exc:
            payload = Failed(work, str(exc) or "unreadable")
        except MemoryError:
            payload = Failed(work, "out of memory while parsing")
        except RecursionError:
            payload = Failed(work, "structure nested too deeply")
        except Exception as exc:  # a parser bug on one file must not end the run
            payload = Failed(work, f"parser error: {type(exc).__name__}: {str(exc)[:120]}")
        with current.get_lock():
            current.value = -1
        results.put(payload)


def _exit_when_orphaned(parent: int) -> None:
    """A parent killed with SIGKILL (or by the OOM killer) never reads the queue again: without
    this, the child would block on the full queue, or on flushing it at exit, forever."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


class ParseWorker:
    """Streams Parsed/Failed for each task, in order, killing any file that overruns its limit."""

    def __init__(
        self,
        tokenizer_dir: str,
        chunk_size: int,
        overlap: int,
        max_tokens: int,
        timeout_s: float,
    ) -> None:
        self._args = (tokenizer_dir, chunk_size, overlap, max_tokens)
        self._timeout = timeout_s
        self._ctx = mp.get_context("spawn")  # fork after ONNX/torch threads exist can deadlock
        self._proc: Any = None

    def run(self, tasks: list[Work]) -> Iterator[Parsed | Failed]:
        pending = list(tasks)
        while pending:
            results = self._ctx.Queue(maxsize=QUEUE_DEPTH)
            current = self._ctx.Value("i", -1)
            started = self._ctx.Value("d", 0.0)
            self._proc = self._ctx.Process(
                target=_child,
                args=(pending, *self._args, results, current, started),
                daemon=True,
            )
            self._proc.start()
            done = 0
            try:
                while done < len(pending):
                    try:
                        item = results.get(timeout=POLL_S)
                    except queue.Empty:
                        # The queue is drained, so the file in trouble is the next one due.
                        reason = self._check(current, started)
                        if reason is None:
                            continue
                        yield Failed(pending[done], reason)
                        done += 1
                        break
                    yield item
                    done += 1
            finally:
                self.close()
            pending = pending[done:]

    def _check(self, current: Any, started: Any) -> str | None:
        with current.get_lock():
            index, since = current.value, started.value
        if index >= 0 and time.monotonic() - since > self._timeout:
            return f"timed out after {self._timeout:g} s"
        if not self._proc.is_alive():
            # Died mid-file: a segfault in a C parser, or the OOM killer.
            return f"parser crashed (exit code {self._proc.exitcode})"
        return None

    def close(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout=5)
        self._proc = None
