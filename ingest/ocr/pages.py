"""What the loaders call: OCR one page through the cache, counting pages and time.

`Ocr` lives for the whole parse child (one engine, one cache); `Ocr.for_file(sha256)` gives the
per-file view a loader receives. Each page OCR'd or found in the cache calls `on_page`, which is
how the parse worker sees progress inside a long scanned file.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ingest.ocr.cache import OcrCache
from ingest.ocr.engine import (
    MAX_SIDE,
    MIN_LINE_SCORE,
    OcrEngine,
    PageText,
    engine_version,
    tidy_page,
)

OcrMode = Literal["auto", "off", "force"]
# Bumped when the layout of boxes into text changes: old cache entries then stop matching.
LAYOUT_VERSION = 2


@dataclass(frozen=True)
class OcrOptions:
    mode: OcrMode = "auto"
    cache_dir: Path | None = None
    dpi: int = 200

    def settings_key(self) -> str:
        raw = (
            f"{engine_version()}|dpi={self.dpi}|side={MAX_SIDE}|score={MIN_LINE_SCORE}"
            f"|layout={LAYOUT_VERSION}"
        )
        return hashlib.blake2b(raw.encode(), digest_size=6).hexdigest()


@dataclass
class OcrStats:
    pages: int = 0  # pages whose text came from OCR (recognised now or from the cache)
    cached: int = 0  # of those, found in the cache
    seconds: float = 0.0  # spent rendering and recognising (cache hits cost ~0)


class Ocr:
    def __init__(
        self,
        options: OcrOptions,
        on_page: Callable[[], None] | None = None,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        self.options = options
        self.engine = OcrEngine()
        self.cache = OcrCache(options.cache_dir, options.settings_key())
        self.on_page = on_page  # after each page
        self.heartbeat = heartbeat  # before each page that must be recognised

    def for_file(self, sha256: str) -> FileOcr:
        return FileOcr(self, sha256)


@dataclass
class FileOcr:
    ocr: Ocr
    sha256: str
    stats: OcrStats = field(default_factory=OcrStats)

    @property
    def mode(self) -> OcrMode:
        return self.ocr.options.mode

    @property
    def dpi(self) -> int:
        return self.ocr.options.dpi

    def page(self, number: int, render: Callable[[], Any]) -> PageText:
        """The text of page `number` (1-based); `render` makes its image only on a cache miss."""
        cached = self.ocr.cache.get(self.sha256, number)
        if cached is not None:
            self.stats.pages += 1
            self.stats.cached += 1
        else:
            if self.ocr.heartbeat is not None:
                self.ocr.heartbeat()
            start = time.monotonic()
            cached = self.ocr.engine.recognize(render())
            self.ocr.cache.put(self.sha256, number, cached)
            self.stats.pages += 1
            self.stats.seconds += time.monotonic() - start
        if self.ocr.on_page is not None:
            self.ocr.on_page()
        return PageText(tidy_page(cached.text), cached.confidence, cached.lines)
