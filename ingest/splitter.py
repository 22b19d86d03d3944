"""Token-aware chunking: no chunk is longer than the embedder's maximum sequence.

Sizes are counted in the embedder's own tokens. A 1000-character chunk is often over MiniLM's
256 tokens, and the embedder silently drops the tail.

Chinese has no spaces between words. A chunk ends at a CJK sentence end (。！？；…, with any
closing quote), else at a clause mark (，、：). A sentence longer than a chunk is cut between the
words jieba finds, never inside a word (jieba loads only when such a sentence turns up).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from langchain_core.documents import Document
from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

from ingest.rows import RowPacker, is_row
from localgpt.index import cjk
from localgpt.index.chunk_ids import chunk_id

# Regular expressions. A CJK sentence end carries the closing quotes and brackets after it.
CJK_SENTENCE_END = "[。！？；…]+[”’」』）》]*"
CJK_CLAUSE = "[，、：]"
# Paragraphs, lines, then sentence ends (CJK and Latin), then clauses, then words.
TEXT_SEPARATORS = [
    re.escape("\n\n"),
    re.escape("\n"),
    CJK_SENTENCE_END,
    re.escape(". "),
    re.escape("! "),
    re.escape("? "),
    re.escape("; "),
    CJK_CLAUSE,
    re.escape(", "),
    re.escape(" "),
    "",
]
# Before CJK sentences were known (kept for bench/zh_bench.py's "before" figures).
PLAIN_SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", ". ", "! ", "? ", "; ", "，", ", ", " ", ""]
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
        cjk_aware: bool = True,
    ) -> None:
        limit = (max_tokens - SPECIAL_TOKENS) if max_tokens else chunk_size
        self.chunk_size = max(8, min(chunk_size, limit))
        self.chunk_overlap = min(chunk_overlap, self.chunk_size // 2)
        self._count = count_tokens
        self._cjk_aware = cjk_aware
        self._by_language: dict[str | None, RecursiveCharacterTextSplitter] = {}

    def _splitter(self, language: str | None) -> RecursiveCharacterTextSplitter:
        if language not in self._by_language:
            text = TEXT_SEPARATORS if self._cjk_aware else [re.escape(s) for s in PLAIN_SEPARATORS]
            separators = text
            if language:
                try:
                    code = RecursiveCharacterTextSplitter.get_separators_for_language(Language(language))
                    # Taken literally, as they always were (some look like regexes but never acted so).
                    separators = [re.escape(s) for s in code] + text[1:]
                except ValueError:
                    separators = text
            kind = _WordSplitter if self._cjk_aware else RecursiveCharacterTextSplitter
            self._by_language[language] = kind(
                separators=separators,
                chunk_size=self.chunk_size,
                chunk_overlap=self.chunk_overlap,
                length_function=self._count,
                keep_separator="end",
                strip_whitespace=True,
                is_separator_regex=True,
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
        if self._cjk_aware and not language:
            text = cjk.unwrap(text)  # a line break inside a Chinese word is no place to cut
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


class _WordSplitter(RecursiveCharacterTextSplitter):
    """Where the recursive splitter would fall back to single characters, Chinese text is cut into
    jieba words instead, and other text stays whole unless it alone is over the chunk size."""

    def _split_text(self, text: str, separators: list[str]) -> list[str]:
        if cjk.HAN_RUN.search(text) and _only_characters_left(text, separators):  # Han first: cheap
            return self._merge_splits(self._word_pieces(text), "")
        return super()._split_text(text, separators)

    def _word_pieces(self, text: str) -> list[str]:
        pieces: list[str] = []
        for piece in _words(text):
            if self._length_function(piece) < self._chunk_size:
                pieces.append(piece)
            else:  # a 300-character URL: nothing better than characters is left
                pieces.extend(piece)
        return pieces


def _only_characters_left(text: str, separators: list[str]) -> bool:
    """Whether none of `separators` but the last ("", characters) occurs in `text`."""
    return not any(sep and re.search(sep, text) for sep in separators)


def _words(text: str) -> list[str]:
    """Han runs cut into jieba words; everything between them kept whole."""
    pieces: list[str] = []
    pos = 0
    for match in cjk.HAN_RUN.finditer(text):
        if match.start() > pos:
            pieces.append(text[pos : match.start()])
        pieces.extend(cjk.words(match.group()))
        pos = match.end()
    if pos < len(text):
        pieces.append(text[pos:])
    return pieces


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
