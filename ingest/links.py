"""Where the walk may go: symlinks, system folders, and localgpt's own folders.

A symlink is followed only when it stays inside the folder being ingested: a link to
`/etc/shadow` dropped into a shared folder must not put the file's text into the index. Opting in
(`[ingest] follow_external_symlinks`, or `ingest --follow-external-symlinks`) lifts that, but
never for `/proc`, `/sys` or `/dev`, whose "files" are kernel state or devices that block forever.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SYSTEM_FOLDERS = ("/proc", "/sys", "/dev")
OUTSIDE = "symlink outside the folder"


def within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def system_folder(real: str) -> str | None:
    """'/proc' (or /sys, /dev) when the resolved path lies in it."""
    return next((top for top in SYSTEM_FOLDERS if within(real, top)), None)


@dataclass(frozen=True)
class Protected:
    """Folders never ingested, wherever they appear: the data dir and the models dir.

    Matched by device and inode, so a second path to the same folder (a bind mount, a symlinked
    parent) is caught too; and by resolved path, for a root named inside one of them.
    """

    reals: tuple[str, ...]
    keys: frozenset[tuple[int, int]]

    @classmethod
    def of(cls, folders: Iterable[Path]) -> Protected:
        reals, keys = [], set()
        for folder in folders:
            reals.append(os.path.realpath(folder))
            try:
                st = os.stat(folder)
            except OSError:
                continue  # not made yet: nothing in it to protect
            keys.add((st.st_dev, st.st_ino))
        return cls(tuple(reals), frozenset(keys))

    def holds(self, real: str) -> bool:
        return any(within(real, folder) for folder in self.reals)

    def is_one(self, st: os.stat_result) -> bool:
        return (st.st_dev, st.st_ino) in self.keys


def link_refusal(path: str, root_real: str, follow_external: bool) -> str | None:
    """Why the symlink at `path` must not be followed, or None when it may be."""
    real = os.path.realpath(path)
    top = system_folder(real)
    if top:
        return f"symlink into {top}"
    if not within(real, root_real) and not follow_external:
        return OUTSIDE
    return None
