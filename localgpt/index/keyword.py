"""The BM25 keyword index (bm25s), kept beside the collection and rebuilt when it falls behind.

Tokens are lower-cased words. Chinese has no spaces: a Han run becomes its overlapping character
bigrams plus its single characters. Measured on the dev-zh set (bench/zh_bench.py, results in
bench/README.md), this finds more than jieba's words: the questions paraphrase their passages,
and a shared character or pair still counts where the two are cut into different words; and a
question needs no dictionary load. jieba's precise and search modes stay available as modes
("words", "search") for the benchmark. Kana and hangul runs get bigrams. An English identifier
inside Chinese text ("用sqlite3_open打开") is a word of its own.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import re
import shutil
import sys
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from localgpt.index import cjk
from localgpt.settings.atomic import write_atomically

# A word never runs into CJK: "\w" matches ideographs too, which glued "用sqlite3" into one token.
_LATIN = f"[^\\W_{cjk.CJK}]+"
_WORD = re.compile(f"(?P<cjk>[{cjk.CJK}]+)|{_LATIN}(?:[._'-]{_LATIN})*")
_HAN = re.compile(f"[{cjk.HAN}]")
# How Han runs become tokens (see the module docstring): kinds joined by "+", from "bigram",
# "char", "words" (jieba) and "search" (jieba's search mode). A saved index records its mode;
# another mode means a rebuild.
CJK_MODE = "bigram+char"
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "there",
        "these",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "about",
        "after",
        "all",
        "also",
        "any",
        "been",
        "before",
        "but",
        "could",
        "did",
        "each",
        "than",
        "then",
        "they",
        "them",
        "were",
        "would",
        "should",
        "may",
        "not",
        "no",
    ]
)
META_FILE = "localgpt.json"
CURRENT = "CURRENT"  # names the version folder in use


def cjk_tokens(run: str, mode: str = CJK_MODE) -> list[str]:
    """Tokens of one CJK run: the union of the kinds `mode` names, joined by "+"."""
    kinds = mode.split("+")
    if not _HAN.match(run):
        return cjk.bigrams(run)
    tokens: list[str] = []
    if "search" in kinds:
        tokens += cjk.search_words(run)
    elif "words" in kinds:
        tokens += cjk.words(run)
    if "bigram" in kinds:
        tokens += cjk.bigrams(run)  # a two-character word counts twice: a word and a pair
    if "char" in kinds:
        tokens += list(run)
    return tokens


def tokenize(text: str, mode: str = CJK_MODE) -> list[str]:
    tokens: list[str] = []
    text = text.lower()
    if cjk.has_cjk(text):
        text = cjk.join_spaced_cjk(text)
    for match in _WORD.finditer(text):
        word = match.group()
        if match.lastgroup == "cjk":
            tokens.extend(cjk_tokens(word, mode))
            continue
        if word in STOPWORDS:
            continue
        tokens.append(word)
        if any(sep in word for sep in "._-'"):
            # "sqlite3_blob_read" and "journal_mode" also match their parts.
            tokens.extend(p for p in re.split(r"[._'-]", word) if p and p not in STOPWORDS)
    return tokens


def keyword_text(text: str, metadata: dict[str, Any]) -> str:
    """What BM25 sees: the chunk plus where it comes from (file name, title, heading)."""
    parts = [Path(str(metadata.get("source", ""))).stem.replace("_", " ").replace("-", " ")]
    parts += [str(metadata[key]) for key in ("title", "heading") if metadata.get(key)]
    return " ".join(parts) + "\n" + text


@functools.cache
def function_words() -> frozenset[str]:
    """English function words ("against", "between", "both"), bm25s's longer list: they say
    nothing about a question's topic (the relevance gate). The index itself drops only STOPWORDS."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS)


