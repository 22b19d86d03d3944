"""Walk the folders to ingest: which files are candidates, and which are refused up front."""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class FileInfo:
    path: str  # absolute, symlinks in the path kept as the user wrote them
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    files: list[FileInfo] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def _excluded(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def scan(
    roots: Iterable[Path],
    exclude: Iterable[str] = (),
    max_bytes: int | None = None,
    follow_symlinks: bool = False,
) -> ScanResult:
    result = ScanResult()
    patterns = tuple(exclude)
    seen_dirs: set[tuple[int, int]] = set()
    for root in roots:
        top = Path(os.path.abspath(root))
        _visit(top, patterns, max_bytes, follow_symlinks, seen_dirs, result, is_root=True)
    result.files.sort(key=lambda info: info.path)
    return result


def _visit(
    path: Path,
    patterns: tuple[str, ...],
    max_bytes: int | None,
    follow: bool,
    seen_dirs: set[tuple[int, int]],
    out: ScanResult,
    is_root: bool = False,
) -> None:
    if not is_root and _excluded(path.name, patterns):
        return
    try:
        link = path.is_symlink()
        st = path.stat()  # follows links: a dangling link or a loop raises here
    except FileNotFoundError:
        out.refused.append((str(path), "broken symlink" if path.is_symlink() else "not found"))
        return
    except RuntimeError:
        out.refused.append((str(path), "symlink loop"))
        return
    except OSError as exc:
        reason = "symlink loop" if exc.errno == 40 else (exc.strerror or "unreadable").lower()
        out.refused.append((str(path), reason))
        return
    if stat.S_ISDIR(st.st_mode):
        if link and not follow and not is_root:
            return
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:  # a symlink cycle back to a folder we are already in
            out.refused.append((str(path), "symlink loop"))
            return
        seen_dirs.add(key)
        try:
            children = sorted(os.scandir(path), key=lambda entry: entry.name)
        except PermissionError:
            out.refused.append((str(path), "permission denied"))
            return
        except OSError as exc:
            out.refused.append((str(path), (exc.strerror or "unreadable").lower()))
            return
        for child in children:
            _visit(Path(child.path), patterns, max_bytes, follow, seen_dirs, out)
        return
    if not stat.S_ISREG(st.st_mode):
        return  # sockets, fifos and devices are never documents
    if max_bytes is not None and st.st_size > max_bytes:
        mb = st.st_size / 1_048_576
        out.refused.append(
            (
                str(path),
                f"too large ({mb:.1f} MB > {max_bytes / 1_048_576:.0f} MB limit)",
            )
        )
        return
    if not os.access(path, os.R_OK):
        out.refused.append((str(path), "permission denied"))
        return
    out.files.append(FileInfo(str(path), st.st_size, st.st_mtime_ns))
