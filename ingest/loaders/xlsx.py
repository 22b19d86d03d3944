"""Excel workbooks: one Document per row of each sheet, like CSV (the splitter packs rows)."""

from __future__ import annotations

import pathlib

import openpyxl
from langchain_core.documents import Document

from ingest.loaders.archive import MAX_INFLATED_MB, check_inflated_size
from ingest.loaders.base import describe
from ingest.loaders.csv import row_documents
from localgpt.errors import LoaderError


def load_xlsx(path: pathlib.Path, limit_mb: int = MAX_INFLATED_MB) -> list[Document]:
    check_inflated_size(path, "xlsx", limit_mb)
    try:
        # read_only streams rows instead of building every cell object up front.
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl surfaces zip, XML and key errors alike
        raise LoaderError(f"unreadable xlsx: {describe(exc)}") from exc
    try:
        return [
            doc
            for sheet in workbook.worksheets
            for doc in row_documents(sheet.iter_rows(values_only=True), path, "xlsx", sheet=sheet.title)
        ]
    except Exception as exc:
        raise LoaderError(f"unreadable xlsx: {describe(exc)}") from exc
    finally:
        workbook.close()
