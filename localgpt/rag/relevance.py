"""The relevance gate: do the retrieved passages talk about what the question asks?

It runs before the LLM. A question is refused when its rare words are missing from every
passage given to the model. The evidence is lexical, so it works the same for every language
with a word list for it:

- Latin-script words come from the keyword index's tokenizer, with plurals folded.
- Chinese questions are cut into words with jieba; question words and particles (什么, 怎么,
  吗, 的...) are dropped, and a word counts as present when it occurs anywhere in a passage
  (no segmentation of the passage, so segmentation differences can't hide a match).

Each word is weighted by its IDF in the collection (a word the corpus never uses weighs the
most), and the coverage is the weighted share of the question's words found in the passages.
The English MiniLM cosine is a second feature only for Latin questions over Latin passages: for
Chinese text it rates everything alike. Thresholds are per script (`CALIBRATION`), tuned on
the tuning halves of the dev sets (bench/relevance_tune.py, figures in bench/README.md).

A question whose script differs from the passages' (an English question about Chinese
documents) shares almost no words with them: only names and numbers can count, so the gate is
lenient there and the grounding check after the answer has the last word.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from localgpt.models.wordlist import english_words
from localgpt.rag.language import CJK_CHAR as _CJK_CHAR
from localgpt.rag.language import is_cjk
from localgpt.rag.names import unknown_names, unknown_words
from localgpt.rag.quoted import code_spans, code_tokens

if TYPE_CHECKING:
    from langchain_core.documents import Document

    from localgpt.index.keyword import KeywordIndex
    from localgpt.settings.config import RetrievalSettings

Script = Literal["latin", "cjk", "cross"]

_SPACE = re.compile(r"\s+")
_POSSESSIVE = re.compile(r"['’]s\b")
_COMPOUND = re.compile(r"[._'-]")
# Question words, particles and verbs every question uses: they say how it is asked, not what
# about. Single characters are dropped anyway (mostly particles).
_CJK_STOPWORDS = (
    "什么 怎么 怎样 怎么样 如何 为什么 为何 哪个 哪些 哪里 哪儿 哪种 多少 多大 多久 几个 是否 能否 "
    "能不能 可不可以 可以 有没有 没有 是不是 会不会 要不要 应该 需要 支持 使用 用来 一个 一下 这个 "
    "那个 这些 那些 我们 你们 他们 它们 自己 时候 的话 之后 之前 以后 以前 里面 其中 还是 或者 "
    "以及 并且 而且 但是 如果 因为 所以 就是 直接 默认 一般 通常 请问 到底"
)
CJK_STOPWORDS = frozenset(_CJK_STOPWORDS.split())
_EN_QUESTION_WORDS = "much many tell know want need way happen happens"
# Words that point at the source rather than the topic ("the flex manual recommends"): the text
# itself rarely says them.
_EN_SOURCE_WORDS = (
    "manual manuals documentation according recommend recommends recommended mention mentions "
    "mentioned say says said describe describes described explain explains explained"
)
EN_QUESTION_WORDS = frozenset(_EN_QUESTION_WORDS.split() + _EN_SOURCE_WORDS.split())


@dataclass(frozen=True)
class Calibration:
    """Refuse when `weight_cosine * cosine + (1 - weight_cosine) * coverage < threshold`.

    `coverage` is over all passages together, or with `per_passage` the best single passage's."""

    threshold: float
    weight_cosine: float = 0.0
    per_passage: bool = False


# Tuned on the tuning halves of ../shared/eval/dev and dev-zh (bench/relevance_tune.py).
CALIBRATION: dict[Script, Calibration] = {
    "latin": Calibration(threshold=0.48, weight_cosine=0.5, per_passage=True),
    "cjk": Calibration(threshold=0.09),
    "cross": Calibration(threshold=0.29, weight_cosine=0.5, per_passage=True),
}


@dataclass(frozen=True)
class Passage:
    text: str
    cosine: float  # the embedder's similarity to the question


@dataclass(frozen=True)
class Relevance:
    script: Script
    coverage: float  # IDF-weighted share of the question's words found in the passages
    coverage_best: float  # the same for the best single passage
    cosine: float  # best passage's cosine
    score: float
    threshold: float
    missing: tuple[str, ...]  # the question's words found in no passage, rarest first
    unknown: tuple[str, ...] = ()  # names in the question that no chunk of the collection holds
    unfound: tuple[str, ...] = ()  # code the question quotes that no passage holds

    @property
    def relevant(self) -> bool:
        return self.score >= self.threshold and not self.unknown and not self.unfound


@lru_cache(maxsize=1)
def _jieba() -> object:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # it logs "Building prefix dict" on first use
    jieba.initialize()  # loads the dictionary that get_FREQ reads
    return jieba


def question_terms(question: str, function_words: Collection[str] | None = None) -> list[str]:
    """The words that say what the question is about, lower-cased, each once: not the
    EN_QUESTION_WORDS nor English function words (`function_words`, by default
    localgpt.index.keyword's)."""
    from localgpt.index import keyword

    latin = _POSSESSIVE.sub("", _CJK_CHAR.sub(" ", question))
    function_words = keyword.function_words() if function_words is None else function_words
    ignored = EN_QUESTION_WORDS | frozenset(function_words)
    # A dotted or hyphenated name counts through its parts ("worker.backgroundclosemaxqueue" is
    # "backgroundclosemaxqueue" under a "[worker]" heading in the documents).
    terms: list[str] = [
        t for t in keyword.tokenize(latin) if len(t) > 1 and t not in ignored and not _COMPOUND.search(t)
    ]
    if _CJK_CHAR.search(question):
        jieba = _jieba()
        for word in jieba.lcut(question):  # type: ignore[attr-defined]
            word = word.strip().lower()
            if len(word) > 1 and _CJK_CHAR.search(word) and word not in CJK_STOPWORDS:
                terms.append(word)
    return list(dict.fromkeys(_fold(t) for t in terms))


