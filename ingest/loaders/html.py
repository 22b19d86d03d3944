"""HTML pages: visible text with block elements on their own lines."""

from __future__ import annotations

import html
import pathlib
import re

from bs4 import BeautifulSoup, CData, NavigableString, Tag
from langchain_core.documents import Document

from ingest.loaders.base import make_doc
from ingest.loaders.sniff import read_text

_HIDDEN = frozenset({"script", "style", "noscript", "template", "title"})
_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
})  # fmt: skip
_CELLS = frozenset({"td", "th"})
_HIDDEN_RE = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TITLE_RE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_BLOCK_RE = re.compile(rf"</?(?:{'|'.join(sorted(_BLOCKS | _CELLS))})\b[^>]*>", re.IGNORECASE)
_TAG_RE = re.compile(r"<!--.*?-->|<[^>]*>", re.DOTALL)


def load_html(path: pathlib.Path) -> list[Document]:
    markup = read_text(path)
    try:
        title, text = _soup_text(markup)
    except RecursionError:
        # Pathologically deep nesting: a crude tag strip beats skipping the page.
        title, text = _regex_text(markup)
    title = " ".join(title.split())
    text = _tidy(f"{title}\n{text}" if title else text)
    return [make_doc(text, path, "html", title=title or None)] if text else []


def _soup_text(markup: str) -> tuple[str, str]:
    soup = BeautifulSoup(markup, "html.parser")
    title = soup.title.get_text() if soup.title is not None else ""
    return title, _visible_text(soup)


def _visible_text(soup: BeautifulSoup) -> str:
    """What get_text() gives, with newlines around blocks and tabs after table cells.

    get_text() with no separator keeps "<b>bold</b>er" one word, but runs blocks
    together. Inserting newline strings into the tree would fix that, yet bs4's
    insertions cost O(depth) each, which is quadratic on deeply nested junk; one
    linear walk over the parse tree gives the same text.
    """
    parts: list[str] = []
    open_tags: list[Tag] = []
    hidden = 0  # how many of the open tags hide their content
    for node in soup.descendants:
        while open_tags and open_tags[-1] is not node.parent:
            hidden -= _close(open_tags.pop(), parts)
        if isinstance(node, Tag):
            hidden += node.name in _HIDDEN
            if node.name in _BLOCKS:
                parts.append("\n")
            open_tags.append(node)
        elif not hidden and type(node) in (NavigableString, CData):
            parts.append(str(node))
    while open_tags:
        _close(open_tags.pop(), parts)
    return "".join(parts)


def _close(tag: Tag, parts: list[str]) -> bool:
    """Append what ends `tag`'s text; True if it was a hidden tag."""
    if tag.name in _BLOCKS:
        parts.append("\n")
    elif tag.name in _CELLS:
        parts.append("\t")
    return tag.name in _HIDDEN


def _regex_text(markup: str) -> tuple[str, str]:
    markup = _HIDDEN_RE.sub("", markup)
    match = _TITLE_RE.search(markup)
    title = html.unescape(_TAG_RE.sub("", match.group(1))) if match else ""
    if match:
        markup = markup[: match.start()] + markup[match.end() :]
    text = _TAG_RE.sub("", _BLOCK_RE.sub("\n", markup))
    return title, html.unescape(text)


def _tidy(text: str) -> str:
    # Collapse source indentation and runs of blank lines, keep paragraph breaks.
    lines = (" ".join(line.split()) for line in text.splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
