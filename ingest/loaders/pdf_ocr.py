"""The OCR half of the PDF loader: render the pages that need it with pdfium, one at a time."""

from __future__ import annotations

import functools
import pathlib
from typing import Any

from langchain_core.documents import Document

from ingest.loaders.base import describe, make_doc
from ingest.ocr.pages import FileOcr


def ocr_pages(
    path: pathlib.Path, numbers: list[int], ocr: FileOcr, blank_is_empty: bool
) -> tuple[dict[int, Document], str]:
    """OCR `numbers` (1-based) of `path`: (page number -> Document, why pages were lost or "").

    With `blank_is_empty`, a page that holds no image is taken as blank and not rendered: a text
    PDF's empty pages cost nothing, and only scans pay for OCR.
    """
    import pypdfium2 as pdfium

    from ingest.ocr.render import pdf_page_image

    docs: dict[int, Document] = {}
    try:
        pdf = pdfium.PdfDocument(str(path))
    except Exception as exc:  # pdfium's errors for damaged or encrypted files
        return docs, f" (cannot render: {describe(exc)})"
    problems: list[str] = []
    try:
        for number in numbers:
            try:
                page = pdf[number - 1]
            except Exception as exc:
                problems.append(f"page {number}: {describe(exc)}")
                continue
            try:
                if blank_is_empty and not _has_image(page, pdfium):
                    continue
                result = ocr.page(number, functools.partial(pdf_page_image, page, ocr.dpi))
            except MemoryError:
                raise
            except Exception as exc:  # an unrenderable page costs that page only
                problems.append(f"page {number}: {describe(exc)}")
                continue
            finally:
                page.close()
            if result.text.strip():
                docs[number] = make_doc(
                    result.text, path, "pdf", page=number, ocr=True, ocr_confidence=result.confidence
                )
    finally:
        pdf.close()
    return docs, f" ({problems[0]})" if problems else ""


def _has_image(page: Any, pdfium: Any) -> bool:
    objects = page.get_objects(filter=(pdfium.raw.FPDF_PAGEOBJ_IMAGE,), max_depth=3)
    return next(iter(objects), None) is not None
