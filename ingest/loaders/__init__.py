"""File -> Documents, picked by extension.

Every Document carries `source`, `page`, `heading` and `kind` metadata (page and
heading may be None); text that came from OCR also carries `ocr` and `ocr_confidence`.
A file that must be skipped raises LoaderError, whose message is the short reason shown
to the user.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from langchain_core.documents import Document

from ingest.loaders.base import Loader, describe
from ingest.loaders.code import CONFIG_EXTENSIONS, LANGUAGES, load_code
from ingest.loaders.csv import iter_csv, load_csv
from ingest.loaders.docx import load_docx
from ingest.loaders.html import load_html
from ingest.loaders.image import IMAGE_EXTENSIONS, load_image
from ingest.loaders.jsonl import load_json, load_jsonl
from ingest.loaders.pdf import iter_pdf
from ingest.loaders.sniff import looks_binary
from ingest.loaders.text import iter_text, load_markdown, load_rst, load_text
from ingest.loaders.xlsx import load_xlsx
from localgpt.errors import LoaderError

if TYPE_CHECKING:
    from ingest.ocr.pages import FileOcr

__all__ = ["LOADERS", "LoaderError", "iter_file", "load_file", "supported_extensions"]

# Keys are lower-case suffixes with the dot, as pathlib's `Path.suffix` gives them.
LOADERS: dict[str, Loader] = {
    ".txt": load_text, ".text": load_text,
    ".md": load_markdown, ".markdown": load_markdown, ".mdown": load_markdown, ".mkd": load_markdown,
    ".rst": load_rst,
    ".html": load_html, ".htm": load_html, ".xhtml": load_html,
    ".csv": load_csv, ".tsv": load_csv,
    ".docx": load_docx,
    ".xlsx": load_xlsx, ".xlsm": load_xlsx,
    ".json": load_json, ".jsonl": load_jsonl, ".ndjson": load_jsonl,
    **{ext: load_code for ext in LANGUAGES},
    **{ext: load_text for ext in CONFIG_EXTENSIONS},
}  # fmt: skip
# Loaders that may OCR: they also take the file's OCR handle (None when OCR is not set up).
OCR_LOADERS: dict[str, Callable[[pathlib.Path, FileOcr | None], Iterable[Document]]] = {
    ".pdf": iter_pdf,
    **{ext: load_image for ext in IMAGE_EXTENSIONS},
}

# Loaders that yield Documents as they read (page by page, row by row, block by block): the
# formats whose big files are common. The others build their list first.
StreamLoader = Callable[[pathlib.Path], Iterator[Document]]
STREAMING: dict[Loader, StreamLoader] = {load_text: iter_text, load_csv: iter_csv}

# Skipped without reading: no loader, and sniffing them would only confirm it.
BINARY_EXTENSIONS = frozenset(
    {
        ".gif", ".ico", ".heic",
        ".psd", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".tar", ".exe",
        ".dll", ".so", ".dylib", ".o", ".a", ".lib", ".bin", ".class", ".jar", ".pyc",
        ".pyo", ".whl", ".mp3", ".mp4", ".wav", ".flac", ".ogg", ".m4a", ".avi", ".mov",
        ".mkv", ".webm", ".woff", ".woff2", ".ttf", ".otf", ".eot", ".sqlite", ".db",
        ".iso", ".dmg", ".pkl", ".npy", ".npz", ".pt", ".onnx", ".gguf", ".safetensors",
        ".doc", ".xls", ".ppt", ".pptx", ".odt", ".ods", ".odp",
    }
)  # fmt: skip
_SNIFF_BYTES = 8192


def supported_extensions() -> frozenset[str]:
    """Suffixes with a dedicated loader (".pdf", ".md", ...); others are sniffed."""
    return frozenset(LOADERS) | frozenset(OCR_LOADERS)


def load_file(path: pathlib.Path, ocr: FileOcr | None = None) -> list[Document]:
    """Read one file into Documents, or raise LoaderError with the reason to skip it."""
    docs = list(iter_file(path, ocr))
    if not docs:
        raise LoaderError("no text")
    return docs


def iter_file(path: pathlib.Path, ocr: FileOcr | None = None) -> Iterator[Document]:
    """Documents one at a time; LoaderError (with the reason) may come at any point.

    `ocr` (None: no OCR) reads scanned pages and image files. An empty iteration means
    "no text": the caller decides what that costs.
    """
    suffix = path.suffix.lower()
    try:
        if not path.is_file():
            raise LoaderError("not a regular file" if path.exists() else "file not found")
        if path.stat().st_size == 0:
            raise LoaderError("empty file")
        if suffix in BINARY_EXTENSIONS:
            raise LoaderError(f"binary file (unsupported type {suffix})")
        if suffix in OCR_LOADERS:
            yield from OCR_LOADERS[suffix](path, ocr)
            return
        loader = LOADERS.get(suffix) or _sniffed_loader(path)
        stream = STREAMING.get(loader)
        yield from stream(path) if stream else loader(path)
    except PermissionError as exc:
        raise LoaderError("permission denied") from exc
    except OSError as exc:
        raise LoaderError(f"read error: {describe(exc)}") from exc


def _sniffed_loader(path: pathlib.Path) -> Loader:
    with path.open("rb") as fh:
        sample = fh.read(_SNIFF_BYTES)
    if looks_binary(sample):
        suffix = path.suffix.lower()
        raise LoaderError(
            f"binary file (unsupported type {suffix})" if suffix else "binary file (no extension)"
        )
    return load_text
