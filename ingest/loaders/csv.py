"""CSV and TSV: one Document per row, each value labelled with its column name."""

from __future__ import annotations

import csv
import pathlib
from collections.abc import Iterable, Sequence

from langchain_core.documents import Document

from ingest.loaders.base import make_doc
from ingest.loaders.sniff import open_text
from localgpt.errors import LoaderError

_SNIFF_CHARS = 32 * 1024


def load_csv(path: pathlib.Path) -> list[Document]:
    with open_text(path) as fh:
        sample = fh.read(_SNIFF_CHARS)
        fh.seek(0)
        reader = csv.reader(fh, _dialect(sample, tab=path.suffix.lower() == ".tsv"))
        try:
            return list(row_documents(reader, path, "csv"))
        except csv.Error as exc:
            raise LoaderError(f"invalid csv: {exc}") from exc


def row_documents(
    rows: Iterable[Sequence[object]],
    path: pathlib.Path,
    kind: str,
    sheet: str | None = None,
) -> Iterable[Document]:
    """The first non-empty row names the columns; each later row becomes "name: value" lines.

    Shared with the xlsx loader. `row` counts data rows from 1, blank ones included,
    so that it matches the file.
    """
    header: list[str] | None = None
    number = 0
    for row in rows:
        values = ["" if value is None else str(value).strip() for value in row]
        if header is None:
            if any(values):
                header = [name or f"column {i}" for i, name in enumerate(values, 1)]
            continue
        number += 1
        names = header + [f"column {i}" for i in range(len(header) + 1, len(values) + 1)]
        text = "\n".join(f"{name}: {value}" for name, value in zip(names, values, strict=False) if value)
        if text:
            doc = make_doc(text, path, kind, row=number)
            if sheet is not None:
                doc.metadata["sheet"] = sheet
            yield doc


def _dialect(sample: str, tab: bool) -> type[csv.Dialect]:
    if tab:
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel
