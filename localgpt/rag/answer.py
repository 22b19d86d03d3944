"""Question -> retrieved chunks -> fitted prompt -> streamed answer with its sources.

The CLI and the TUI both go through `RAG.answer` and `ChatSession`; neither has RAG logic of its own.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from localgpt.rag.evidence import Citation, Evidence, SentenceGate, answer_mode, extractive
from localgpt.rag.language import abstain_text, is_abstention
from localgpt.rag.prompt import fit_prompt, system_prompt
from localgpt.rag.sources import Source

if TYPE_CHECKING:
    from langchain_core.documents import Document

    from localgpt.rag.relevance import Relevance
    from localgpt.rag.resources import Resources

CONDENSE_SYSTEM = (
    "Rewrite the follow-up question so it can be understood without the conversation: "
    "replace pronouns like 'it' or 'its' with what they refer to. Reply with the rewritten "
    "question only."
)
CONDENSE_MAX_TOKENS = 64
# The second gate in extract mode: the best sentence's score (similarity, keyword coverage and
# the passage's rank) below this is no answer. It only catches a quote that barely relates: on the
# dev sets the best quote of every question that passed the relevance gate scored 0.48-1.25,
# answerable or not, so no threshold there separates them (the unknown-name and unknown-word
# rules in names.py do what a threshold can't).
EXTRACT_MIN_SCORE = 0.2
_WORDS = re.compile(r"[^\W_]{3,}")
_CITATION = re.compile(r"\[\d+\]")


@dataclass
class Answer:
    question: str
    answer: str
    abstained: bool
    sources: list[Source]
    model: str
    timings: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, int | None] = field(default_factory=dict)
    standalone_question: str | None = None
    cancelled: bool = False
    mode: str = "generate"  # "extract": quoted from the sources, no LLM
    evidence: list[Evidence] = field(default_factory=list)  # the quotes behind the answer
    citations: list[Citation] = field(default_factory=list)  # one per answer sentence
    dropped: list[Citation] = field(default_factory=list)  # unsupported sentences removed
    unmentioned: list[str] = field(default_factory=list)  # names no document mentions (refused)
    unfound: list[str] = field(default_factory=list)  # code the question quotes, in no passage (refused)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["sources"] = [
            {k: v for k, v in asdict(s).items() if k not in ("heading", "rows", "cosine")}
            | ({"heading": s.heading} if s.heading else {})
            | ({"rows": s.rows} if s.rows else {})
            for s in self.sources
        ]
        return out


class RAG:
    def __init__(self, resources: Resources) -> None:
        self.res = resources
        self.settings = resources.settings

    def documents(self, query: str, k: int | None = None, source_glob: str | None = None) -> list[Document]:
        """The chunks for `query`, best first, through the LangChain retriever."""
        from localgpt.rag.retrieval import match_sources

        sources = None
        if source_glob:
            sources = match_sources(list(self.res.manifest.all()), source_glob)
        return self.res.retriever(k, sources).invoke(query)

    def retrieve(self, query: str, k: int | None = None, source_glob: str | None = None) -> list[Source]:
        """The same chunks as `documents`, numbered for showing (search results, eval)."""
        return [Source.from_document(n, d) for n, d in enumerate(self.documents(query, k, source_glob), 1)]

    def relevance(self, question: str, docs: Sequence[Document]) -> Relevance:
        """The relevance gate (`[retrieval] relevance`): refuse before the model runs."""
        from localgpt.rag.relevance import judge

        by_part: dict[str, list[Document]] = {}
        for doc in docs:  # a multi-part question's chunks say which part found them
            by_part.setdefault(str(doc.metadata.get("subquery") or question), []).append(doc)
        verdicts = [
            judge(part, found, self.settings.retrieval, self.res.keyword_index)
            for part, found in by_part.items()
        ] or [judge(question, docs, self.settings.retrieval, self.res.keyword_index)]
        # Answered when any part is: "the warranty and the tank" gets the part the documents hold.
        return next((v for v in verdicts if v.relevant), verdicts[0])

    def answer(
        self,
        question: str,
        history: Sequence[tuple[str, str]] = (),
        k: int | None = None,
        source_glob: str | None = None,
        on_sources: Callable[[list[Source]], None] | None = None,
        on_token: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        retrieval_query: str | None = None,
    ) -> Answer:
        started = time.perf_counter()
        docs = self.documents(retrieval_query or question, k, source_glob)
        retrieval_ms = (time.perf_counter() - started) * 1000
        verdict = self.relevance(retrieval_query or question, docs)
        if not verdict.relevant:
            refusal = abstain_text(question)
            if on_sources:
                on_sources([])
            if on_token:
                on_token(refusal)
            total = (time.perf_counter() - started) * 1000
            return Answer(
                question, refusal, True, [], self._model_name(),
                {"retrieval_ms": round(retrieval_ms, 1), "first_token_ms": round(total, 1),
                 "total_ms": round(total, 1)},
                {"prompt": 0, "completion": 0}, unmentioned=list(verdict.unknown),
                unfound=list(verdict.unfound),
            )  # fmt: skip
        if self.mode == "extract":
            sources = [Source.from_document(n, d) for n, d in enumerate(docs, 1)]
            return self._extract(question, sources, started, retrieval_ms, on_sources, on_token)
        llm = self.res.llm
        built = fit_prompt(
            question, docs, history, llm.render, llm.count, llm.n_ctx, self.settings.llm.max_tokens,
            system=system_prompt(question),
        )  # fmt: skip
        used = [Source.from_document(n, docs[i]) for n, i in enumerate(built.chunks, 1)]
        if on_sources:
            on_sources(used)
        first: list[float] = []
        # The gate shows the answer a sentence at a time, each checked against the passages.
        gate = SentenceGate(
            question, used, self.res.sentence_encoder, self.settings.answer.unsupported, on_token
        )
        halt = _Halt(cancel, gate)  # the user's cancel, or the gate saw the model drift

        def token(piece: str) -> None:
            if not first:
                first.append(time.perf_counter())
            gate.feed(piece)

        stops = _answer_stops(built.rendered.stop, used)
        completion = llm.stream(built.messages, built.rendered.prompt, stops, built.max_tokens, token, halt)
        grounded = gate.finish()
        done = time.perf_counter()
        text = grounded.text
        refused = is_abstention(completion.text) or not text
        abstained = refused or (self.settings.answer.unsupported != "keep" and not grounded.supported)
        if abstained and (refused or not text):
            if on_token and not text:
                on_token(abstain_text(question))
            text = abstain_text(question)
        return Answer(
            question=question,
            answer=text,
            abstained=abstained,
            sources=used,
            model=llm.name,
            timings={
                "retrieval_ms": round(retrieval_ms, 1),
                "first_token_ms": round(((first[0] if first else done) - started) * 1000, 1),
                "total_ms": round((done - started) * 1000, 1),
            },
            tokens={"prompt": completion.prompt_tokens, "completion": completion.completion_tokens},
            cancelled=cancel is not None and cancel.is_set(),
            evidence=[] if abstained else grounded.evidence,
            citations=grounded.citations,
            dropped=grounded.dropped,
        )

    @cached_property
    def mode(self) -> str:
        """ "extract" or "generate": `[answer] mode`, with `auto` decided by the model's size."""
        return answer_mode(self.settings)

    def _extract(
        self,
        question: str,
        sources: list[Source],
        started: float,
        retrieval_ms: float,
        on_sources: Callable[[list[Source]], None] | None,
        on_token: Callable[[str], None] | None,
    ) -> Answer:
        """The answer quoted from the sources: no LLM is loaded."""
        if on_sources:
            on_sources(sources)
        grounded = extractive(question, sources, self.res.sentence_encoder)
        if max((c.score for c in grounded.citations), default=0.0) < EXTRACT_MIN_SCORE:
            # On topic, but no sentence answers: the passages are about the product, not its price.
            grounded = replace(grounded, text="", citations=[], evidence=[])
        text = grounded.text or abstain_text(question)
        if on_token:
            on_token(text)
        total = round((time.perf_counter() - started) * 1000, 1)
        return Answer(
            question, text, not grounded.text, sources, self._model_name(),
            {"retrieval_ms": round(retrieval_ms, 1), "first_token_ms": total, "total_ms": total},
            {"prompt": 0, "completion": 0}, mode="extract", evidence=grounded.evidence,
            citations=grounded.citations,
        )  # fmt: skip

    def _model_name(self) -> str:
        from localgpt.models.files import resolve_llm_model

        try:
            return resolve_llm_model(self.settings.llm.model, self.settings.paths.models_dir).name
        except Exception:
            return self.settings.llm.model

    def condense(self, question: str, history: Sequence[tuple[str, str]]) -> str:
        """A follow-up rewritten by the LLM into a standalone question, for retrieval."""
        if not history:
            return question
        llm = self.res.llm
        convo = "\n".join(f"User: {q}\nAssistant: {_clip(a, 400)}" for q, a in history[-3:])
        messages = [
            {"role": "system", "content": CONDENSE_SYSTEM},
            {"role": "user", "content": f"Conversation:\n{convo}\n\nFollow-up question: {question}\n"
                                        "Rewritten question:"},
        ]  # fmt: skip
        rendered = llm.render(messages)
        room = llm.n_ctx - llm.count(rendered.prompt) - 4
        if room < 16:
            return _fallback(question, history)
        out = llm.stream(
            messages, rendered.prompt, rendered.stop, min(CONDENSE_MAX_TOKENS, room), temperature=0.0
        )
        rewritten = out.text.strip().splitlines()[0].strip().strip('"') if out.text.strip() else ""
        if not _grounded(rewritten, question, history):
            return _fallback(question, history)
        return rewritten


