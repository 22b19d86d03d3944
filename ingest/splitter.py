"""Token-aware chunking: no chunk is longer than the embedder's maximum sequence.

Sizes are counted in the embedder's own tokens. A 1000-character chunk is often over MiniLM's
256 tokens, and the embedder silently drops the tail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from langchain_core.documents import Document
from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

from ingest.rows import RowPacker, is_row
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
# Text longer than this is split a block at a time: bounded work per step, and progress.
BLOCK_CHARS = 1 << 16
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
        return list(self.stream(documents, sha256))

    def stream(self, documents: Iterable[Document], sha256: str) -> Iterator[Chunk]:
        """Chunks as the documents come: a big file never has all its chunks in memory.

        Table rows are packed under their header (ingest.rows); other text is cut into blocks
        of at most BLOCK_CHARS first, so the work per step stays bounded and the parse
        worker's watchdog sees progress through a huge single document.
        """
        packer = RowPacker(self._count, self.chunk_size)
        index = 0
        for doc in documents:
            meta = {k: v for k, v in doc.metadata.items() if v is not None}
            if is_row(meta):
                pieces: Iterable[tuple[str, dict[str, Any], bool]] = packer.add(doc.page_content, meta)
            else:
                pieces = chain(packer.flush(), [(doc.page_content, meta, False)])
            for text, piece_meta, fits in pieces:
                for chunk_text in [text] if fits else self._split_text(text, piece_meta):
                    yield self._chunk(chunk_text, piece_meta, sha256, index)
                    index += 1
        for text, piece_meta, fits in packer.flush():
            for chunk_text in [text] if fits else self._split_text(text, piece_meta):
                yield self._chunk(chunk_text, piece_meta, sha256, index)
                index += 1

    def _split_text(self, text: str, meta: dict[str, Any]) -> Iterator[str]:
        language = meta.get("language")
        splitter = self._splitter(language if isinstance(language, str) else None)
        for block in _blocks(text):
            for piece in splitter.split_text(_wrap_long_runs(block)):
                if piece.strip():
                    yield piece

    @staticmethod
    def _chunk(text: str, meta: dict[str, Any], sha256: str, index: int) -> Chunk:
        source = str(meta.get("source", ""))
        return Chunk(
            id=chunk_id(source, sha256, index),
            text=text,
            metadata={**meta, "chunk": index, "sha256": sha256},
        )


def _blocks(text: str) -> Iterator[str]:
    """`text` in pieces of at most BLOCK_CHARS, cut after a paragraph, a line or a word."""
    start = 0
    while len(text) - start > BLOCK_CHARS:
        end = start + BLOCK_CHARS
        cut = end
        for mark in ("\n\n", "\n", " "):
            at = text.rfind(mark, start + BLOCK_CHARS // 2, end)
            if at != -1:
                cut = at + len(mark)
                break
        yield text[start:cut]
        start = cut
    yield text[start:]


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
