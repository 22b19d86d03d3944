"""Plain text, Markdown and reStructuredText; the last two are cut at their headings."""

from __future__ import annotations

import pathlib
import re
from collections.abc import Iterator

from langchain_core.documents import Document
from langchain_text_splitters import Language

from ingest.loaders.base import make_doc, split_sections
from ingest.loaders.sniff import iter_text_blocks, read_text

# Above this, plain text is read in blocks: a 30 MB log never sits in memory whole.
STREAM_OVER_BYTES = 8 << 20
STREAM_BLOCK_CHARS = 1 << 20

_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*")
_RST_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1{2,}[ \t]*")


def load_text(path: pathlib.Path) -> list[Document]:
    return list(iter_text(path))


def iter_text(path: pathlib.Path) -> Iterator[Document]:
    """Small files as one Document, as before; big ones streamed in blocks cut at line ends."""
    if path.stat().st_size <= STREAM_OVER_BYTES:
        text = read_text(path)
        if text.strip():
            yield make_doc(text, path, "text")
        return
    for block in iter_text_blocks(path, STREAM_BLOCK_CHARS):
        if block.strip():
            yield make_doc(block, path, "text")


def load_markdown(path: pathlib.Path) -> list[Document]:
    lines = read_text(path).splitlines()
    return [
        make_doc(text, path, "markdown", heading=heading, language=Language.MARKDOWN.value)
        for heading, text in split_sections(lines, markdown_headings(lines))
    ]


def load_rst(path: pathlib.Path) -> list[Document]:
    lines = read_text(path).splitlines()
    return [
        make_doc(text, path, "text", heading=heading, language=Language.RST.value)
        for heading, text in split_sections(lines, rst_headings(lines))
    ]


def markdown_headings(lines: list[str]) -> dict[int, tuple[int, str]]:
    """Line index -> (level, title) for ATX and setext headings outside code fences."""
    headings: dict[int, tuple[int, str]] = {}
    fence = ""
    start = _front_matter_end(lines)
    for index in range(start, len(lines)):
        line = lines[index]
        if match := _FENCE.match(line):
            marker = match.group(1)
            if not fence:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence) and not line.strip(marker[0] + " \t"):
                fence = ""
            continue
        if fence:
            continue
        if match := _ATX.fullmatch(line):
            headings[index] = (len(match.group(1)), (match.group(2) or "").strip())
        elif _is_setext(lines, index, start, headings):
            level = 1 if lines[index].strip()[0] == "=" else 2
            headings[index - 1] = (level, lines[index - 1].strip())
    return headings


def _is_setext(lines: list[str], index: int, start: int, headings: dict[int, tuple[int, str]]) -> bool:
    # Only a one-line paragraph (blank line above its title) counts, so that "---" under
    # a list or table stays a rule; hence the conservative checks.
    if index - 1 < start or not _SETEXT.fullmatch(lines[index]):
        return False
    title = lines[index - 1]
    above_blank = index - 2 < start or not lines[index - 2].strip()
    return bool(title.strip()) and above_blank and index - 1 not in headings and not _looks_structural(title)


def _looks_structural(line: str) -> bool:
    return line.lstrip().startswith(("-", "*", "+", ">", "|", "#", "<")) or line.startswith(("    ", "\t"))


def _front_matter_end(lines: list[str]) -> int:
    # YAML front matter ("---" ... "---") would otherwise read as a setext heading.
    if lines and lines[0].strip() == "---":
        for index in range(1, len(lines)):
            if lines[index].strip() in ("---", "..."):
                return index + 1
    return 0


def rst_headings(lines: list[str]) -> dict[int, tuple[int, str]]:
    """Line index -> (level, title); levels follow the order adornment styles first appear."""
    styles: list[tuple[str, bool]] = []
    headings: dict[int, tuple[int, str]] = {}
    index = free = 0  # `free`: first line not used by an earlier heading's adornment
    while index < len(lines) - 1:
        title, under = lines[index], lines[index + 1]
        over = lines[index - 1] if index > free else ""
        if not (title.strip() and _RST_ADORNMENT.fullmatch(under)) or _RST_ADORNMENT.fullmatch(title):
            index += 1
            continue
        overlined = over.rstrip() == under.rstrip()
        if not overlined and (title[0].isspace() or len(under.rstrip()) < len(title.rstrip())):
            index += 1
            continue
        style = (under[0], overlined)
        if style not in styles:
            styles.append(style)
        headings[index - 1 if overlined else index] = (
            styles.index(style) + 1,
            title.strip(),
        )
        index = free = index + 2
    return headings
