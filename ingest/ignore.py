"""What the walk leaves out: `[ingest] exclude`, `.localgptignore` files, and what is never a document.

Patterns use gitignore syntax (through `pathspec`): `*.log`, `build/` (folders only), `/drafts`
(anchored at the folder holding the pattern), `docs/**/old`, `!keep.md` to take one back. The
`[ingest] exclude` list acts as an ignore file at each ingested root; a `.localgptignore` in the
root or in any folder below it applies to that folder and everything under it, and a deeper file's
patterns win over a shallower one's, as with `.gitignore`. Files above the ingested root are not
read. A folder left out is not entered, so nothing under it can be taken back.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pathspec import GitIgnoreSpec

IGNORE_FILE = ".localgptignore"
# Never documents, whatever the patterns say: version control internals and the ignore file.
ALWAYS_SKIPPED_NAMES = frozenset({".git", IGNORE_FILE})
# A folder holding one of these is a Python virtualenv or a conda environment: installed packages.
ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")


@dataclass(frozen=True)
class _Level:
    base: str  # the folder the patterns are relative to
    spec: GitIgnoreSpec


class IgnoreRules:
    """The patterns in force in one folder: a stack of levels, from the root down."""

    def __init__(self, levels: tuple[_Level, ...] = ()) -> None:
        self._levels = levels

    @classmethod
    def for_root(cls, root: Path, exclude: Iterable[str]) -> IgnoreRules:
        patterns = [p for p in exclude if p.strip()]
        levels = (_Level(str(root), GitIgnoreSpec.from_lines(patterns)),) if patterns else ()
        return cls(levels).entering(root)

    def entering(self, folder: Path) -> IgnoreRules:
        """The rules inside `folder`: these plus its own `.localgptignore`, if it has one."""
        spec = _read_ignore_file(folder / IGNORE_FILE)
        if spec is None:
            return self
        return IgnoreRules((*self._levels, _Level(str(folder), spec)))

    def ignored(self, path: Path, is_dir: bool) -> bool:
        """True when the deepest pattern that matches `path` says to leave it out."""
        verdict: bool | None = None
        for level in self._levels:
            rel = os.path.relpath(path, level.base).replace(os.sep, "/")
            if rel.startswith("../"):
                continue
            result = level.spec.check_file(rel + "/" if is_dir else rel)
            if result.include is not None:
                verdict = result.include
        return bool(verdict)


def _read_ignore_file(path: Path) -> GitIgnoreSpec | None:
    try:
        # Patterns are compared with names as Python sees them, undecodable bytes included.
        text = path.read_bytes().decode("utf-8", "surrogateescape")
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:
        return None  # an unreadable ignore file hides nothing; the files stay visible
    return GitIgnoreSpec.from_lines(text.lstrip("\ufeff").splitlines())


def is_environment(folder: Path) -> bool:
    """A virtualenv or conda environment, whatever it is called."""
    return any(os.path.lexists(folder / marker) for marker in ENVIRONMENT_MARKERS)
