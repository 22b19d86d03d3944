"""The TUI shows the evidence: each answer sentence's citation, the quote highlighted in the
preview, and flags on sentences no source supports. Real index, real embedder, real SmolLM2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localgpt.rag.evidence import Citation
from tests.tui.conftest import ask, make_settings, wait_idle, wait_until
from tui.app import LocalGPTApp
from tui.screens.preview import SourcePreview
from tui.widgets.conversation import UNSUPPORTED_FLAG, annotate
from tui.widgets.sources import SourceList

pytestmark = [pytest.mark.anyio, pytest.mark.llm]

WATER = "How much water does the Aurora K7 water tank hold?"
HEADING = "2. Filling and First Use"
QUOTE = "The water tank holds 1.8 litres."
NEXT = "It is removed from the back of the machine by lifting it straight up."


def highlighted(body: Any) -> list[str]:
    """The styled stretches of a rendered Static (Textual `Content`)."""
    return [body.plain[span.start : span.end] for span in body.spans]


async def test_answer_shows_its_citation_and_the_preview_highlights_the_quote(tui_data: Path) -> None:
    # The defaults: the bundled 135M model, so `auto` answers with quotes and loads no LLM.
    app = LocalGPTApp(make_settings(tui_data, answer__mode="auto", retrieval__k=6))
    async with app.run_test(size=(100, 30)) as pilot:
        await ask(pilot, WATER)
        await wait_idle(pilot)
        view = app.main.conversation.turns[-1]
        record = view.record
        assert not record.abstained
        n = record.citations[0].n
        # The section heading, the sentence, and the next one: one passage, so one citation.
        assert view.markdown.source == f"{HEADING}: {QUOTE} {NEXT} [{n}]"
        assert [(c.n, c.quote, c.supported) for c in record.citations] == [
            (n, HEADING, True), (n, QUOTE, True), (n, NEXT, True),
        ]  # fmt: skip
        assert "llm" not in app.models.__dict__  # quoting never loaded the model
        assert app.main.status.model == "quotes (no LLM)"

        # Source [n] is the manual's page 2; its preview shows the quote highlighted in the chunk.
        sources = app.main.query_one(SourceList).sources
        assert Path(sources[n - 1].source).name == "aurora-k7-manual.pdf" and sources[n - 1].page == 2
        await pilot.press("f2", *(["down"] * (n - 1)), "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, SourcePreview), what="the preview")
        preview = app.screen
        assert isinstance(preview, SourcePreview)
        await wait_until(pilot, lambda: preview.passage is not None, what="the surrounding text")
        body = preview.query_one("#preview-passage").render()
        assert QUOTE in highlighted(body)
        for evidence in record.evidence:
            assert body.plain[evidence.start : evidence.end] == evidence.quote

        # A reopened chat keeps the evidence: saved with the turn.
        saved = app.chats.load(app.chat.id).turns[0]
        assert saved.evidence == record.evidence and saved.citations == record.citations


def test_annotate_cites_plain_sentences_and_flags_unsupported_ones() -> None:
    answer = "The tank holds 1.8 litres. It also holds 20 litres of milk [2]. Sure."
    citations = [
        Citation("The tank holds 1.8 litres.", 1, "The water tank holds 1.8 litres.", 0.85, True),
        Citation("It also holds 20 litres of milk [2].", 1, "…", 0.7, False, "'20' is in no source"),
        Citation("Sure.", None, "", 0.0, True),  # no content: neither cited nor flagged
    ]
    assert annotate(answer, citations) == (
        f"The tank holds 1.8 litres. [1] It also holds 20 litres of milk [2]. {UNSUPPORTED_FLAG} Sure."
    )
    assert annotate("Already cited [1].", [Citation("Already cited [1].", 1, "x", 0.9, True)]) == (
        "Already cited [1]."
    )
