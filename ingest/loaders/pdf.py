"""PDF files: one Document per page, from its text layer or, where it has none, through OCR."""

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
    texts = _text_layer(path)
    mode = ocr.mode if ocr is not None else "off"
    needs_ocr = [number for number, text in texts.items() if _needs_ocr(text, mode)]
    docs = {
        number: make_doc(text, path, "pdf", page=number)
        for number, text in texts.items()
        if text and text.strip() and number not in needs_ocr
    }
    ocr_problem = ""
    if needs_ocr and ocr is not None:
        from ingest.loaders.pdf_ocr import ocr_pages

        found, ocr_problem = ocr_pages(path, needs_ocr, ocr, blank_is_empty=mode == "auto")
        docs.update(found)
        # A page OCR did not read (no image on it, or nothing recognised) keeps its text layer,
        # even one the garbage rule flagged: never less text than without OCR.
        for number in needs_ocr:
            text = texts[number]
            if number not in docs and text and text.strip():
                docs[number] = make_doc(text, path, "pdf", page=number)
    if not docs:
        if mode == "off" or not needs_ocr:
            raise LoaderError("no text layer (needs OCR)")
        raise LoaderError(f"no text layer, and OCR found no text{ocr_problem}")
    return [docs[number] for number in sorted(docs)]


def _needs_ocr(text: str | None, mode: str) -> bool:
    from ingest.ocr.quality import is_garbage

    if mode == "off":
        return False
    if mode == "force":
        return True
    return text is None or not text.strip() or is_garbage(text)


def _text_layer(path: pathlib.Path) -> dict[int, str | None]:
    """Page number -> its extracted text, or None where the content stream is broken."""
    with _quiet_pypdf(), path.open("rb") as fh:
        try:
            reader = PdfReader(fh)
            _unlock(reader)
            pages = list(reader.pages)
        except LoaderError:
            raise
        except Exception as exc:  # malformed PDFs raise nearly any exception type
            raise LoaderError(f"unreadable pdf: {describe(exc)}") from exc
        if not pages:
            raise LoaderError("no pages")
        texts: dict[int, str | None] = {}
        failures: list[Exception] = []
        for number, page in enumerate(pages, 1):
            # Plain extract_text(): layout mode changes spacing and breaks evidence matches.
            # A broken content stream costs its page, not the whole file.
            try:
                texts[number] = page.extract_text()
            except Exception as exc:
                failures.append(exc)
                texts[number] = None
    if len(failures) == len(pages):
        raise LoaderError(f"unreadable pdf: {describe(failures[0])}")
    return texts


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