def _fold(word: str) -> str:
    """'pages' and 'page' are the same topic ('pass' and 'status' stay)."""
    plural = word.endswith("s") and not word.endswith(("ss", "us", "is"))
    return word[:-1] if plural and len(word) > 3 and word.isascii() else word


def _present(term: str, words: set[str], squashed: str) -> bool:
    if _CJK_CHAR.search(term):
        return term in squashed
    return term in words


def passage_words(texts: Iterable[str]) -> tuple[set[str], str]:
    """Folded tokens, and the text without whitespace (wrapped lines split Chinese words)."""
    from localgpt.index.keyword import tokenize

    joined = "\n".join(texts)
    return {_fold(t) for t in tokenize(joined)}, _SPACE.sub("", joined.lower())


def term_weight(term: str, idf: Callable[[str], float], unseen: float) -> float:
    """IDF in the collection; for a Chinese word the index may only know its bigrams."""
    weight = idf(term)
    if weight > 0:
        return weight
    if _CJK_CHAR.search(term):
        grams = [idf(term[i : i + 2]) for i in range(len(term) - 1)]
        if grams and all(g > 0 for g in grams):
            return sum(grams) / len(grams)
        # A real word the collection never uses (蓝牙) is a strong sign; a fragment jieba guessed
        # from a colloquial question ("完发" of "改完发回来") is in no dictionary and says nothing.
        return unseen if _jieba().get_FREQ(term) else 0.0  # type: ignore[attr-defined]
    return unseen


def unseen_idf(n_chunks: int) -> float:
    """A word the collection never uses is as rare as a word in one chunk (BM25's IDF)."""
    n = max(1, n_chunks)
    return math.log(1 + (n - 1 + 0.5) / 1.5)


def script_of(question: str, passages: Sequence[Passage]) -> Script:
    """'cross' when any passage is in another script than the question: its words can't match."""
    asked_cjk = is_cjk(question)
    if any(is_cjk(p.text) != asked_cjk for p in passages if p.text.strip()):
        return "cross"
    return "cjk" if asked_cjk else "latin"


def assess(
    question: str,
    passages: Sequence[Passage],
    idf: Callable[[str], float],
    n_chunks: int,
    calibration: dict[Script, Calibration] | None = None,
    function_words: Collection[str] | None = None,
) -> Relevance:
    """How well `passages` (what the model will read) cover `question`."""
    calibration = calibration or CALIBRATION
    script = script_of(question, passages)
    terms = question_terms(question, function_words)
    unseen = unseen_idf(n_chunks)
    weights = {t: term_weight(t, idf, unseen) for t in terms}
    total = sum(weights.values()) or 1.0

    def covered(texts: Iterable[str]) -> tuple[float, list[str]]:
        words, squashed = passage_words(texts)
        absent = [t for t in terms if not _present(t, words, squashed)]
        return (sum(weights.values()) - sum(weights[t] for t in absent)) / total, absent

    coverage, missing = covered(p.text for p in passages)
    best = max((covered([p.text])[0] for p in passages), default=0.0)
    cosine = max((max(p.cosine, 0.0) for p in passages), default=0.0)
    cal = calibration[script]
    lexical = best if cal.per_passage else coverage
    score = cal.weight_cosine * cosine + (1 - cal.weight_cosine) * lexical
    missing.sort(key=lambda t: -weights[t])
    return Relevance(
        script,
        round(coverage, 4),
        round(best, 4),
        round(cosine, 4),
        round(score, 4),
        cal.threshold,
        tuple(missing),
    )


def judge(
    question: str,
    docs: Sequence[Document],
    settings: RetrievalSettings,
    keyword_index: Callable[[], KeywordIndex],
) -> Relevance:
    """The gate as configured over the retriever's chunks: `relevance = "calibrated"`, or the
    `"legacy"` threshold on the best chunk's score (the mean of cosine and keyword coverage)."""
    if settings.relevance == "legacy":
        best = max((float(d.metadata.get("score", 0.0)) for d in docs), default=0.0)
        return Relevance("latin", 0.0, 0.0, 0.0, round(best, 4), settings.abstain_threshold, ())
    if not docs:
        return Relevance(script_of(question, []), 0.0, 0.0, 0.0, 0.0, 1.0, tuple(question_terms(question)))
    index = keyword_index()
    passages = [Passage(d.page_content, float(d.metadata.get("vector_score", 0.0))) for d in docs]
    verdict = assess(question, passages, index.idf, index.size(), function_words=index.function_words())
    unknown = unknown_names(question, index.idf) + unknown_words(question, index.idf, english_words)
    unfound = unfound_code(question, [p.text for p in passages])
    return replace(verdict, unknown=tuple(dict.fromkeys(unknown)), unfound=unfound)


def unfound_code(question: str, passages: Sequence[str]) -> tuple[str, ...]:
    """The code spans of the question (`set theme`, `--persist`) that no passage holds, compared
    by their words in order, punctuation and case aside. Code is exact: passages about a command
    quote it, and passages that only share its words ("set", "theme") are about something else."""
    spans = [(span, words) for span in code_spans(question) if (words := code_tokens(span))]
    if not spans:
        return ()
    # Spaces on both sides: "set theme" must not match inside "reset themes".
    held = [f" {code_tokens(p)} " for p in passages]
    return tuple(span for span, words in spans if not any(f" {words} " in h for h in held))
