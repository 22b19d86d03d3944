"""The extractive answerer: the best evidence sentence(s) for the question, verbatim, cited.

No language model: each sentence of the retrieved passages is scored against the question by
embedding similarity (the index's embedder, one batched encode) plus lexical coverage (the share
of the question's content words, or CJK character bigrams, the sentence contains) plus the cues of
what the question asks for (cues.py: a default, a version, a quoted phrase, a named entry), and
the best one is the answer, with its neighbours in the same passage (see MAX_SENTENCES for
which). In a reference list (a term line, then its description: "``limit``" / "Number of lines
to show." / "(default: 30)"), each sentence belongs to the entry its term line heads; when the
question names that term the quote starts with it and stops at the next entry. It cannot invent
anything, and it is as fast as retrieval.

Use: `extract_answer(question, [(1, chunk_text), ...], embed)` -> `Extracted`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from localgpt.rag.cues import Cues
from localgpt.rag.sentences import Sentence, content_words, is_cjk, split_sentences

Embed = Callable[[list[str]], list[list[float]]]

# The quote: a short label just before the best sentence (what "When set, this..." is about:
# "HGPLAIN"), the best sentence, and the next one of the same passage (one sentence often stops
# just before its answer: "... consists of approximately" / "151.3 KSLOC of C code."), and a third
# when the second can't stand alone either. Each rule was kept only if it raised accuracy on the
# tuning halves of both dev sets (bench/extract_tune.py and bench/README.md).
MAX_SENTENCES = 3
# With fewer content words, a sentence rarely answers anything by itself ("Water tank").
MIN_WORDS = 3
# A sentence's score: this share embedding similarity, the rest keyword coverage; plus a prior for
# the retriever's rank of its passage (RANK_PRIOR / (rank + 1)).
SIMILARITY_WEIGHT = 0.7
SIMILARITY_WEIGHT_CJK = 0.25
RANK_PRIOR = 0.3
# Per cue of the question's a sentence meets: enough to lift "(default: 8000)" over a sentence
# that only restates the question. Chosen on the tuning halves (0.1-0.5; 0.3 best in English,
# Chinese unchanged at every weight).
CUE_WEIGHT = 0.3
_VALUE_LINE = re.compile(r"\(\D|\w[^:]*:\s*\S")
_SENTENCE_END = ("。", ".", "!", "?", "！", "？", ";", "；")


@dataclass(frozen=True)
class Pick:
    """A quote: `text[start:end] == quote`, where `text` is source `n`'s chunk text."""

    n: int
    quote: str
    start: int
    end: int
    score: float
    label: bool = False  # a heading shown before the sentence it names


@dataclass(frozen=True)
class Extracted:
    text: str  # the answer: the quotes, whitespace folded, each followed by its [n]
    picks: list[Pick]

    @property
    def score(self) -> float:
        """How well the best quote matches the question (0 when there is none)."""
        return max((p.score for p in self.picks), default=0.0)


def extract_answer(question: str, passages: Sequence[tuple[int, str]], embed: Embed) -> Extracted:
    """The best sentence(s) of `passages` ((source number, chunk text), best first) for `question`."""
    units = [(rank, n, s) for rank, (n, text) in enumerate(passages) for s in split_sentences(text)]
    units = [u for u in units if _has_content(u[2].text)]
    if not units:
        return Extracted("", [])
    vectors = np.asarray(embed([question, *(s.text for _, _, s in units)]), dtype=np.float32)
    sims = vectors[1:] @ vectors[0]
    words = [content_words(s.text) for _, _, s in units]
    weights = _idf(content_words(question), words)
    cjk = is_cjk(question)
    cues = Cues.of(question)
    heads = _entries(units)
    terms = [units[h][2].text if h >= 0 else "" for h in heads]
    scores = [
        _score(float(sims[i]), _coverage(weights, words[i]), cjk)
        + RANK_PRIOR / (rank + 1)
        + CUE_WEIGHT * cues.met(sentence.text, terms[i])
        for i, (rank, _, sentence) in enumerate(units)
    ]
    best = int(np.argmax(scores))
    # A page's title opens its chunk and comes again as the heading of its body: the heading
    # is the one with the content after it.
    same = [i for i, u in enumerate(units) if u[:2] == units[best][:2] and u[2].text == units[best][2].text]
    best = same[-1]
    chosen = [best]
    named = heads[best] >= 0 and cues.names_in(terms[best])
    while len(chosen) < MAX_SENTENCES:
        last, nxt = chosen[-1], chosen[-1] + 1
        if nxt >= len(units) or units[nxt][:2] != units[last][:2]:
            break
        if len(chosen) > 1 and _stands_alone(units[last][2].text, words[last]):
            break
        if named and _is_term_line(units[nxt][2].text):  # the next entry is another topic
            break
        chosen.append(nxt)
    before = best - 1
    if named:
        chosen.insert(0, heads[best])  # the entry's name: "``limit``: (default: 30)"
    elif (
        before >= 0
        and units[before][:2] == units[best][:2]
        and _is_label(units[before][2].text, words[before])
    ):
        chosen.insert(0, before)
    picks = [
        Pick(units[i][1], units[i][2].text, units[i][2].start, units[i][2].end, round(scores[i], 4), i < best)
        for i in chosen
    ]
    return Extracted(_render(picks), picks)


