"""Word documents: paragraphs and tables in order, cut into sections at "Heading N" styles."""

from __future__ import annotations

import pathlib
import re

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph
from langchain_core.documents import Document

from ingest.loaders.archive import MAX_INFLATED_MB, check_inflated_size
from ingest.loaders.base import describe, make_doc, split_sections
from localgpt.errors import LoaderError

_HEADING_STYLE = re.compile(r"heading (\d)", re.IGNORECASE)


def load_docx(path: pathlib.Path, limit_mb: int = MAX_INFLATED_MB) -> list[Document]:
    check_inflated_size(path, "docx", limit_mb)
    try:
        blocks, headings = _read_blocks(path)
    except LoaderError:
        raise
    except Exception as exc:  # python-docx and lxml raise many kinds on corrupt files
        raise LoaderError(f"unreadable docx: {describe(exc)}") from exc
    return [
        make_doc(text, path, "docx", heading=heading) for heading, text in split_sections(blocks, headings)
    ]


def _read_blocks(path: pathlib.Path) -> tuple[list[str], dict[int, tuple[int, str]]]:
    document = docx.Document(str(path))
    blocks: list[str] = []
    headings: dict[int, tuple[int, str]] = {}
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            if level := _heading_level(item):
                headings[len(blocks)] = (level, item.text.strip())
            blocks.append(item.text)
        elif isinstance(item, Table):
            blocks.extend(_table_rows(item))
    return blocks, headings


def _heading_level(paragraph: Paragraph) -> int:
    try:
        name = paragraph.style.name if paragraph.style is not None else ""
    except (KeyError, ValueError):  # a style id the styles part does not define
        return 0
    match = _HEADING_STYLE.fullmatch(name or "")
    return int(match.group(1)) if match and paragraph.text.strip() else 0


def _table_rows(table: Table) -> list[str]:
    rows = []
    for row in table.rows:
        cells = row.cells
        # A merged cell is returned once per grid column it spans; keep it once.
        texts = [c.text for i, c in enumerate(cells) if i == 0 or c._tc is not cells[i - 1]._tc]
        rows.append("\t".join(texts))
    return rows