class _Halt(threading.Event):
    """Stops generation when the user cancels or the sentence gate halts (asked between tokens)."""

    def __init__(self, cancel: threading.Event | None, gate: SentenceGate) -> None:
        super().__init__()
        self.cancel = cancel
        self.gate = gate

    def is_set(self) -> bool:
        return self.gate.halted or (self.cancel is not None and self.cancel.is_set())


def _answer_stops(template_stops: Sequence[str], sources: Sequence[Source]) -> list[str]:
    """Small models drift into writing more context blocks ("\n[3] file p.2"): stop them there.

    Only a whole block header stops generation, never a bare "[n] ": an answer may well start
    its lines with citations. Headers with made-up labels are caught by the `SentenceGate`.
    """
    headers = [f"\n[{m}] {s.label}" for s in sources for m in range(1, len(sources) + 2)]
    return [*template_stops, *headers, "\nContext:", "\nQuestion:"]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORDS.findall(text)}


def _content(words: set[str]) -> set[str]:
    """Words that carry the topic, plural 's' folded: 'pages' and 'page' are the same topic."""
    from localgpt.index.keyword import STOPWORDS

    return {w[:-1] if w.endswith("s") and len(w) > 3 else w for w in words - STOPWORDS}


def _squash(text: str) -> str:
    return " ".join(text.lower().split())


def _grounded(rewritten: str, question: str, history: Sequence[tuple[str, str]]) -> bool:
    """A usable rewrite is a question that brings in some topic word from the conversation,
    keeps what the follow-up itself asks about, and is not a line copied from an earlier answer."""
    if not rewritten or len(rewritten) > 4 * len(question) + 200:
        return False
    if _CITATION.search(rewritten):
        return False  # "The tank holds 1.8 litres [2] and ...": an answer, not a question
    said = _words(rewritten)
    own = _content(_words(question))
    if own and not own & _content(said):
        return False  # "and its weight?" -> a rewrite without "weight" asks something else
    if any(_squash(rewritten) in _squash(answer) for _, answer in history[-3:]):
        return False
    earlier = _words(" ".join(q for q, _ in history[-2:]))
    return bool((said - _words(question)) & earlier)


def _fallback(question: str, history: Sequence[tuple[str, str]]) -> str:
    """When a small model can't rewrite: the follow-up plus the question it follows."""
    return f"{question} (follow-up to: {history[-1][0]})"


class ChatSession:
    """A conversation: follow-ups are condensed before retrieval, and history is kept."""

    def __init__(self, rag: RAG, history: Sequence[tuple[str, str]] = ()) -> None:
        self.rag = rag
        self.history: list[tuple[str, str]] = list(history)

    def ask(self, question: str, **kwargs: Any) -> Answer:
        if not self.rag.settings.llm.condense or not self.history:
            standalone = question
        elif self.rag.mode == "extract":
            standalone = _fallback(question, self.history)  # extract mode never loads the LLM
        else:
            standalone = self.rag.condense(question, self.history)
        answer = self.rag.answer(question, history=self.history, retrieval_query=standalone, **kwargs)
        answer.standalone_question = standalone if standalone != question else None
        if not answer.cancelled:
            self.history.append((question, answer.answer))
        return answer
