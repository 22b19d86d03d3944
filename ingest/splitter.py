"""Token-aware chunking: no chunk is longer than the embedder's maximum sequence.

Sizes are counted in the embedder's own tokens. A 1000-character chunk is often over MiniLM's
256 tokens, and the embedder silently drops the tail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from langchain_core.documents import Document
from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

from localgpt.index.chunk_ids import chunk_id

# Paragraphs, lines, then sentence ends (CJK and Latin), then clauses, then words.
TEXT_SEPARATORS = [
    "\n\n",
    "\n",
    "。",
    "！",
    "？",
    "；",
    ". ",
    "! ",
    "? ",
    "; ",
    "，",
    ", ",
    " ",
    "",
]
# A run this long with no separator (minified JS, a 50 MB single line) is hard-wrapped first,
# so the recursive splitter never measures megabyte-long strings.
MAX_RUN_CHARS = 20_000
# [CLS] and [SEP] are added by the embedder on top of the chunk's own tokens.
SPECIAL_TOKENS = 2


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str
    metadata: dict[str, Any]


class Splitter:
    def __init__(
        self,
        count_tokens: Callable[[str], int],
        chunk_size: int,
        chunk_overlap: int,
        max_tokens: int | None = None,
    ) -> None:
        limit = (max_tokens - SPECIAL_TOKENS) if max_tokens else chunk_size
        self.chunk_size = max(8, min(chunk_size, limit))
        self.chunk_overlap = min(chunk_overlap, self.chunk_size // 2)
        self._count = count_tokens
        self._by_language: dict[str | None, RecursiveCharacterTextSplitter] = {}

    def _splitter(self, language: str | None) -> RecursiveCharacterTextSplitter:
        if language not in self._by_language:
            separators = TEXT_SEPARATORS
            if language:
                try:
                    separators = (
                        RecursiveCharacterTextSplitter.get_separators_for_language(Language(language))
                        + TEXT_SEPARATORS[1:]
                    )
                except ValueError:
                    separators = TEXT_SEPARATORS
            self._by_language[language] = RecursiveCharacterTextSplitter(
                separators=separators,
                chunk_size=self.chunk_size,
                chunk_overlap=self.chunk_overlap,
                length_function=self._count,
                keep_separator="end",
                strip_whitespace=True,
                is_separator_regex=False,
            )
        return self._by_language[language]

    def split(self, documents: Iterable[Document], sha256: str) -> list[Chunk]:
        chunks: list[Chunk] = []
        for doc in documents:
            meta = {k: v for k, v in doc.metadata.items() if v is not None}
            language = meta.get("language")
            splitter = self._splitter(language if isinstance(language, str) else None)
            for piece in splitter.split_text(_wrap_long_runs(doc.page_content)):
                if not piece.strip():
                    continue
                index = len(chunks)
                source = str(meta.get("source", ""))
                chunks.append(
                    Chunk(
                        id=chunk_id(source, sha256, index),
                        text=piece,
                        metadata={**meta, "chunk": index, "sha256": sha256},
                    )
                )
        return chunks


def _wrap_long_runs(text: str) -> str:
    if len(text) <= MAX_RUN_CHARS:
        return text
    out: list[str] = []
    for line in text.split("\n"):
        while len(line) > MAX_RUN_CHARS:
            cut = line.rfind(" ", 0, MAX_RUN_CHARS)
            cut = cut if cut > MAX_RUN_CHARS // 2 else MAX_RUN_CHARS
            out.append(line[:cut])
            line = line[cut:]
        out.append(line)
    return "\n".join(out)
