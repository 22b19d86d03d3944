"""Scoring for `localgpt eval`: retrieval hits, answer accuracy, abstention, citations, latency.

The rules follow the question-set format of `questions.jsonl`: answers and evidence are compared
after normalisation, and short answers need a word-boundary match so "4" does not match "14".
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHORT_ANSWER = 3
MIN_EVIDENCE_PIECE = 50
_CITATION = re.compile(r"\[(\d{1,2})\]")


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str | None
    aliases: tuple[str, ...]
    source_file: str | None
    evidence: str | None
    page: int | None
    kind: str

    @property
    def answerable(self) -> bool:
        return self.answer is not None


@dataclass(frozen=True)
class Retrieved:
    source: str
    page: int | None
    text: str
    score: float


@dataclass
class Result:
    question: Question
    retrieved: list[Retrieved]
    abstained: bool
    answer: str | None = None
    cited: list[int] = field(default_factory=list)  # 1-based source numbers
    latency_ms: float = 0.0
    retrieval_ms: float = 0.0
    sentences: int = 0  # sentences of the final answer that make a claim
    unsupported: int = 0  # of those, the ones the grounding check finds no support for


def load_questions(path: Path) -> list[Question]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(
                Question(
                    id=str(row.get("id", number)),
                    question=row["question"],
                    answer=row.get("answer"),
                    aliases=tuple(row.get("answer_aliases") or ()),
                    source_file=row.get("source_file"),
                    evidence=row.get("evidence"),
                    page=row.get("page"),
                    kind=row.get("kind") or ("unanswerable" if row.get("answer") is None else "other"),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a question line ({exc})") from None
    return out


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = " ".join(text.split())
    return text.strip("\"'`“”‘’ ").rstrip(".,;:!?。").strip("\"'`“”‘’ ")


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    hay = normalize(text)
    for answer in answers:
        needle = normalize(answer)
        if not needle:
            continue
        if len(needle) <= SHORT_ANSWER:
            if re.search(rf"(?<![\w]){re.escape(needle)}(?![\w])", hay):
                return True
        elif needle in hay:
            return True
    return False


def exact_answer(text: str, answers: Iterable[str]) -> bool:
    got = normalize(text)
    return any(got == normalize(a) for a in answers)


def same_file(source: str, gold: str) -> bool:
    """`gold` is relative to the question file ("corpus/sqlite/wal.html"); sources are absolute."""
    gold_parts = Path(gold).parts
    tail = gold_parts[1:] if gold_parts and gold_parts[0] == "corpus" else gold_parts
    return Path(source).parts[-len(tail) :] == tuple(tail) if tail else False


def is_hit(chunk: Retrieved, q: Question, strict_page: bool = False) -> bool:
    if not q.answerable or not q.source_file or not same_file(chunk.source, q.source_file):
        return False
    if strict_page and q.page is not None and chunk.page != q.page:
        return False
    answers = [q.answer or "", *q.aliases]
    if contains_answer(chunk.text, answers):
        return True
    if q.evidence:
        evidence, text = normalize(q.evidence), normalize(chunk.text)
        if evidence in text or (len(text) >= MIN_EVIDENCE_PIECE and text in evidence):
            return True
    return False


def first_hit_rank(result: Result) -> int | None:
    for rank, chunk in enumerate(result.retrieved, 1):
        if is_hit(chunk, result.question):
            return rank
    return None


def cited_sources(answer: str, n_sources: int) -> list[int]:
    """Numbers cited as [n] in the answer; without any, the top source counts as the citation."""
    cited = [int(m) for m in _CITATION.findall(answer) if 1 <= int(m) <= n_sources]
    return list(dict.fromkeys(cited)) or ([1] if n_sources else [])


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def score(results: Sequence[Result], k: int) -> dict[str, Any]:
    answerable = [r for r in results if r.question.answerable]
    unanswerable = [r for r in results if not r.question.answerable]
    ranks = [first_hit_rank(r) for r in answerable]
    hits_1 = sum(1 for rank in ranks if rank == 1)
    hits_k = sum(1 for rank in ranks if rank is not None and rank <= k)
    mrr = sum(1 / rank for rank in ranks if rank is not None and rank <= k)
    abstained_ok = sum(1 for r in unanswerable if r.abstained)
    abstained_wrong = sum(1 for r in answerable if r.abstained)
    report: dict[str, Any] = {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "k": k,
        "retrieval": {
            "hit@1": _ratio(hits_1, len(answerable)),
            f"hit@{k}": _ratio(hits_k, len(answerable)),
            "mrr": _ratio(0, 1) if not answerable else round(mrr / len(answerable), 4),
        },
        "abstention": {
            "precision": _ratio(abstained_ok, abstained_ok + abstained_wrong),
            "recall": _ratio(abstained_ok, len(unanswerable)),
            "false_abstention_rate": _ratio(abstained_wrong, len(answerable)),
        },
    }
    answered = [r for r in answerable if r.answer is not None]
    if answered:
        answers = [[r.question.answer or "", *r.question.aliases] for r in answered]
        report["answer"] = {
            "accuracy": _ratio(
                sum(contains_answer(r.answer or "", a) for r, a in zip(answered, answers, strict=True)),
                len(answered),
            ),
            "exact": _ratio(
                sum(exact_answer(r.answer or "", a) for r, a in zip(answered, answers, strict=True)),
                len(answered),
            ),
        }
        with_citation = [r for r in answered if not r.abstained and r.retrieved]
        right = 0
        for r in with_citation:
            cited = r.cited or cited_sources(r.answer or "", len(r.retrieved))
            gold = r.question.source_file or ""
            right += any(same_file(r.retrieved[n - 1].source, gold) for n in cited)
        report["citation_accuracy"] = _ratio(right, len(with_citation))
    sentences = sum(r.sentences for r in results)
    if sentences:
        unsupported = sum(r.unsupported for r in results)
        report["grounding"] = {
            "sentences": sentences,
            "unsupported": unsupported,
            "unsupported_rate": _ratio(unsupported, sentences),
        }
    latencies = [r.latency_ms for r in results if r.latency_ms]
    retrievals = [r.retrieval_ms for r in results if r.retrieval_ms]
    report["latency_ms"] = {
        "total": {f"p{p}": round(percentile(latencies, p), 1) for p in (50, 90, 95)},
        "retrieval": {f"p{p}": round(percentile(retrievals, p), 1) for p in (50, 90, 95)},
    }
    report["by_kind"] = _by_kind(results, ranks, answerable, k)
    return report


def _by_kind(
    results: Sequence[Result], ranks: Sequence[int | None], answerable: Sequence[Result], k: int
) -> dict[str, dict[str, Any]]:
    rank_of = {id(r): rank for r, rank in zip(answerable, ranks, strict=True)}
    kinds: dict[str, dict[str, Any]] = {}
    for r in results:
        row = kinds.setdefault(r.question.kind, {"n": 0, "hits": 0, "abstained": 0, "correct": 0})
        row["n"] += 1
        rank = rank_of.get(id(r))
        row["hits"] += int(rank is not None and rank <= k)
        row["abstained"] += int(r.abstained)
        if r.answer is not None and r.question.answerable:
            row["correct"] += int(contains_answer(r.answer, [r.question.answer or "", *r.question.aliases]))
    out = {}
    for kind, row in sorted(kinds.items()):
        unans = kind == "unanswerable"
        out[kind] = {
            "n": row["n"],
            f"hit@{k}": None if unans else _ratio(row["hits"], row["n"]),
            "abstained": _ratio(row["abstained"], row["n"]),
            "accuracy": None if unans else _ratio(row["correct"], row["n"]),
        }
    return out