def _entries(units: Sequence[tuple[int, int, Sentence]]) -> list[int]:
    """Each unit's entry head: the index of the nearest term line before it in its passage, or
    -1. A term line heads the units after it, up to the next one."""
    out: list[int] = []
    head = -1
    for i, (_, _, sentence) in enumerate(units):
        if i and units[i - 1][:2] != units[i][:2]:
            head = -1
        if _is_term_line(sentence.text):
            head = i
            out.append(-1)  # a name in a list of names heads nothing yet
        else:
            out.append(head)
    return out


def _is_term_line(text: str) -> bool:
    """A reference entry's head: one short name on its own ("``limit``", "(6666) SQLITE_X")."""
    text = text.strip()
    short = len(text) <= 60 and "\n" not in text and len(text.split()) <= 3
    # "(default: False)" closes an entry; it doesn't open one.
    return short and not text.endswith(_SENTENCE_END) and not _VALUE_LINE.match(text)


def _stands_alone(text: str, words: frozenset[str]) -> bool:
    """Not a heading, a FAQ question, a label ending in a colon or a line cut off mid-sentence."""
    text = text.rstrip()
    return len(words) >= MIN_WORDS and text.endswith(_SENTENCE_END) and not text.endswith(("?", "？"))


def _is_label(text: str, words: frozenset[str]) -> bool:
    """A heading or term line: short, and not a sentence of its own."""
    text = text.strip()
    return len(text) <= 80 and (len(words) < MIN_WORDS or not text.endswith(_SENTENCE_END))


def _score(similarity: float, coverage: float, cjk: bool) -> float:
    # The English default embedder finds all Chinese text alike: lean on the bigrams there.
    weight = SIMILARITY_WEIGHT_CJK if cjk else SIMILARITY_WEIGHT
    return weight * similarity + (1 - weight) * coverage


def _idf(asked: frozenset[str], words: Sequence[frozenset[str]]) -> dict[str, float]:
    """Question words weighted by rarity among the candidate sentences: "Aurora K7" is in every
    passage about the product and tells them apart less than "tank" does."""
    total = len(words)
    return {w: math.log(1 + total / (1 + sum(w in ws for ws in words))) for w in asked}


def _coverage(weights: dict[str, float], words: frozenset[str]) -> float:
    total = sum(weights.values())
    return sum(v for w, v in weights.items() if w in words) / total if total else 0.0


def _render(picks: Sequence[Pick]) -> str:
    """Quotes from one passage share one [n]; CJK quotes join without a space; a heading is set
    off from its sentence ("2. Filling and First Use: The water tank holds 1.8 litres.")."""
    out = ""
    for i, p in enumerate(picks):
        quote = " ".join(p.quote.split())
        if p.label:
            quote = quote.lstrip("#").strip()  # a Markdown heading's marks
        if out:
            out += _separator(picks[i - 1], quote)
        out += quote
        if p.label and not quote.endswith((":", "：")):
            out += "：" if is_cjk(quote) else ":"
        if i + 1 == len(picks) or picks[i + 1].n != p.n:
            out += f" [{p.n}]"
    return out


def _separator(before: Pick, quote: str) -> str:
    """What goes between two quotes. A CJK fragment without an end mark (a table cell, a list
    line) keeps its line: run together, "文档结构图" and "导航" read as one word, and no one
    source line holds the result."""
    if is_cjk(quote):
        fragment = not before.label and not before.quote.rstrip().endswith(_SENTENCE_END)
        return "\n" if fragment and is_cjk(before.quote) else ""
    return " "


def _has_content(text: str) -> bool:
    return bool(content_words(text))
