"""The extractive answerer: the best evidence sentence(s) for the question, verbatim, cited.

No language model: each sentence of the retrieved passages is scored against the question by
embedding similarity (the index's embedder, one batched encode) plus lexical coverage (the share
of the question's content words, or CJK character bigrams, the sentence contains), and the best
one is the answer. The sentence after it joins when it is adjacent in the same passage and either
strong too, or needed: the best is a heading, a FAQ question, or a label ending in a colon.
It cannot invent anything, and it is as fast as retrieval.

Use: `extract_answer(question, [(1, chunk_text), ...], embed)` -> `Extracted`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from localgpt.rag.sentences import content_words, is_cjk, split_sentences

Embed = Callable[[list[str]], list[list[float]]]

MAX_SENTENCES = 3
# The second sentence must score this share of the best one to join it on its own merit.
FOLLOW_SHARE = 0.85
# With fewer content words, a sentence rarely answers anything by itself ("Water tank").
MIN_WORDS = 3
# A question that asks for a figure (how many, which version, 多少) is likelier answered by a
# sentence holding a number the question doesn't: it gets this much more.
NUMBER_BONUS = 0.1
# A short label just before the best sentence ("HGPLAIN", "(1299) SQLITE_CONSTRAINT_NOTNULL") is
# what "When set, this..." is about: it is quoted with it.
HEADING_CONTEXT = True
_ASKS_NUMBER = re.compile(
    r"\b(?:how (?:many|much|long|big|large|old|often|far|fast|high|wide|tall|deep|heavy|loud)"
    r"|what (?:number|year|version|size|percentage|value|port)|which (?:version|release|year|port)"
    r"|since when|numeric)\b|多少|几[个种次层行位年天]|多长|多大|多久|多高|哪一年|哪个版本",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"\d+(?:[.,:]\d+)*")
_LABEL_END = ("。", ".", "!", "?", "！", "？", ";", "；")


@dataclass(frozen=True)
class Pick:
    """A quote: `text[start:end] == quote`, where `text` is source `n`'s chunk text."""

    n: int
    quote: str
    start: int
    end: int
    score: float


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
    figure = _figure_bonus(question)
    scores = [
        _score(float(sims[i]), _coverage(weights, words[i]), cjk) + 0.02 / (rank + 1) + figure(s.text)
        for i, (rank, _, s) in enumerate(units)
    ]
    best = int(np.argmax(scores))
    chosen = [best]
    # The next sentence joins when it is strong too, or when the last one chosen can't stand
    # alone (a heading, a FAQ question, "A: Yes."); at most MAX_SENTENCES in all.
    while len(chosen) < MAX_SENTENCES:
        last, nxt = chosen[-1], chosen[-1] + 1
        if nxt >= len(units) or units[nxt][:2] != units[last][:2]:
            break
        text = units[last][2].text.rstrip()
        needs_more = len(words[last]) < MIN_WORDS or text.endswith(("?", "？", ":", "："))
        if not (needs_more or (len(chosen) == 1 and scores[nxt] >= FOLLOW_SHARE * scores[best])):
            break
        chosen.append(nxt)
    before = best - 1
    same_passage = before >= 0 and units[before][:2] == units[best][:2]
    if HEADING_CONTEXT and same_passage and _is_label(units[before][2].text, words[before]):
        chosen.insert(0, before)
    picks = [
        Pick(units[i][1], units[i][2].text, units[i][2].start, units[i][2].end, round(scores[i], 4))
        for i in chosen
    ]
    return Extracted(_render(picks), picks)


def _figure_bonus(question: str) -> Callable[[str], float]:
    if not _ASKS_NUMBER.search(question):
        return lambda _: 0.0
    asked = set(_NUMBER.findall(question))
    return lambda text: NUMBER_BONUS if set(_NUMBER.findall(text)) - asked else 0.0


def _is_label(text: str, words: frozenset[str]) -> bool:
    """A heading or term line: short, and not a sentence of its own."""
    text = text.strip()
    return len(text) <= 80 and (len(words) < MIN_WORDS or not text.endswith(_LABEL_END))


def _score(similarity: float, coverage: float, cjk: bool) -> float:
    # The English default embedder finds all Chinese text alike: lean on the bigrams there.
    return 0.25 * similarity + 0.75 * coverage if cjk else 0.5 * similarity + 0.5 * coverage


def _idf(asked: frozenset[str], words: Sequence[frozenset[str]]) -> dict[str, float]:
    """Question words weighted by rarity among the candidate sentences: "Aurora K7" is in every
    passage about the product and tells them apart less than "tank" does."""
    total = len(words)
    return {w: math.log(1 + total / (1 + sum(w in ws for ws in words))) for w in asked}


def _coverage(weights: dict[str, float], words: frozenset[str]) -> float:
    total = sum(weights.values())
    return sum(v for w, v in weights.items() if w in words) / total if total else 0.0


def _render(picks: Sequence[Pick]) -> str:
    """Quotes from one passage share one [n]; CJK quotes join without a space."""
    out = ""
    for i, p in enumerate(picks):
        quote = " ".join(p.quote.split())
        if out:
            out += "" if is_cjk(quote) else " "
        out += quote
        if i + 1 == len(picks) or picks[i + 1].n != p.n:
            out += f" [{p.n}]"
    return out


def _has_content(text: str) -> bool:
    return bool(content_words(text))
