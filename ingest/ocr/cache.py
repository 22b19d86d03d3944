"""Per-page OCR results on disk, keyed by the file's sha256, the page and the engine settings.

A re-sync, a rename or `ingest --rebuild` finds every page it has OCR'd before here, so no page
is recognised twice. One small JSON file per page: written atomically, read leniently (a damaged
entry is a miss, never an error).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

from ingest.ocr.engine import PageText


class OcrCache:
    def __init__(self, folder: Path | None, settings_key: str) -> None:
        self.folder = folder
        self.key = settings_key

    def _path(self, sha256: str, page: int) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / sha256[:2] / f"{sha256}-p{page}-{self.key}.json"

    def get(self, sha256: str, page: int) -> PageText | None:
        path = self._path(sha256, page)
        if path is None:
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return PageText(str(data["text"]), float(data["confidence"]), int(data["lines"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, sha256: str, page: int, result: PageText) -> None:
        path = self._path(sha256, page)
        if path is None:
            return
        payload = {"text": result.text, "confidence": result.confidence, "lines": result.lines}
        # A full or read-only disk costs the cache entry, not the page's text.
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(payload, fh, ensure_ascii=False)
                os.replace(tmp, path)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
