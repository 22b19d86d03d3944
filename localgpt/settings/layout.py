"""The data dir's layout: every file and folder name under it, in one place.

Everything that reads or writes under the data dir asks this class for the path, so a name is
spelled once and a new file (a cache, a lock) is added here, where a reader sees the whole layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def chroma(self) -> Path:
        """The embedded Chroma store (all collections)."""
        return self.root / "chroma"

    @property
    def manifest(self) -> Path:
        """SQLite: per-file records (hash, chunk ids) and pending work, per collection."""
        return self.root / "manifest.sqlite"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    def ingest_lock(self, collection: str) -> Path:
        """Held by the one ingest writing a collection."""
        return self.locks / f"{collection}.lock"

    @property
    def chroma_lock(self) -> Path:
        """Serialises embedded Chroma access across processes."""
        return self.locks / "chroma.lock"

    def keyword(self, collection: str) -> Path:
        """The BM25 index of a collection."""
        return self.root / "keyword" / collection

    @property
    def keyword_root(self) -> Path:
        return self.root / "keyword"

    @property
    def embedders(self) -> Path:
        """Cached ONNX exports of the embedders, shared by every collection."""
        return self.root / "embedders"

    @property
    def ocr_cache(self) -> Path:
        """OCR'd page text, keyed by file hash and page, so no page is OCR'd twice."""
        return self.root / "ocr-cache"

    @property
    def prompt_states(self) -> Path:
        """llama.cpp states of the prompts' fixed opening, per model (see localgpt/llm/prefix_state.py)."""
        return self.root / "prompt-states"

    @property
    def chats(self) -> Path:
        """Saved TUI conversations."""
        return self.root / "chats"
