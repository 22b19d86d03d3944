"""CSV and TSV: one Document per row, streamed; the splitter packs rows into chunks.

Each row Document holds the row as one CSV line and, in its metadata, the header line
(`columns`) and its row number. Packing many rows under one repeated header into a chunk keeps a
300k-row file from becoming 300k chunks, while `row_start`/`row_end` still point at the rows.
"""

from __future__ import annotations

import csv
import io
import pathlib
from collections.abc import Iterable, Iterator, Sequence

from langchain_core.documents import Document

from ingest.loaders.base import make_doc
from ingest.loaders.sniff import open_text
from localgpt.errors import LoaderError

_SNIFF_CHARS = 32 * 1024


def load_csv(path: pathlib.Path) -> list[Document]:
    return list(iter_csv(path))


def iter_csv(path: pathlib.Path) -> Iterator[Document]:
    with open_text(path) as fh:
        sample = fh.read(_SNIFF_CHARS)
        fh.seek(0)
        reader = csv.reader(fh, _dialect(sample, tab=path.suffix.lower() == ".tsv"))
        try:
            yield from row_documents(reader, path, "csv")
        except csv.Error as exc:
            raise LoaderError(f"invalid csv: {exc}") from exc


def row_documents(
    rows: Iterable[Sequence[object]],
    path: pathlib.Path,
    kind: str,
    sheet: str | None = None,
) -> Iterator[Document]:
    """The first non-empty row names the columns; each later non-empty row is one Document.

    Shared with the xlsx loader. `row` counts data rows from 1, blank ones included,
    so that it matches the file.
    """
    header: list[str] | None = None
    columns = ""
    number = 0
    line = _LineWriter()
    for row in rows:
        values = ["" if value is None else str(value).strip() for value in row]
        if header is None:
            if any(values):
                header = [name or f"column {i}" for i, name in enumerate(values, 1)]
                columns = line.render(header)
            continue
        number += 1
        if not any(values):
            continue
        extra = [f"column {i}" for i in range(len(header) + 1, len(values) + 1)]
        doc = make_doc(
            line.render(values),
            path,
            kind,
            row=number,
            columns=line.render(header + extra) if extra else columns,
        )
        if sheet is not None:
            doc.metadata["sheet"] = sheet
        yield doc


class _LineWriter:
    """One row as one CSV line: commas, quotes only where a value needs them."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="")

    def render(self, values: Sequence[str]) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        # Newlines inside a cell would break the one-line-per-row layout of a chunk.
        self._writer.writerow([" ".join(v.split()) if "\n" in v or "\r" in v else v for v in values])
        return self._buffer.getvalue()


def _dialect(sample: str, tab: bool) -> type[csv.Dialect]:
    if tab:
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel
