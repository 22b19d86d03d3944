"""Running a question set through retrieval (and the LLM) to produce `evaluation.Result`s."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from localgpt.evaluation.metrics import Question, Result, Retrieved, cited_sources

if TYPE_CHECKING:
    from localgpt.rag.answer import RAG, Answer
    from localgpt.settings.config import Settings


def evaluate(
    settings: Settings, questions: Sequence[Question], retrieval_only: bool, progress: bool = True
) -> list[Result]:
    from localgpt.rag.answer import RAG
    from localgpt.rag.resources import Resources
    from localgpt.rag.sources import Source

    rag = RAG(Resources(settings))
    results = []
    for n, q in enumerate(questions, 1):
        started = time.perf_counter()
        docs = rag.documents(q.question)
        retrieval_ms = (time.perf_counter() - started) * 1000
        sources = [Source.from_document(n, d) for n, d in enumerate(docs, 1)]
        retrieved = [Retrieved(s.source, s.page, s.text, s.score) for s in sources]
        refused = not rag.relevance(q.question, docs).relevant
        result = Result(q, retrieved, abstained=refused, retrieval_ms=retrieval_ms)
        if not retrieval_only:
            answer = rag.answer(q.question)
            result.answer = answer.answer
            result.abstained = answer.abstained
            # Citations index the sources the model saw, which the budget may have trimmed.
            result.retrieved = [
                Retrieved(s.source, s.page, s.text, s.score) for s in answer.sources
            ] or retrieved
            result.cited = cited_sources(answer.answer, len(answer.sources))
            result.latency_ms = answer.timings.get("total_ms", 0.0)
            if not answer.abstained:
                result.sentences, result.unsupported = unsupported_sentences(rag, answer)
        else:
            result.latency_ms = retrieval_ms
        results.append(result)
        if progress and sys.stderr.isatty():
            print(f"\r{n}/{len(questions)}", end="", file=sys.stderr, flush=True)
    if progress and sys.stderr.isatty():
        print(file=sys.stderr)
    return results


def unsupported_sentences(rag: RAG, answer: Answer) -> tuple[int, int]:
    """(sentences, unsupported ones) of a final answer, by the grounding check, whatever the
    answer mode or `[answer] unsupported` setting produced it: the same yardstick for every row."""
    from localgpt.rag.grounding import Grounder

    passages = [(s.n, s.text) for s in answer.sources]
    # The encoder the answer's own check uses: one text per run, so a sentence's support does not
    # depend on which sentences were embedded beside it (batched int8 vectors move by up to 0.04;
    # Qwen 1.5B's correct "40" scored 0.598 batched and 0.608 alone, against a 0.60 threshold).
    encode: Callable[[list[str]], Any] = rag.res.sentence_encoder
    checks = Grounder(passages, encode, answer.question).check(answer.answer)
    judged = [c for c in checks if not c.neutral]
    return len(judged), sum(1 for c in judged if not c.supported)
