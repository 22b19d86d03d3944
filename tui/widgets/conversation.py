"""The conversation pane: each turn is the question and its Markdown answer, streamed in.

A finished answer shows its citations: each sentence backed by a source ends with that source's
number, and a sentence no source supports (kept under `[answer] unsupported = "mark"`) is flagged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from localgpt.rag.evidence import Citation
from localgpt.rag.sentences import cited_numbers
from tui.chats import Turn

UNSUPPORTED_FLAG = "⚠"
_CITED_NEXT = re.compile(r"[ \t]*\[\d{1,3}\]")  # "… litres. [1]": the marker follows the sentence

WELCOME = (
    "Ask a question about your documents and press Enter.\n"
    "Follow-ups keep the conversation.  F1 lists every key; Ctrl+P searches the actions."
)


def annotate(answer: str, citations: Sequence[Citation]) -> str:
    """The answer as shown: "[n]" after each supported sentence that cites nothing, and the flag
    after each unsupported one."""
    out: list[str] = []
    pos = 0
    for c in citations:
        at = answer.find(c.sentence, pos)
        if at < 0:
            continue
        out.append(answer[pos:at])
        sentence = c.sentence
        if not c.supported:
            sentence += f" {UNSUPPORTED_FLAG}"
        elif (
            c.n is not None
            and not cited_numbers(sentence)
            and not _CITED_NEXT.match(answer, at + len(sentence))
            and f"[{c.n}]" not in answer[at:]  # quotes of one passage share one marker, at their end
        ):
            sentence += f" [{c.n}]"
        out.append(sentence)
        pos = at + len(c.sentence)
    out.append(answer[pos:])
    return "".join(out)


class TurnView(Vertical):
    """One question and its answer. Click it to show its sources."""

    class Selected(Message):
        def __init__(self, view: TurnView) -> None:
            super().__init__()
            self.view = view

    def __init__(self, turn_id: int, record: Turn, done: bool) -> None:
        super().__init__(id=f"turn-{turn_id}", classes="turn")
        self.turn_id = turn_id
        self.record = record
        self.done = done
        self.pieces = 0  # tokens streamed in so far: the tests count them
        self.partial = ""
        self._stream: MarkdownStream | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.record.question, classes="question", markup=False)
        yield Markdown(self.shown if self.done else "", classes="answer")
        yield Static(self._meta(), classes="meta", markup=False)

    @property
    def shown(self) -> str:
        """The finished answer with its citations and flags."""
        return annotate(self.record.answer, self.record.citations)

    @property
    def unsupported(self) -> int:
        return sum(1 for c in self.record.citations if not c.supported)

    @property
    def markdown(self) -> Markdown:
        return self.query_one(Markdown)

    def _meta(self, note: str = "") -> str:
        if note:
            return note
        if not self.done:
            return "thinking…"
        rec = self.record
        parts = []
        if rec.cancelled:
            parts.append("cancelled")
        elif rec.abstained:
            parts.append("not found in your documents")
        if self.unsupported and not rec.abstained:
            n = self.unsupported
            parts.append(f"{UNSUPPORTED_FLAG} {n} sentence{'s' if n != 1 else ''} not found in the sources")
        if rec.standalone_question:
            parts.append(f"searched for: {rec.standalone_question}")
        if rec.sources:
            parts.append(f"{len(rec.sources)} source{'s' if len(rec.sources) != 1 else ''}")
        return " · ".join(parts)

    def set_meta(self, note: str = "") -> None:
        self.query_one(".meta", Static).update(self._meta(note))

    async def write(self, piece: str) -> None:
        """Append a streamed token; MarkdownStream batches them when they come faster than renders."""
        if self._stream is None:
            self._stream = Markdown.get_stream(self.markdown)
            self.set_meta("answering…  (Esc cancels)")
        self.pieces += 1
        self.partial += piece
        await self._stream.write(piece)

    async def _stop_stream(self) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None

    async def finish(self, record: Turn) -> None:
        await self._stop_stream()
        self.record = record
        self.done = True
        if self.markdown.source != self.shown:
            await self.markdown.update(self.shown)  # the final text, with its citations
        self.set_class(record.cancelled, "-cancelled")
        self.set_class(self.unsupported > 0, "-unsupported")
        self.set_meta()

    async def fail(self, error: str) -> None:
        await self._stop_stream()
        self.done = True
        self.add_class("-failed")
        self.set_meta(f"error: {error}")

    def on_click(self) -> None:
        self.post_message(self.Selected(self))


class Conversation(VerticalScroll):
    """The turns of the current chat; one of them is selected and drives the sources panel."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.turns: list[TurnView] = []
        self.selected: TurnView | None = None

    def compose(self) -> ComposeResult:
        yield Static(WELCOME, classes="welcome", markup=False)

    async def add(self, turn_id: int, record: Turn, done: bool = False) -> TurnView:
        for welcome in self.query(".welcome"):
            await welcome.remove()
        view = TurnView(turn_id, record, done)
        self.turns.append(view)
        await self.mount(view)
        self.select(view)
        self.call_after_refresh(self.follow)
        return view

    def follow(self) -> None:
        """Keep the newest text in view, until the user scrolls up.

        Anchoring waits until the turns overflow the pane: Textual 8 scrolls an anchored pane
        that isn't full to a negative offset, which pushes short chats to the bottom.
        """
        if not self.is_anchored and self.max_scroll_y > 0:
            self.anchor()

    async def clear(self) -> None:
        self.anchor(False)
        self.turns.clear()
        self.selected = None
        await self.remove_children()
        await self.mount(Static(WELCOME, classes="welcome", markup=False))

    def find(self, turn_id: int) -> TurnView | None:
        return next((t for t in self.turns if t.turn_id == turn_id), None)

    def select(self, view: TurnView) -> None:
        for turn in self.turns:
            turn.set_class(turn is view, "-selected")
        self.selected = view

    def step(self, delta: int) -> TurnView | None:
        """Select the previous (-1) or next (+1) turn; None when there is nowhere to go."""
        if not self.turns or self.selected is None:
            return None
        index = self.turns.index(self.selected) + delta
        if not 0 <= index < len(self.turns):
            return None
        view = self.turns[index]
        self.select(view)
        self.scroll_to_widget(view, animate=False)
        return view
