"""PDF files: one Document per page that has a text layer."""

from __future__ import annotations

import logging
import pathlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from langchain_core.documents import Document
from pypdf import PasswordType, PdfReader

from ingest.loaders.base import describe, make_doc
from localgpt.errors import LoaderError


def load_pdf(path: pathlib.Path) -> list[Document]:
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
        docs, failures = [], []
        for number, page in enumerate(pages, 1):
            # Plain extract_text(): layout mode changes spacing and breaks evidence matches.
            # A broken content stream costs its page, not the whole file.
            try:
                text = page.extract_text()
            except Exception as exc:
                failures.append(exc)
                continue
            if text.strip():
                docs.append(make_doc(text, path, "pdf", page=number))
    if len(failures) == len(pages):
        raise LoaderError(f"unreadable pdf: {describe(failures[0])}")
    if not docs:
        raise LoaderError("no text layer (needs OCR)")
    return docs


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
