"""HTML pages: visible text with block elements on their own lines."""

from __future__ import annotations

import html
import pathlib
import re

from bs4 import BeautifulSoup
from langchain_core.documents import Document

from ingest.loaders.base import make_doc
from ingest.loaders.sniff import read_text

_HIDDEN = ["script", "style", "noscript", "template"]
_BLOCKS = [
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
]  # fmt: skip
_CELLS = ["td", "th"]
_HIDDEN_RE = re.compile(
    r"<(script|style|noscript|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
_TITLE_RE = re.compile(r"<title\b[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_BLOCK_RE = re.compile(rf"</?(?:{'|'.join(_BLOCKS + _CELLS)})\b[^>]*>", re.IGNORECASE)
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
    for tag in soup(_HIDDEN):
        tag.decompose()
    title = ""
    if soup.title is not None:
        title = soup.title.get_text()
        soup.title.decompose()
    # get_text() with no separator keeps "<b>bold</b>er" one word; these newlines
    # and tabs keep blocks and table cells apart instead.
    for tag in soup(_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    for tag in soup(_CELLS):
        tag.insert_after("\t")
    return title, soup.get_text()


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
