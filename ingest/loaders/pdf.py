"""PDF files: one Document per page that has a text layer, read page by page."""

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
    return list(iter_pdf(path))


def iter_pdf(path: pathlib.Path) -> Iterator[Document]:
    """Pages one at a time, so a 2,000-page manual is split and embedded while it is read."""
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
        yielded = False
        for number in range(1, count + 1):
            # Plain extract_text(): layout mode changes spacing and breaks evidence matches.
            # A broken content stream costs its page, not the whole file.
            try:
                text = reader.pages[number - 1].extract_text()
            except Exception as exc:
                failures.append(exc)
                continue
            if text.strip():
                yielded = True
                yield make_doc(text, path, "pdf", page=number)
    if len(failures) == count:
        raise LoaderError(f"unreadable pdf: {describe(failures[0])}")
    if not yielded:
        raise LoaderError("no text layer (needs OCR)")


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
