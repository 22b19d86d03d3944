"""Image files (scans, photos of pages, screenshots): text through OCR, one Document per frame."""

from __future__ import annotations

import functools
import pathlib
from typing import Any

from langchain_core.documents import Document

from ingest.loaders.base import make_doc
from ingest.ocr.pages import FileOcr
from localgpt.errors import LoaderError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")


def load_image(path: pathlib.Path, ocr: FileOcr | None) -> list[Document]:
    suffix = path.suffix.lower()
    if ocr is None or ocr.mode == "off":
        # What an image was before OCR existed: not a document.
        raise LoaderError(f"binary file (unsupported type {suffix})")
    from ingest.ocr.render import image_frames

    frames = image_frames(path)
    docs = []
    number = 0
    while True:
        number += 1
        try:
            frame = next(frames)
        except StopIteration:
            break
        # Bind this frame now: the cache may not call the renderer at all.
        result = ocr.page(number, functools.partial(_same, frame))
        if result.text.strip():
            page = number if _multi_frame(path) else None  # an image file has no pages
            docs.append(
                make_doc(result.text, path, "image", page=page, ocr=True, ocr_confidence=result.confidence)
            )
    if not docs:
        raise LoaderError("no text found by OCR")
    return docs


def _same(frame: Any) -> Any:
    return frame


def _multi_frame(path: pathlib.Path) -> bool:
    return path.suffix.lower() in (".tif", ".tiff")
