"""PDF files: one Document per page, from its text layer or, where it has none, through OCR.

Pages stream one at a time, so a 2,000-page manual is split and embedded while it is read, and
a scanned page is OCR'd when its turn comes.
"""

from __future__ import annotations

import logging
import pathlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from langchain_core.documents import Document
from pypdf import PasswordType, PdfReader

from ingest.loaders.base import describe, make_doc
from localgpt.errors import LoaderError

if TYPE_CHECKING:
    from ingest.ocr.pages import FileOcr


def load_pdf(path: pathlib.Path, ocr: FileOcr | None = None) -> list[Document]:
    return list(iter_pdf(path, ocr))


def iter_pdf(path: pathlib.Path, ocr: FileOcr | None = None) -> Iterator[Document]:
    """Pages in order; one with no (or a garbage) text layer goes through OCR when `ocr` is set."""
    mode = ocr.mode if ocr is not None else "off"
    yielded = needed_ocr = False
    ocr_problem = ""
    for number, text in _text_layer(path):
        if not _needs_ocr(text, mode):
            if text and text.strip():
                yielded = True
                yield make_doc(text, path, "pdf", page=number)
            continue
        needed_ocr = True
        if ocr is None:
            continue
        from ingest.loaders.pdf_ocr import ocr_pages

        found, problem = ocr_pages(path, [number], ocr, blank_is_empty=mode == "auto")
        ocr_problem = ocr_problem or problem
        doc = found.get(number)
        # A page OCR did not read (no image on it, or nothing recognised) keeps its text layer,
        # even one the garbage rule flagged: never less text than without OCR.
        if doc is None and text and text.strip():
            doc = make_doc(text, path, "pdf", page=number)
        if doc is not None:
            yielded = True
            yield doc
    if not yielded:
        if mode == "off" or not needed_ocr:
            raise LoaderError("no text layer (needs OCR)")
        raise LoaderError(f"no text layer, and OCR found no text{ocr_problem}")


def _needs_ocr(text: str | None, mode: str) -> bool:
    from ingest.ocr.quality import is_garbage

    if mode == "off":
        return False
    if mode == "force":
        return True
    return text is None or not text.strip() or is_garbage(text)


def _text_layer(path: pathlib.Path) -> Iterator[tuple[int, str | None]]:
    """(page number, its extracted text), or None where the content stream is broken."""
    with _quiet_pypdf(), path.open("rb") as fh:
        try:
            reader = PdfReader(fh)
            _unlock(reader)
            count = len(reader.pages)
        except LoaderError:
            raise
        except Exception as exc:  # malformed PDFs raise nearly any exception type
            raise LoaderError(f"unreadable pdf: {describe(exc)}") from exc
        if not count:
            raise LoaderError("no pages")
        failures: list[Exception] = []
        for number in range(1, count + 1):
            # Plain extract_text(): layout mode changes spacing and breaks evidence matches.
            # A broken content stream costs its page, not the whole file.
            try:
                text: str | None = reader.pages[number - 1].extract_text()
            except Exception as exc:
                failures.append(exc)
                text = None
            if len(failures) == count:
                raise LoaderError(f"unreadable pdf: {describe(failures[0])}")
            yield number, text


def _unlock(reader: PdfReader) -> None:
    # Many PDFs are "encrypted" only against editing, with an empty user password.
    if not reader.is_encrypted:
        return
    try:
        unlocked = reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except Exception as exc:  # unsupported algorithm, or AES without `cryptography`
        raise LoaderError(f"encrypted ({describe(exc)})") from exc
    if not unlocked:
        raise LoaderError("encrypted (password required)")


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """Keep pypdf's warnings about malformed files off stderr; the skip reason says enough."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
