"""The chat, driven headless with the real SmolLM2 over a real Chroma index of examples/docs."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path

import pytest

from localgpt.rag.resources import Resources
from tests.tui.conftest import QUESTION, TokenGate, ask, make_settings, wait_idle, wait_until
from tui.app import LocalGPTApp
from tui.screens.chats import ChatsScreen
from tui.screens.preview import SourcePreview
from tui.widgets.conversation import annotate
from tui.widgets.sources import SourceList

pytestmark = [pytest.mark.anyio, pytest.mark.llm]


async def test_answer_streams_in_beside_its_sources(tui_data: Path, token_gate: TokenGate) -> None:
    app = LocalGPTApp(make_settings(tui_data))
    async with app.run_test(size=(80, 24)) as pilot:
        await ask(pilot, QUESTION)
        # Mid-answer, with the model held after a few tokens, the Markdown shows the partial answer.
        await wait_until(pilot, token_gate.held.is_set, what="the first tokens")
        turn = app.main.conversation.turns[-1]
        # Each token is a message to the app: the held ones arrive, and no more.
        await wait_until(pilot, lambda: turn.pieces == token_gate.after, what="the held tokens on screen")
        await wait_until(pilot, lambda: bool(turn.markdown.source.strip()), what="a partial render")
        partial = turn.markdown.source
        assert app.busy_turn is not None and not turn.done
        assert turn.pieces == token_gate.after
        assert "Esc cancels" in str(turn.query_one(".meta").render())
        token_gate.released.set()
        await wait_idle(pilot)

        view = app.main.conversation.turns[-1]
        record = view.record
        assert record.answer and not record.abstained and not record.cancelled
        assert view.pieces > token_gate.after  # one TokenArrived message per token
        assert record.answer.startswith(partial.strip()) and len(record.answer) > len(partial.strip())
        assert view.markdown.source == annotate(record.answer, record.citations)  # with its citations
        assert app.session.history == [(QUESTION, record.answer)]

        # The sources panel lists the answer's sources: number, file, page, score, snippet.
        source_list = app.main.query_one(SourceList)
        assert record.sources and source_list.sources == record.sources
        assert source_list.option_count == len(record.sources)
        first = str(source_list.get_option_at_index(0).prompt)
        source = record.sources[0]
        assert first.startswith(f"[1] {Path(source.source).relative_to(Path.cwd())}")
        assert f"{source.score:.2f}" in first
        assert " ".join(source.text.split())[:40] in first
        assert all(s.source.startswith(str(Path.cwd() / "docs")) for s in record.sources)

        # The status bar: model, GPU layers, collection, files and chunks.
        status = app.main.status
        files, chunks = Resources(app.settings).manifest.count()
        assert status.model.startswith("SmolLM2") and status.gpu_layers == 0
        assert (status.collection, status.files, status.chunks) == ("documents", files, chunks)
        assert files == 7 and chunks > files

        # The chat was saved to the data dir.
        saved = list((tui_data / "chats").glob("*.json"))
        assert len(saved) == 1
        assert json.loads(saved[0].read_text())["turns"][0]["answer"] == record.answer

        await pilot.press("ctrl+y")
        assert app.clipboard == record.answer


async def test_source_preview_and_opening_the_file(
    tui_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A `less` that records how it was called; the headless driver can't hand the terminal over,
    # so suspend() is the one thing replaced.
    record_file = tmp_path / "pager-args.json"
    pager = tmp_path / "bin" / "less"
    pager.parent.mkdir()
    pager.write_text(
        f"#!{sys.executable}\nimport json, sys\njson.dump(sys.argv[1:], open({str(record_file)!r}, 'w'))\n"
    )
    pager.chmod(0o755)
    monkeypatch.setenv("PAGER", str(pager))
    app = LocalGPTApp(make_settings(tui_data, llm__max_tokens=8))
    monkeypatch.setattr(app, "suspend", nullcontext)
    async with app.run_test(size=(80, 24)) as pilot:
        await ask(pilot, QUESTION)
        await wait_idle(pilot)
        sources = app.main.query_one(SourceList).sources
        pdf = next(i for i, s in enumerate(sources) if s.source.endswith(".pdf"))

        await pilot.press("f2", *(["down"] * pdf), "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, SourcePreview), what="the preview")
        preview = app.screen
        assert isinstance(preview, SourcePreview)
        await wait_until(pilot, lambda: preview.passage is not None, what="the surrounding text")
        passage = preview.passage
        assert passage is not None and passage.found
        assert passage.text == sources[pdf].text
        assert passage.before.strip() or passage.after.strip()  # the chunk is set in its context
        body = str(preview.query_one("#preview-passage").render())
        assert sources[pdf].text.splitlines()[0] in body

        await pilot.press("o")
        await wait_until(pilot, record_file.exists, 30, "the pager")
        args = json.loads(record_file.read_text())
        # A PDF is shown as extracted text with page markers, opened at the passage's line.
        assert args[0].startswith("+") and int(args[0][1:]) > 1
        assert args[1].endswith(".pdf.txt")
        assert not Path(args[1]).exists()  # the rendition is removed after the pager exits

        await pilot.press("escape")
        assert not isinstance(app.screen, SourcePreview)


async def test_follow_up_is_condensed_with_the_history(tui_data: Path) -> None:
    app = LocalGPTApp(make_settings(tui_data, llm__max_tokens=24))
    async with app.run_test(size=(80, 24)) as pilot:
        await ask(pilot, QUESTION)
        await wait_idle(pilot)
        await ask(pilot, "How do I fill it?")
        await wait_idle(pilot)

        turns = app.main.conversation.turns
        assert len(turns) == 2
        follow_up = turns[1].record
        assert follow_up.answer and not follow_up.cancelled
        # The follow-up was rewritten (or given its context) before retrieval.
        assert follow_up.standalone_question and follow_up.standalone_question != "How do I fill it?"
        assert f"searched for: {follow_up.standalone_question}" in str(turns[1].query_one(".meta").render())
        assert [q for q, _ in app.session.history] == [QUESTION, "How do I fill it?"]
        assert app.main.conversation.selected is turns[1]

        # Ctrl+Up selects the first answer, and the sources panel follows the selection.
        await pilot.press("ctrl+up")
        assert app.main.conversation.selected is turns[0]
        assert app.main.query_one(SourceList).sources == turns[0].record.sources


async def test_escape_cancels_and_restores_the_prompt(tui_data: Path, token_gate: TokenGate) -> None:
    app = LocalGPTApp(make_settings(tui_data, llm__max_tokens=256))
    async with app.run_test(size=(80, 24)) as pilot:
        await ask(pilot, QUESTION)
        await wait_until(pilot, token_gate.held.is_set, what="the first tokens")
        await pilot.press("escape")
        assert app.main.status.state == "cancelling…"
        token_gate.released.set()
        await wait_idle(pilot)

        view = app.main.conversation.turns[-1]
        assert view.record.cancelled
        assert view.pieces == token_gate.after  # it stopped at the next token
        assert "cancelled" in str(view.query_one(".meta").render())
        prompt = app.main.prompt
        assert prompt.value == QUESTION and prompt.has_focus
        assert app.session.history == []  # a cancelled answer is not continued from


async def test_new_chat_then_reopen_the_saved_one(tui_data: Path) -> None:
    app = LocalGPTApp(make_settings(tui_data))
    async with app.run_test(size=(80, 24)) as pilot:
        await ask(pilot, QUESTION)
        await wait_idle(pilot)
        answer = app.main.conversation.turns[-1].record.answer
        first_chat = app.chat.id

        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.main.conversation.turns == []
        assert app.main.conversation.query(".welcome")
        assert app.main.query_one(SourceList).sources == []
        assert app.session.history == [] and app.chat.id != first_chat

        await pilot.press("f3")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatsScreen), what="the chat list")
        chats = app.screen
        assert isinstance(chats, ChatsScreen)
        assert [(c.id, c.title, c.turns) for c in chats.infos] == [(first_chat, QUESTION, 1)]
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ChatsScreen), what="the chat")
        await pilot.pause()

        turns = app.main.conversation.turns
        assert [t.record.question for t in turns] == [QUESTION]
        assert turns[0].markdown.source == annotate(answer, turns[0].record.citations)
        assert app.chat.id == first_chat
        assert app.session.history == [(QUESTION, answer)]  # follow-ups continue the reopened chat
        assert app.main.query_one(SourceList).sources == turns[0].record.sources != []
