"""Open the collection and its keyword index in a forked child while this process loads the rest.

A cold `localgpt ask` spends about half a second importing chromadb and opening the collection,
and a tenth on the keyword index, before it can search; as long again goes to importing LangChain
and loading the embedder and the model, which need none of it. Python runs one import at a time,
so threads can't overlap the two; a child process can (bench/README.md, "Where a cold ask's
start-up goes"). The child is forked before anything heavy is imported, opens both, and serves
the few reads a question makes (count, query, fetch, ids_where; search, coverage, idf, size,
function_words) over a pair of pipes, so this process imports neither chromadb nor bm25s.

It is an optimisation only: when the child can't be forked, fails to start, dies or is slow, the
store opens in this process as it would without it, and an error the child met opening the store
(no index, another embedder's collection) is raised here unchanged, with its exit code.

Use: `child = StoreChild.start(settings)` (None when it doesn't apply), `Resources(settings,
store_child=child)`, and `child.close()` when done.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from localgpt.index.keyword import KeywordIndex
    from localgpt.index.store import Store
    from localgpt.settings.config import Settings

# How long to wait for the child to open the store before opening it here instead. Only a hung
# child waits this long: a big collection opens in seconds, and then its reads are quick.
READY_TIMEOUT_S = 60.0
CLOSE_WAIT_S = 1.0  # for the child to leave once its pipe is closed
STORE_CALLS = frozenset({"count", "query", "fetch", "ids_where"})
KEYWORD_CALLS = frozenset({"search", "coverage", "idf", "size", "function_words"})


class StoreChild:
    """This process's end of the child: the store's and the keyword index's reads, forwarded."""

    def __init__(self, pid: int, requests: BinaryIO, replies: BinaryIO) -> None:
        self.pid = pid
        self._requests = requests
        self._replies = replies
        self._lock = threading.Lock()
        self._ready: dict[str, Any] | None = None
        self._failed = False

    @classmethod
    def start(cls, settings: Settings) -> StoreChild | None:
        """Fork the child, or None where that is not wanted (`[store] open_in_child`), not safe or
        not worth it: no fork (Windows), a Chroma server (nothing to open), chromadb already
        imported, or threads already running (a fork copies their locks, not the threads)."""
        if (
            not settings.store.open_in_child
            or not hasattr(os, "fork")
            or settings.store.url
            or settings.embeddings.backend == "openai"  # its name comes from the server: ask it here
            or "chromadb" in sys.modules
            or threading.active_count() > 1
        ):
            return None
        request_read, request_write = os.pipe()  # this process asks, the child reads
        reply_read, reply_write = os.pipe()  # the child answers, this process reads
        try:
            pid = os.fork()
        except OSError:
            for fd in (request_read, request_write, reply_read, reply_write):
                os.close(fd)
            return None
        if pid == 0:  # the child: never returns
            os.close(request_write)
            os.close(reply_read)
            _serve(settings, os.fdopen(request_read, "rb"), os.fdopen(reply_write, "wb"))
        os.close(request_read)
        os.close(reply_write)
        return cls(pid, os.fdopen(request_write, "wb"), os.fdopen(reply_read, "rb"))

    def store(self, here: Callable[[], Store]) -> RemoteStore | None:
        """The child's store once it is open; None when the child is gone. `here` opens the
        store in this process, for what the child doesn't serve or if it dies later."""
        ready = self._wait()
        return None if ready is None else RemoteStore(self, ready["name"], here)

    def keyword_index(self, here: Callable[[], KeywordIndex]) -> RemoteKeywordIndex | None:
        """The child's keyword index, fresh as of its start; None as for `store`."""
        ready = self._wait()
        return None if ready is None or not ready["keyword"] else RemoteKeywordIndex(self, here)

    def call(self, target: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        with self._lock:
            if self._failed:
                raise ChildGone
            try:
                pickle.dump((target, method, args, kwargs), self._requests)
                self._requests.flush()
                status, value = pickle.load(self._replies)
            except Exception:  # a broken pipe, a dead child, a reply that won't unpickle
                self._fail()
                raise ChildGone from None
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        """Let the child go (it exits when its pipe closes) and reap it; one still busy opening
        the store (a question answered without it, or Ctrl-C) is killed after CLOSE_WAIT_S."""
        with self._lock:
            for f in (self._requests, self._replies):
                with contextlib.suppress(OSError):
                    f.close()
            with contextlib.suppress(ChildProcessError, OSError):
                deadline = time.monotonic() + CLOSE_WAIT_S
                while os.waitpid(self.pid, os.WNOHANG) == (0, 0):
                    if time.monotonic() > deadline:
                        os.kill(self.pid, signal.SIGKILL)  # it only reads: nothing to damage
                        os.waitpid(self.pid, 0)
                        return
                    time.sleep(0.01)

    def _wait(self) -> dict[str, Any] | None:
        with self._lock:
            if self._ready is None and not self._failed:
                try:
                    readable, _, _ = select.select([self._replies], [], [], READY_TIMEOUT_S)
                    if not readable:
                        raise EOFError
                    status, value = pickle.load(self._replies)
                except Exception:
                    self._fail()
                    return None
                if status == "error":
                    self._failed = True  # its error is this process's too: raise it once
                    raise value
                self._ready = value
            return self._ready

    def _fail(self) -> None:
        self._failed = True
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)


