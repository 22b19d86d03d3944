"""Evidence for an answer: which mode answers, the quotes behind it, and the sentence gate.

- `answer_mode(settings)`: "extract" or "generate"; `auto` decides from the GGUF's parameter
  count, read from its header without loading it.
- `extractive(question, sources, encode)`: the answer made of source sentences (no LLM).
- `SentenceGate`: sits between the LLM's token stream and the reader. It releases the answer a
  sentence at a time, each one checked against the passages first, so an unsupported sentence
  can be dropped before anyone sees it; it also halts a small model that starts writing context
  blocks of its own ("[3] manual.pdf p.2"), which stop strings used to do, cutting answers that
  start with a citation.
Every quote is verbatim: `source.text[start:end] == quote`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from localgpt.rag.extract import extract_answer
from localgpt.rag.grounding import Grounder, SentenceCheck
from localgpt.rag.sentences import split_sentences, strip_citations
from localgpt.rag.sources import Source

if TYPE_CHECKING:
    from localgpt.settings.config import Settings

# `auto` generates only with models of at least this many parameters. The bundled SmolLM2-135M
# answers fewer dev questions right when it writes than when the best sentence is quoted, and much
# of what it adds is unsupported (bench/results/unsupported.md). 1B is a cautious line between the
# 0.5B class (right on simple RAG questions only) and the 1.5B class (better); bench/answer_bench.py
# measures each model in both modes: move the line with its figures.
AUTO_MIN_PARAMETERS = 1_000_000_000
# A context block a model writes itself: a line "[n] file.ext" or "[n] file.ext p.3".
_HEADER = re.compile(
    r"(?m)^[ \t]*\[\d{1,3}\][ \t]+[^\s\[\]]+\.[A-Za-z0-9]{1,6}(?:[ \t]+(?:p\.\s*\d+|§[^\n]*))?[ \t]*$"
)
_LETTER = re.compile(r"[^\W\d_]")
# A sentence that introduces what follows it ("To do this, follow these steps:").
_LEAD_IN = re.compile(r"[:：]\s*$")


@dataclass
class Evidence:
    """A quote from a source: `text[start:end]` of the chunk `chunk_id`."""

    n: int
    source: str
    page: int | None
    chunk_id: str
    quote: str
    start: int
    end: int


@dataclass
class Citation:
    """One answer sentence and the source sentence that best supports it."""

    sentence: str
    n: int | None
    quote: str
    score: float
    supported: bool
    reason: str | None = None


@dataclass
class Grounded:
    text: str  # the answer as shown (unsupported sentences removed under "drop")
    citations: list[Citation] = field(default_factory=list)  # the sentences in `text`
    dropped: list[Citation] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def supported(self) -> bool:
        """At least one sentence with content is backed by a source."""
        return any(c.supported and c.n is not None for c in self.citations)


def answer_mode(settings: Settings) -> Literal["extract", "generate"]:
    """`[answer] mode`, with `auto` resolved from the model file's parameter count."""
    mode = settings.answer.mode
    if mode != "auto":
        return mode
    if settings.llm.backend != "llama-cpp":
        return "generate"  # a server's model: its size is its operator's choice
    from localgpt.errors import ModelError
    from localgpt.models.files import resolve_llm_model
    from localgpt.models.gguf import read_gguf

    try:
        info = read_gguf(resolve_llm_model(settings.llm.model, settings.paths.models_dir), check_size=False)
    except ModelError:
        return "generate"  # loading the model will report the problem
    if not info.parameter_count:
        return "generate"
    return "extract" if info.parameter_count < AUTO_MIN_PARAMETERS else "generate"


def extractive(question: str, sources: Sequence[Source], encode: Callable[[list[str]], Any]) -> Grounded:
    """The best source sentence(s) as the answer; empty text when the sources have none."""
    got = extract_answer(question, [(s.n, s.text) for s in sources], encode)
    by_n = {s.n: s for s in sources}
    evidence = [_evidence(by_n[p.n], p.quote, p.start, p.end) for p in got.picks]
    # The sentence as the answer shows it (whitespace folded), the quote as the source has it.
    citations = [Citation(" ".join(p.quote.split()), p.n, p.quote, p.score, True) for p in got.picks]
    return Grounded(got.text, citations, [], evidence)


