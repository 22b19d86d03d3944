"""The app around the chat: ingest with progress, collections, help, palette, and failing workers.

No answer is generated here; the real model still loads in the background, as in real use.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Log, ProgressBar

from localgpt.errors import ModelError
from localgpt.rag.answer import RAG, ChatSession
from localgpt.rag.resources import Resources
from tests.tui.conftest import QUESTION, ask, make_settings, wait_idle, wait_until
from tui.app import LocalGPTApp
from tui.screens.collections import CollectionsScreen
from tui.screens.help import HelpScreen
from tui.screens.ingest import IngestScreen
from tui.screens.main import MainScreen
from tui.widgets.sources import SourceList

pytestmark = pytest.mark.anyio


class FailingRAG(RAG):
    """Failure injection: a RAG whose every answer raises the given error."""

    def __init__(self, resources: Resources, error: Exception) -> None:
        super().__init__(resources)
        self.error = error

    def answer(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
        raise self.error


async def test_ingest_a_folder_from_the_app(data_dir: Path, docs: Path) -> None:
    app = LocalGPTApp(make_settings(data_dir))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.main.status.files is not None, what="the index count")
        assert (app.main.status.files, app.main.status.chunks) == (0, 0)

        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, IngestScreen), what="the ingest screen")
        screen = app.screen
        assert isinstance(screen, IngestScreen)
        await pilot.press(*str(docs), "enter")
        await wait_until(pilot, lambda: screen.summary is not None, 300, "the ingest")
        bar = screen.query_one(ProgressBar)
        assert bar.total == 7 and bar.progress == 7
        assert len(screen.query_one(Log).lines) == 7
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.main.status.files == 7, 60, "the status bar")

        files, chunks = Resources(app.settings).manifest.count()
        assert (files, chunks) == (7, app.main.status.chunks) and chunks > 7


async def test_worker_errors_become_notifications(tui_data: Path) -> None:
    app = LocalGPTApp(make_settings(tui_data))
    async with app.run_test(size=(80, 24)) as pilot:
        for error, shown in [
            (ModelError("the model file is gone; run `localgpt models pull`"), "the model file is gone"),
            (RuntimeError("a bug"), "internal error: RuntimeError: a bug"),
        ]:
            app.session = ChatSession(FailingRAG(app.resources, error))
            await ask(pilot, QUESTION)
            await wait_idle(pilot)
            assert app.is_running
            notes = [n for n in app._notifications if n.severity == "error"]
            assert shown in notes[-1].message
            assert app.main.prompt.value == QUESTION and app.main.prompt.has_focus
            assert app.main.conversation.turns[-1].has_class("-failed")
            app.main.prompt.value = ""
        assert list((tui_data / "chats").glob("*.json")) == []  # failed turns are not saved


async def test_a_refusal_says_what_the_documents_never_mention(tui_data: Path) -> None:
    app = LocalGPTApp(make_settings(tui_data))
    async with app.run_test(size=(80, 24)) as pilot:
        await ask(pilot, "How do I pair the Aurora K7 with the BrewSync app?")
        await wait_idle(pilot)
        assert app.main.conversation.turns[-1].record.abstained
        notes = [n.message for n in app._notifications if n.title == "Not in your documents"]
        assert notes == ["your documents never mention 'BrewSync', so they can't answer this"]


async def test_switch_collection_keeps_the_loaded_model(tui_data: Path) -> None:
    app = LocalGPTApp(make_settings(tui_data))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.model_state == "ready", what="the model")
        llm = app.models.llm
        await pilot.press("f4")
        await wait_until(pilot, lambda: isinstance(app.screen, CollectionsScreen), what="the switcher")
        screen = app.screen
        assert isinstance(screen, CollectionsScreen)
        assert [name for name, _, _ in screen.collections] == ["documents"]
        await pilot.click("#collection-name")
        await pilot.press(*"manuals", "enter")
        await wait_until(pilot, lambda: app.main.status.files == 0, what="the new collection's count")
        assert app.main.status.collection == "manuals"
        assert app.resources.settings.store.collection == "manuals"
        assert app.resources.llm is llm  # switching never reloads the model


async def test_help_lists_every_binding_and_the_palette_the_main_actions(tui_data: Path) -> None:
    app = LocalGPTApp(make_settings(tui_data))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        rows = screen.rows
        listed = {(action, where) for _, action, where in rows}
        for binding in MainScreen.BINDINGS:
            assert (binding.description, "Chat") in listed  # type: ignore[union-attr]
        for binding in SourceList.BINDINGS:
            assert (binding.description, "Sources list") in listed  # type: ignore[union-attr]
        assert ("Command palette", "Chat") in listed and ("Quit", "Chat") in listed
        assert {where for _, _, where in rows} >= {"Source preview", "Saved chats", "Collections", "Ingest"}
        assert ("f1", "Help", "Chat") in rows
        assert ("Stop the answer; when idle, press twice to quit", "Chat") in listed  # Ctrl+C
        await pilot.press("escape")
        assert app.screen is app.main

        titles = {command.title for command in app.get_system_commands(app.main)}
        assert titles >= {
            "New chat",
            "Open a saved chat",
            "Switch collection",
            "Ingest a folder",
            "Copy answer",
            "Show sources",
            "Help",
        }
        await wait_idle(pilot)
