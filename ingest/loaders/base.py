"""Pieces every loader shares: the Document factory, error wording, heading paths."""

from __future__ import annotations

import pathlib
from collections.abc import Callable

from langchain_core.documents import Document

Loader = Callable[[pathlib.Path], list[Document]]
Meta = str | int | float | bool | None


def make_doc(
    text: str,
    path: pathlib.Path,
    kind: str,
    *,
    page: int | None = None,
    heading: str | None = None,
    **extra: Meta,
) -> Document:
    """Build a Document whose metadata always carries the four common keys."""
    return Document(
        page_content=clean(text),
        metadata={
            "source": str(path),
            "page": page,
            "heading": heading,
            "kind": kind,
            **extra,
        },
    )


def clean(text: str) -> str:
    # NULs and lone surrogates (seen in PDF text layers) break the embedder and Chroma.
    text = text.replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8")


def describe(exc: BaseException, limit: int = 120) -> str:
    """One short line naming an exception, for skip reasons."""
    message = str(exc).strip().splitlines()
    line = f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__
    return line if len(line) <= limit else line[: limit - 3] + "..."


class HeadingTrail:
    """The path of enclosing headings, e.g. "Install > Linux"."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def enter(self, level: int, title: str) -> str | None:
        """Record a heading of `level` (1 = outermost) and return the new path."""
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        if title:
            self._stack.append((level, title))
        return self.path

    @property
    def path(self) -> str | None:
        return " > ".join(title for _, title in self._stack) or None


def split_sections(blocks: list[str], headings: dict[int, tuple[int, str]]) -> list[tuple[str | None, str]]:
    """Cut `blocks` (lines or paragraphs) into (heading path, text) sections.

    `headings` maps the index of each block that opens a section to its (level, title);
    the opening block stays in its section's text so the heading is searchable too.
    """
    trail = HeadingTrail()
    sections: list[tuple[str | None, str]] = []
    current: list[str] = []
    path: str | None = None
    for index, block in enumerate(blocks):
        if index in headings:
            sections.append((path, "\n".join(current)))
            current = []
            path = trail.enter(*headings[index])
        current.append(block)
    sections.append((path, "\n".join(current)))
    return [(path, text) for path, text in sections if text.strip()]