class SentenceGate:
    """Checks a streamed answer sentence by sentence; `emit` gets what may be shown.

    `feed` each token, then `finish()` for the result. With `unsupported="drop"`, `emit` gets
    whole sentences, each once it is checked, and never an unsupported one; with "mark" and
    "keep" it gets the tokens as they come (nothing will be removed) and the checks only label
    the sentences. `halted` turns true when the model starts writing a context block of its own:
    the caller should stop generating.
    """

    def __init__(
        self,
        question: str,
        sources: Sequence[Source],
        encode: Callable[[list[str]], Any],
        unsupported: str = "drop",
        emit: Callable[[str], None] | None = None,
    ) -> None:
        self.sources = {s.n: s for s in sources}
        labels = " ".join(s.label for s in sources)
        self.grounder = Grounder([(s.n, s.text) for s in sources], encode, question, context=labels)
        self.unsupported = unsupported
        self.emit = emit
        self.raw = ""
        self.halted = False
        self._pos = 0  # raw[:_pos] is judged
        self._shown = ""
        self._lead_ins: list[tuple[int, str]] = []  # (index in checks, text): shown with what follows
        self.checks: list[SentenceCheck] = []

    def feed(self, piece: str) -> None:
        if self.halted:
            return
        self.raw += piece
        header = _HEADER.search(self.raw, self._pos)
        if header:
            self.raw = self.raw[: header.start()]
            self.halted = True
        elif self.unsupported != "drop" and self.emit:
            self.emit(piece)  # nothing will be removed: stream tokens as they come
        self._release(final=self.halted)

    def finish(self) -> Grounded:
        self._release(final=True)
        # A lead-in whose every follower was dropped ("Follow these steps:", "例如：") says nothing.
        for i, _ in self._lead_ins:
            self.checks[i] = replace(self.checks[i], supported=False, reason="leads into dropped sentences")
        self._lead_ins = []
        kept = [c for c in self.checks if c.supported or self.unsupported != "drop"]
        dropped = [c for c in self.checks if not c.supported and self.unsupported == "drop"]
        evidence: list[Evidence] = []
        seen: set[tuple[int, int]] = set()
        for c in kept:
            if c.supported and c.n is not None and c.n in self.sources and (c.n, c.quote_start) not in seen:
                seen.add((c.n, c.quote_start))
                evidence.append(_evidence(self.sources[c.n], c.quote, c.quote_start, c.quote_end))
        text = self._shown if self.unsupported == "drop" else self.raw
        return Grounded(text.strip(), [_citation(c) for c in kept], [_citation(c) for c in dropped], evidence)

    def _release(self, final: bool) -> None:
        pending = split_sentences(self.raw[self._pos :])
        if not final:
            # The last sentence may still grow; and one before a bare "[1" may still take it.
            while pending and not _LETTER.search(strip_citations(pending[-1].text)):
                pending.pop()
            pending = pending[:-1]
        if not pending:
            return
        base = self._pos
        end = base + pending[-1].end
        for check in self.grounder.check(self.raw[base:end], offset=base):
            self.checks.append(check)
            if check.supported or self.unsupported != "drop":
                gap = self.raw[self._pos : check.start] if self._shown or self._lead_ins else ""
                text = gap + check.sentence
                if self.unsupported == "drop" and _LEAD_IN.search(strip_citations(check.sentence)):
                    self._lead_ins.append((len(self.checks) - 1, text))  # held until a sentence follows
                else:
                    self._show("".join(t for _, t in self._lead_ins) + text)
                    self._lead_ins = []
            self._pos = check.end
        self._pos = end

    def _show(self, text: str) -> None:
        self._shown += text
        if self.emit and self.unsupported == "drop":
            self.emit(text)


def _evidence(source: Source, quote: str, start: int, end: int) -> Evidence:
    return Evidence(source.n, source.source, source.page, source.chunk_id, quote, start, end)


def _citation(c: SentenceCheck) -> Citation:
    return Citation(c.sentence, c.n, c.quote, c.score, c.supported, c.reason)
