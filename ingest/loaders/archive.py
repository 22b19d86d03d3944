"""Zip-bomb guard for the zip-based Office formats."""

from __future__ import annotations

import pathlib
import zipfile

from ingest.loaders.base import describe
from localgpt.errors import LoaderError

MAX_INFLATED_MB = 200


def check_inflated_size(path: pathlib.Path, kind: str, limit_mb: int = MAX_INFLATED_MB) -> None:
    """Refuse an archive whose members add up to more than `limit_mb` once inflated.

    The sizes come from the zip directory. That is enough: Python's zipfile, which
    python-docx and openpyxl read through, stops each member at its declared size.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            total = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as exc:
        raise LoaderError(f"unreadable {kind}: {describe(exc)}") from exc
    if total > limit_mb * 1024 * 1024:
        raise LoaderError(f"archive inflates to {total // (1024 * 1024)} MB (limit {limit_mb} MB)")
