"""The grounding check: is each answer sentence backed by a sentence of the passages given?

Two tests, both against the passages the model actually read:
- support: the best passage sentence by a score that mixes embedding similarity (the index's own
  embedder, one batched encode) with lexical coverage (the share of the sentence's content words,
  or CJK character bigrams, that the passage sentence contains). The English default embedder
  rates any two Chinese sentences as similar, so for CJK sentences only the lexical part counts;
- hard facts: a number, date, version, quoted name, code identifier or proper name in the answer
  sentence that occurs in no passage (nor in the question) makes the sentence unsupported,
  whatever its score. Small models invent exactly these ("1.8 litres, which is equivalent to 20
  liters"; "The logo was designed by John Doe").

Use: `Grounder(passages, embed, question).check(answer_text)` -> one `SentenceCheck` per sentence,
with the best quote and its offsets into that passage's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from localgpt.rag.quoted import flat as _flat
from localgpt.rag.quoted import quoted_phrases
from localgpt.rag.sentences import (
    Sentence,
    cited_numbers,
    content_words,
    is_cjk,
    split_sentences,
    strip_citations,
)

Embed = Callable[[list[str]], list[list[float]]]

# A sentence is supported when its best score reaches this. On the labelled sentences of
# bench/grounding_calibration.py, all-MiniLM-L6-v2 scores paraphrases of a passage sentence
# 0.63-0.98 and on-topic claims the passages don't make 0.22-0.63 (one, a negation, at 0.63):
# 0.6 gets 15 of 16 right. The hard-fact checks catch what similarity can't (swapped numbers).
SUPPORT_THRESHOLD = 0.6
# Numbers, versions and dates: "1.8", "3.40.1", "2024-03-01", "1,000". Not the 7 of "K7".
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])\d+(?:[.,:/-]\d+)*")
# Codes: error codes, model and part numbers ("E17", "LK7-230", "v2").
_CODE = re.compile(r"(?<![\w-])[A-Za-z]+\d[\w-]*")
# snake_case, camelCase, --flags, dotted.calls() and calls(): names a model may make up.
_IDENTIFIER = re.compile(
    r"(?<![\w-])(?:--?[A-Za-z][\w-]+|[A-Za-z]\w*_\w+|[a-z]+[A-Z]\w*|[A-Za-z_]\w*(?:\.\w+)*\(\))"
)

# Two or more capitalised words in a row: a person's, product's or company's name ("John Doe").
# It is made up when none of its words is in the passages or the question: a sentence that restates
# the question around an invented name otherwise scores as well supported.
_NAME = re.compile(r"(?<![\w-])[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+)+(?![\w-])")


@dataclass(frozen=True)
class SentenceCheck:
    """One answer sentence, judged. Offsets: `start`/`end` into the answer, `quote_*` into the
    text of source `n` (the passage as given to the model)."""

    sentence: str
    start: int
    end: int
    supported: bool
    score: float
    n: int | None  # the source number of the best quote; None when nothing matched
    quote: str
    quote_start: int
    quote_end: int
    reason: str | None = None  # why it is unsupported
    neutral: bool = False  # no content words ("Sure."): neither supported nor invented


@dataclass(frozen=True)
class _Unit:
    n: int
    sentence: Sentence
    tokens: frozenset[str]


class Grounder:
    """Checks answer sentences against fixed passages; the passages are embedded once, lazily."""

    def __init__(
        self,
        passages: Sequence[tuple[int, str]],
        embed: Embed,
        question: str = "",
        threshold: float = SUPPORT_THRESHOLD,
        context: str = "",
    ) -> None:
        """`passages`: (source number, chunk text) as the model read them. `question` and
        `context` (e.g. the passage labels) are text whose facts the answer may repeat."""
        self.passages = {n: text for n, text in passages}
        self.embed = embed
        self.threshold = threshold
        self.units = [
            _Unit(n, s, content_words(s.text)) for n, text in passages for s in split_sentences(text)
        ]
        given = " ".join([question, context])
        self._given_numbers = _numbers(given)
        self._numbers = {n: _numbers(text) for n, text in self.passages.items()}
        self._flat = _flat(" ".join([given, *self.passages.values()]))
        # The passages' words are the units' already: only the question's are new.
        self._given_words = frozenset().union(content_words(given), *(u.tokens for u in self.units))
        self._vectors: np.ndarray | None = None

    def check(self, answer: str, offset: int = 0) -> list[SentenceCheck]:
        """Every sentence of `answer`, judged; offsets are shifted by `offset`."""
        sentences = split_sentences(answer)
        if not sentences:
            return []
        clean = [strip_citations(s.text) for s in sentences]
        sims = self._similarities(clean)
        return [
            self._judge(s, c, sims[i], offset) for i, (s, c) in enumerate(zip(sentences, clean, strict=True))
        ]

    def _similarities(self, texts: list[str]) -> np.ndarray:
        if not self.units:
            return np.zeros((len(texts), 0), dtype=np.float32)
        if self._vectors is None:
            self._vectors = np.asarray(self.embed([u.sentence.text for u in self.units]), dtype=np.float32)
        asked = np.asarray(self.embed(texts), dtype=np.float32)
        sims: np.ndarray = asked @ self._vectors.T
        return sims

    def _judge(self, s: Sentence, clean: str, sims: np.ndarray, offset: int) -> SentenceCheck:
        start, end = s.start + offset, s.end + offset
        tokens = content_words(clean)
        if not tokens:
            return SentenceCheck(s.text, start, end, True, 0.0, None, "", 0, 0, None, neutral=True)
        # A number must stand in the passage that supports the sentence: "20 litres" is not
        # vouched for by "cool down for 20 minutes" three pages on.
        numbers = _numbers(clean) - self._given_numbers
        holds = {n for n, found in self._numbers.items() if numbers <= found}
        cjk = is_cjk(clean)
        scores = [
            _support(float(sims[i]), len(tokens & u.tokens) / len(tokens), cjk)
            for i, u in enumerate(self.units)
        ]
        ranked = sorted(range(len(self.units)), key=lambda i: -scores[i])
        best = next((i for i in ranked if self.units[i].n in holds), -1)
        best_score = scores[best] if best >= 0 else 0.0
        reason = self._missing_name(clean)
        if not holds:
            everywhere = set().union(*self._numbers.values())
            closest = self._numbers.get(self.units[ranked[0]].n, set()) if ranked else set()
            absent = sorted(numbers - everywhere)
            if absent:
                reason = f"'{absent[0]}' is in no source"
            else:
                reason = f"'{sorted(numbers - closest)[0]}' is not in the source that matches it best"
        cited = cited_numbers(s.text)
        if reason is None and cited and not set(cited) & set(self.passages):
            reason = f"cites [{cited[0]}], which was not given"
        if best < 0:
            return SentenceCheck(s.text, start, end, False, 0.0, None, "", 0, 0, reason or "no source")
        if reason is None and best_score < self.threshold:
            reason = f"support {best_score:.2f} is below {self.threshold:.2f}"
        q = self.units[best].sentence
        return SentenceCheck(
            s.text, start, end, reason is None, round(best_score, 4), self.units[best].n, q.text, q.start,
            q.end, reason,
        )  # fmt: skip

    def _missing_name(self, clean: str) -> str | None:
        """The first quoted name, code identifier or proper name of the sentence found in no passage."""
        for name in quoted_phrases(clean):
            if _flat(name) not in self._flat:
                return f"'{name}' is in no source"
        for m in _IDENTIFIER.finditer(clean):
            if _flat(m.group()) not in self._flat:
                return f"'{m.group()}' is in no source"
        for m in _NAME.finditer(clean):
            words = content_words(m.group())
            if len(words) >= 2 and not words & self._given_words:
                return f"'{m.group()}' is in no source"
        return None


def _support(similarity: float, coverage: float, cjk: bool) -> float:
    """The support of one passage sentence for one answer sentence, in [0, 1]."""
    if cjk:
        return coverage  # the English default embedder finds all Chinese text alike
    return max(similarity, (similarity + coverage) / 2)


def _numbers(text: str) -> set[str]:
    """The facts that must be found verbatim: numbers (normalised) and codes (lower-cased)."""
    out = {m.group().lower() for m in _CODE.finditer(text)}
    for m in _NUMBER.finditer(text):
        value = m.group()
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+", value):
            value = value.replace(",", "")  # 1,000 -> 1000
        elif re.fullmatch(r"\d+,\d{1,2}", value):
            value = value.replace(",", ".")  # a decimal comma: 1,8 -> 1.8
        out.add(value)
        # "2024-03-01" also vouches for its parts, "3.40.1" for "3.40".
        out.update(p for p in re.split(r"[,:/-]", value) if p)
    return out


def supported_text(checks: Sequence[SentenceCheck], answer: str, mode: str) -> str:
    """The answer after the check. `drop`: unsupported sentences removed; `mark` and `keep`:
    the answer as written (marking is for the display). Text between kept sentences (spaces,
    line breaks) is kept."""
    if mode != "drop":
        return answer.strip()
    parts: list[str] = []
    pos = 0
    for c in checks:
        gap = answer[pos : c.start]
        if c.supported:
            parts.append((gap if parts else "") + answer[c.start : c.end])
        pos = c.end
    return "".join(parts).strip()
