"""Table rows (CSV, TSV, xlsx) packed into token-sized chunks under a repeated header.

One row per chunk made a 300k-row CSV into 300k chunks: hours of embedding, and chunks too short
to mean much alone. Here consecutive rows of one table share a chunk while the header and the
rows fit the token budget; each chunk records the first and last row number it holds, so a
citation still points at its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# Row Document metadata that the chunk replaces with its row range.
ROW_KEYS = ("row", "columns")


def is_row(meta: dict[str, Any]) -> bool:
    return "columns" in meta and isinstance(meta.get("row"), int)


@dataclass
class _Table:
    key: tuple[Any, ...]
    columns: str
    meta: dict[str, Any]
    header_tokens: int
    lines: list[str] = field(default_factory=list)
    tokens: int = 0
    first: int = 0
    last: int = 0


class RowPacker:
    """Feed row Documents' text and metadata in file order; get back (text, metadata, fits)
    chunks, where `fits` is False for a lone row over the budget, which the caller must cut."""

    def __init__(self, count_tokens: Callable[[str], int], budget: int) -> None:
        self._count = count_tokens
        self._budget = budget
        self._table: _Table | None = None

    def add(self, text: str, meta: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], bool]]:
        """Take one row; yields the chunk it closes, if any."""
        columns = str(meta["columns"])
        key = (meta.get("source"), meta.get("sheet"), columns)
        # "\n" costs a token in some tokenizers (none in WordPiece): count it with the row.
        cost = self._count(text + "\n")
        table = self._table
        if table is not None and (table.key != key or table.tokens + cost > self._budget):
            yield self._close()
            table = None
        if table is None:
            base = {k: v for k, v in meta.items() if k not in ROW_KEYS}
            table = self._table = _Table(key, columns, base, self._count(columns + "\n"))
            table.tokens = table.header_tokens
            table.first = int(meta["row"])
        table.lines.append(text)
        table.tokens += cost
        table.last = int(meta["row"])
        if table.tokens > self._budget:  # a single row over budget: let the splitter cut it
            yield self._close()

    def flush(self) -> Iterator[tuple[str, dict[str, Any], bool]]:
        if self._table is not None:
            yield self._close()

    def _close(self) -> tuple[str, dict[str, Any], bool]:
        table = self._table
        assert table is not None
        self._table = None
        text = "\n".join([table.columns, *table.lines])
        meta = {**table.meta, "row_start": table.first, "row_end": table.last}
        return text, meta, table.tokens <= self._budget