class KeywordIndex:
    def __init__(self, bm25: Any, ids: list[str], generation: int, cjk_mode: str = CJK_MODE) -> None:
        self._bm25 = bm25
        self.ids = ids
        self.generation = generation
        self.cjk_mode = cjk_mode  # queries are cut the way the chunks were
        scores = bm25.scores
        indptr = np.asarray(scores["indptr"])
        doc_freq = np.diff(indptr)
        n = max(1, int(scores.get("num_docs", len(ids))))
        self._vocab: dict[str, int] = bm25.vocab_dict
        self._idf = {
            tok: math.log(1 + (n - doc_freq[i] + 0.5) / (doc_freq[i] + 0.5))
            for tok, i in self._vocab.items()
            if i < len(doc_freq)
        }
        # An unseen query word is as rare as the rarest known one.
        self._max_idf = max(self._idf.values(), default=1.0)

    def size(self) -> int:
        """How many chunks are indexed."""
        return len(self.ids)

    def function_words(self) -> frozenset[str]:
        """`function_words()`, asked of the index: a store child has bm25s imported already."""
        return function_words()

    @classmethod
    def build(
        cls, entries: Iterable[tuple[str, str, dict[str, Any]]], generation: int, cjk_mode: str = CJK_MODE
    ) -> KeywordIndex:
        import bm25s

        ids: list[str] = []
        corpus: list[list[str]] = []
        for chunk_id, text, meta in entries:
            ids.append(chunk_id)
            # Interned, every "the" of 40k chunks is one string: the tokens of a 30 MB file then
            # take 236 MB at the peak, not 482 (ru_maxrss of a build of 40k 1,000-character chunks).
            tokens = [sys.intern(t) for t in tokenize(keyword_text(text, meta), cjk_mode)]
            corpus.append(tokens or ["\u2205"])
        bm25 = bm25s.BM25()
        if corpus:
            bm25.index(corpus, show_progress=False)
        else:
            bm25.index([["\u2205"]], show_progress=False)
        return cls(bm25, ids, generation, cjk_mode)

    def save(self, folder: Path) -> None:
        """Write a new version inside `folder`, then point CURRENT at it.

        `ask`, the TUI and an ingest may all save at once, and read while another saves. Versions
        are never changed once written and CURRENT is replaced atomically, so a reader gets one
        whole version or none: never one version's BM25 matrix with another's ids.
        """
        unique = uuid.uuid4().hex[:12]
        version = f"v-{self.generation}-{unique}"
        tmp = folder / f".tmp-{unique}"
        tmp.mkdir(parents=True)
        try:
            self._bm25.save(str(tmp), show_progress=False)
            (tmp / META_FILE).write_text(
                json.dumps({"generation": self.generation, "cjk": self.cjk_mode, "ids": self.ids})
            )
            tmp.rename(folder / version)
            write_atomically(folder / CURRENT, version)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        # Older versions go; one that another process is reading just makes its load give None.
        for entry in folder.iterdir():
            if entry.name in (CURRENT, version) or entry.name.startswith("."):
                continue  # the dot names are other processes' saves in progress
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex | None:
        """The saved index, or None if it is missing, damaged or removed while being read."""
        import bm25s

        try:
            version = folder / (folder / CURRENT).read_text().strip()
            meta = json.loads((version / META_FILE).read_text())
            bm25 = bm25s.BM25.load(str(version), show_progress=False, verbosity=0)
            ids = list(meta["ids"])
            if int(bm25.scores["num_docs"]) != max(1, len(ids)):
                return None
            # An index saved before words were cut with jieba has bigrams only.
            return cls(bm25, ids, int(meta["generation"]), str(meta.get("cjk", "bigram")))
        except Exception:  # a cache: anything wrong with it means "rebuild"
            return None

    def search(self, query: str, n: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        tokens = [t for t in tokenize(query, self.cjk_mode) if t in self._vocab]
        if not tokens or not self.ids:
            return []
        scores = np.asarray(self._bm25.get_scores(tokens))
        if allowed is not None:
            mask = np.array([chunk_id in allowed for chunk_id in self.ids])
            scores = np.where(mask, scores, 0.0)
        top = np.argsort(-scores)[:n]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def idf(self, token: str) -> float:
        """The token's IDF in the collection; 0.0 for a token it never uses (the relevance gate)."""
        return self._idf.get(token, 0.0)

    def coverage(self, query: str, text: str) -> float:
        """IDF-weighted share of the query's terms found in `text`: an absolute relevance in [0, 1]."""
        terms = set(tokenize(query, self.cjk_mode))
        if not terms:
            return 0.0
        present = set(tokenize(text, self.cjk_mode))
        weights = {t: self._idf.get(t, self._max_idf) for t in terms}
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in present) / total if total else 0.0


def fresh_index(
    folder: Path,
    generation: int,
    expected_count: int,
    entries: Any,
) -> KeywordIndex:
    """The saved index if it matches the collection, else a rebuild from `entries()`."""
    index = KeywordIndex.load(folder)
    if (
        index is not None
        and index.generation == generation
        and len(index.ids) == expected_count
        and index.cjk_mode == CJK_MODE
    ):
        return index
    index = KeywordIndex.build(entries(), generation)
    with contextlib.suppress(OSError):  # a read-only data dir still answers; it rebuilds next time
        index.save(folder)
    return index
