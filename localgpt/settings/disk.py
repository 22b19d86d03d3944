"""Why a write under the data dir failed, in words a user can act on.

Chroma's Rust core and SQLite describe a full or read-only disk in their own words ("database or
disk is full", "attempt to write a readonly database", or only "Error in compaction: Failed to
apply logs"), so the file system is asked as well. The answer decides the advice: a full or
read-only disk must never be met with "rebuild the index", which would not help and costs hours.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

# Below this, a failed write is blamed on the space left: Chroma's own error may not say so.
LOW_SPACE_BYTES = 64 * 1024 * 1024
_READ_ONLY_WORDS = ("readonly", "read-only")
_FULL_WORDS = ("disk is full", "no space left")


def _errnos(exc: BaseException) -> Iterator[int]:
    """errno values along the exception's cause chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno:
            yield current.errno
        current = current.__cause__ or current.__context__


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _free(st: os.statvfs_result) -> str:
    return f"{st.f_bavail * st.f_frsize / 1_048_576:.1f} MB free"


def write_problem(path: Path, exc: BaseException | None = None, low_space: bool = True) -> str | None:
    """'<what is wrong>; <what to do>' when the disk under `path` explains a failure, else None.

    `low_space`: also blame a nearly full disk when the error itself says nothing about space
    (only right for writes; a read failing on a nearly full disk is still corruption).
    """
    codes = set(_errnos(exc)) if exc is not None else set()
    text = str(exc).lower() if exc is not None else ""
    where = _existing(path)
    try:
        st: os.statvfs_result | None = os.statvfs(where)
    except OSError:
        st = None
    read_only_fs = st is not None and bool(st.f_flag & os.ST_RDONLY)
    if errno.EROFS in codes or read_only_fs or any(w in text for w in _READ_ONLY_WORDS):
        return f"{where} is read-only; make it writable, or set [paths] data_dir to another folder"
    full = codes & {errno.ENOSPC, errno.EDQUOT} or any(w in text for w in _FULL_WORDS)
    low = low_space and st is not None and st.f_bavail * st.f_frsize < LOW_SPACE_BYTES
    if full or low:
        free = f" ({_free(st)})" if st is not None else ""
        return f"the disk holding {where} is full{free}; free some space and run the command again"
    if codes & {errno.EACCES, errno.EPERM} or "permission denied" in text:
        return f"permission denied writing to {where}; make it writable by this user"
    return None
