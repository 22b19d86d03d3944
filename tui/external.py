"""Opening a source in the user's $PAGER or $EDITOR, at the passage where the program allows.

Text files open as they are, at the passage's line. Formats a pager can't show (PDF, Office) are
rendered to a temporary text file with a marker per page, so the viewer still lands on the page.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from localgpt.errors import LocalGPTError

Kind = Literal["pager", "editor"]
# Formats whose bytes are not the text: viewers get an extracted rendition instead.
EXTRACTED = frozenset({".pdf", ".docx", ".xlsx", ".xlsm"})
# How each family of programs is told the line to start at.
PLUS_LINE = frozenset(
    {"less", "more", "most", "vi", "vim", "nvim", "view", "nano", "emacs", "emacsclient", "micro",
     "kak", "joe", "mg", "ne", "jed", "pico"}
)  # fmt: skip
COLON_LINE = frozenset({"hx", "helix", "subl"})
GOTO_LINE = frozenset({"code", "codium"})


class ViewerError(LocalGPTError):
    """The source can't be opened: the file is gone, or no viewer program is available."""


@dataclass(frozen=True)
class ViewTarget:
    path: Path
    line: int | None
    temporary: bool = False  # an extracted rendition, deleted after the viewer exits

    def cleanup(self) -> None:
        if self.temporary:
            shutil.rmtree(self.path.parent, ignore_errors=True)


def program(kind: Kind) -> list[str]:
    """The user's pager or editor as argv, falling back to less and vi."""
    env = ("PAGER",) if kind == "pager" else ("VISUAL", "EDITOR")
    value = next((os.environ[k] for k in env if os.environ.get(k, "").strip()), None)
    argv = shlex.split(value) if value else (["less"] if kind == "pager" else ["vi"])
    if not shutil.which(argv[0]):
        names = " or ".join(f"${k}" for k in env)
        raise ViewerError(f"cannot run '{argv[0]}': set {names} to a program that is installed")
    return argv


def launch(argv: list[str]) -> None:
    """Run the viewer in the foreground; the one place the app starts another program."""
    subprocess.run(argv, check=False)


def command(argv: list[str], target: ViewTarget) -> list[str]:
    """Append the file, with the start line spelled the way this program understands it."""
    name = Path(argv[0]).name
    path, line = str(target.path), target.line
    if not line:
        return [*argv, path]
    if name in PLUS_LINE:
        return [*argv, f"+{line}", path]
    if name in COLON_LINE:
        return [*argv, f"{path}:{line}"]
    if name in GOTO_LINE:
        return [*argv, "--goto", f"{path}:{line}"]
    return [*argv, path]


def prepare(source: str, passage: str, page: int | None) -> ViewTarget:
    """Find the passage in the file (reading and extracting it can be slow: call from a worker)."""
    path = Path(source)
    if not path.is_file():
        raise ViewerError(f"{source} is no longer there; re-run ingest to update the index")
    if path.suffix.lower() in EXTRACTED:
        return _extracted(path, passage, page)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ViewerError(f"cannot read {source}: {exc.strerror}") from None
    return ViewTarget(path, find_line(text, passage))


def find_line(text: str, passage: str, start: int = 1) -> int | None:
    """1-based line where the passage starts, looked up from line `start` on.

    Running heads ("Manual - Page 2 of 4") repeat on every page, so a passage line found once is
    trusted over one found several times; the start is then counted back from it. Whitespace is
    collapsed on both sides, since loaders normalise runs of spaces.
    """
    lines = [" ".join(line.split()) for line in text.splitlines()]
    fallback = None
    for offset, candidate in enumerate(passage.splitlines()[:8]):
        probe = " ".join(candidate.split())[:40]
        if len(probe) < 8:
            continue
        hits = [n for n, line in enumerate(lines, 1) if n >= start and probe in line]
        if len(hits) == 1:
            return max(start, hits[0] - offset)
        if hits and fallback is None:
            fallback = max(start, hits[0] - offset)
    return fallback


def _extracted(path: Path, passage: str, page: int | None) -> ViewTarget:
    from ingest.loaders import LoaderError, load_file

    try:
        docs = load_file(path)
    except LoaderError as exc:
        raise ViewerError(f"cannot read {path}: {exc}") from None
    lines: list[str] = []
    page_line: dict[int, int] = {}
    for doc in docs:
        doc_page = doc.metadata.get("page")
        if isinstance(doc_page, int) and doc_page not in page_line:
            lines.append(f"──────── page {doc_page} ────────")
            page_line[doc_page] = len(lines)
        lines.extend(doc.page_content.splitlines())
        lines.append("")
    text = "\n".join(lines)
    page_start = page_line.get(page) if page else None
    line = find_line(text, passage, page_start or 1) or page_start
    folder = Path(tempfile.mkdtemp(prefix="localgpt-view-"))
    target = folder / f"{path.name}.txt"
    target.write_text(f"{path}\n\n{text}", encoding="utf-8")
    return ViewTarget(target, line + 2 if line else None, temporary=True)
