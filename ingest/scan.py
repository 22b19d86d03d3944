"""Walk the folders to ingest: which files are candidates, and which are refused up front.

The rules of the walk live beside it: `ingest.links` (symlinks, system and localgpt folders),
`ingest.ignore` (exclude patterns, `.localgptignore`, VCS folders and virtualenvs) and
`ingest.names` (names that are not valid UTF-8).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.ignore import ALWAYS_SKIPPED_NAMES, IgnoreRules, is_environment
from ingest.links import Protected, link_refusal, system_folder
from ingest.names import index_name

# Kinds of file that are never opened: reading a FIFO or a device can block forever.
_SPECIAL = {
    stat.S_IFIFO: "fifo",
    stat.S_IFSOCK: "socket",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
}
SPECIAL_REASON = "not a regular file"


@dataclass(frozen=True)
class FileInfo:
    path: str  # absolute, symlinks kept as the user wrote them; the name it is indexed under
    size: int
    mtime_ns: int
    fs_path: str = ""  # the name on disk, when `path` had to escape undecodable bytes

    @property
    def open_path(self) -> str:
        return self.fs_path or self.path


@dataclass
class ScanResult:
    files: list[FileInfo] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    def refuse(self, path: Path | str, reason: str) -> None:
        self.refused.append((index_name(str(path)), reason))


@dataclass(frozen=True)
class WalkRules:
    exclude: tuple[str, ...] = ()
    max_bytes: int | None = None
    follow_symlinks: bool = False  # descend into symlinked folders inside the root
    follow_external_symlinks: bool = False  # follow links that leave the root
    protected: tuple[Path, ...] = ()  # never ingested: the data dir, the models dir


@dataclass
class _Walk:
    rules: WalkRules
    protected: Protected
    out: ScanResult
    root_real: str = ""
    seen_dirs: set[tuple[int, int]] = field(default_factory=set)


def scan(
    roots: Iterable[Path],
    exclude: Iterable[str] = (),
    max_bytes: int | None = None,
    follow_symlinks: bool = False,
    *,
    rules: WalkRules | None = None,
) -> ScanResult:
    rules = rules or WalkRules(tuple(exclude), max_bytes, follow_symlinks)
    walk = _Walk(rules, Protected.of(rules.protected), ScanResult())
    for root in roots:
        top = Path(os.path.abspath(root))
        walk.root_real = os.path.realpath(top)
        if _refuse_root(top, walk):
            continue
        ignore = IgnoreRules.for_root(top, rules.exclude) if os.path.isdir(top) else IgnoreRules()
        _visit(top, walk, ignore, is_root=True)
    walk.out.files.sort(key=lambda info: info.path)
    return walk.out


def _refuse_root(top: Path, walk: _Walk) -> bool:
    top_folder = system_folder(walk.root_real)
    if top_folder:
        walk.out.refuse(top, f"inside {top_folder}")
    elif walk.protected.holds(walk.root_real):
        walk.out.refuse(top, "inside localgpt's data or models folder")
    return bool(top_folder) or walk.protected.holds(walk.root_real)


def _visit(
    path: Path, walk: _Walk, ignore: IgnoreRules, is_root: bool = False, looks_dir: bool = False
) -> None:
    out = walk.out
    if not is_root and (path.name in ALWAYS_SKIPPED_NAMES or ignore.ignored(path, looks_dir)):
        return  # before any link is looked at: an ignored link is not reported
    try:
        link = path.is_symlink()
        if link and not is_root:
            refusal = link_refusal(str(path), walk.root_real, walk.rules.follow_external_symlinks)
            if refusal:
                out.refuse(path, refusal)
                return
        st = path.stat()  # follows links: a dangling link or a loop raises here
    except FileNotFoundError:
        out.refuse(path, "broken symlink" if path.is_symlink() else "not found")
        return
    except RuntimeError:
        out.refuse(path, "symlink loop")
        return
    except OSError as exc:
        reason = "symlink loop" if exc.errno == 40 else (exc.strerror or "unreadable").lower()
        out.refuse(path, reason)
        return
    if stat.S_ISDIR(st.st_mode):
        _visit_folder(path, st, link, walk, ignore, is_root)
    else:
        _add_file(path, st, walk)


def _visit_folder(
    path: Path, st: os.stat_result, link: bool, walk: _Walk, ignore: IgnoreRules, is_root: bool
) -> None:
    out = walk.out
    if link and not walk.rules.follow_symlinks and not is_root:
        return
    if walk.protected.is_one(st) or is_environment(path):
        return  # the index itself, model files, installed packages: never documents
    key = (st.st_dev, st.st_ino)
    if key in walk.seen_dirs:  # a symlink cycle back to a folder we are already in
        out.refuse(path, "symlink loop")
        return
    walk.seen_dirs.add(key)
    try:
        children = sorted(os.scandir(path), key=lambda entry: entry.name)
    except PermissionError:
        out.refuse(path, "permission denied")
        return
    except OSError as exc:
        out.refuse(path, (exc.strerror or "unreadable").lower())
        return
    inner = ignore if is_root else ignore.entering(path)  # the root's file is read by for_root
    for child in children:
        _visit(Path(child.path), walk, inner, looks_dir=_is_dir(child))


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # from the folder listing: no extra system call for most entries
    except OSError:
        return False


def _add_file(path: Path, st: os.stat_result, walk: _Walk) -> None:
    out, max_bytes = walk.out, walk.rules.max_bytes
    if not stat.S_ISREG(st.st_mode):
        kind = _SPECIAL.get(stat.S_IFMT(st.st_mode), "special file")
        out.refuse(path, f"{SPECIAL_REASON} ({kind})")  # never opened: a FIFO read blocks
        return
    if max_bytes is not None and st.st_size > max_bytes:
        mb = st.st_size / 1_048_576
        out.refuse(path, f"too large ({mb:.1f} MB > {max_bytes / 1_048_576:.0f} MB limit)")
        return
    if not os.access(path, os.R_OK):
        out.refuse(path, "permission denied")
        return
    name = index_name(str(path))
    fs_path = "" if name == str(path) else str(path)
    out.files.append(FileInfo(name, st.st_size, st.st_mtime_ns, fs_path))