class ChildGone(Exception):
    """The child died or stopped answering: the caller opens the store in this process."""


class _Remote:
    """Forwards the calls the child serves; anything else, or everything once the child is
    gone, goes to the object opened in this process."""

    target = ""
    served: frozenset[str] = frozenset()

    def __init__(self, child: StoreChild, here: Callable[[], Any]) -> None:
        self._child = child
        self._here = here
        self._local: Any = None

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)
        if method not in self.served:
            return getattr(self._opened_here(), method)

        def forwarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return self._child.call(self.target, method, args, kwargs)
            except ChildGone:
                return getattr(self._opened_here(), method)(*args, **kwargs)

        return forwarded

    def _opened_here(self) -> Any:
        if self._local is None:
            self._local = self._here()
        return self._local


class RemoteStore(_Remote):
    """The child's `Store`: count, query, fetch, ids_where."""

    target = "store"
    served = STORE_CALLS

    def __init__(self, child: StoreChild, name: str, here: Callable[[], Store]) -> None:
        super().__init__(child, here)
        self.name = name


class RemoteKeywordIndex(_Remote):
    """The child's `KeywordIndex`: search, coverage, idf, size, function_words."""

    target = "keyword"
    served = KEYWORD_CALLS


def _serve(settings: Settings, requests: BinaryIO, replies: BinaryIO) -> None:
    """The child: open the store and the keyword index, say so, then answer calls until the
    parent closes the pipe. Its output goes nowhere (the parent reports what matters), and
    Ctrl-C is the parent's to handle."""
    status = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        from localgpt.rag.resources import Resources

        res = Resources(settings)
        try:
            store = res.store()
            keyword = res.keyword_index() if settings.retrieval.mode in ("hybrid", "keyword") else None
        except Exception as exc:
            _reply(replies, "error", exc)
            return
        _reply(replies, "ok", {"name": store.name, "keyword": keyword is not None})
        targets = {"store": (store, STORE_CALLS), "keyword": (keyword, KEYWORD_CALLS)}
        while True:
            try:
                target, method, args, kwargs = pickle.load(requests)
            except EOFError:
                return
            obj, allowed = targets[target]
            if obj is None or method not in allowed:
                _reply(replies, "error", AttributeError(method))
                continue
            try:
                _reply(replies, "ok", getattr(obj, method)(*args, **kwargs))
            except Exception as exc:
                _reply(replies, "error", exc)
    except BaseException:
        status = 1
    finally:
        with contextlib.suppress(BaseException):
            from localgpt.index.readonly import remove_read_copies

            remove_read_copies()  # what its atexit hook would do (a read-only data dir's copy)
        os._exit(status)  # never back into the parent's CLI, atexit hooks or buffers


def _reply(replies: BinaryIO, status: str, value: Any) -> None:
    try:
        data = pickle.dumps((status, value))
    except Exception:  # an exception that doesn't pickle: its message does
        from localgpt.errors import StorageError

        data = pickle.dumps(("error", StorageError(str(value))))
    replies.write(data)
    replies.flush()
