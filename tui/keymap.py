"""Every key of the app, by screen: what the help screen lists."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType

from tui.screens.chats import ChatsScreen
from tui.screens.collections import CollectionsScreen
from tui.screens.help import HelpScreen, Section
from tui.screens.ingest import IngestScreen
from tui.screens.main import MainScreen
from tui.screens.preview import SourcePreview
from tui.widgets.sources import SourceList


def _bindings(items: Iterable[object]) -> list[Binding]:
    return list(Binding.make_bindings(items))  # type: ignore[arg-type]


def help_sections(palette_key: str, app_bindings: list[BindingType]) -> list[Section]:
    palette = Binding(palette_key, "command_palette", "Command palette")
    return [
        ("Chat", [*_bindings(MainScreen.BINDINGS), palette, *_bindings(app_bindings)]),
        ("Sources list", _bindings(SourceList.BINDINGS)),
        ("Source preview", _bindings(SourcePreview.BINDINGS)),
        ("Saved chats", _bindings(ChatsScreen.BINDINGS)),
        ("Collections", _bindings(CollectionsScreen.BINDINGS)),
        ("Ingest", _bindings(IngestScreen.BINDINGS)),
        ("Help", _bindings(HelpScreen.BINDINGS)),
    ]


def app_keys(ours: Iterable[BindingType]) -> list[BindingType]:
    """Textual's app-wide keys, with ours in place of those we rebind (Ctrl+C)."""
    mine = list(ours)
    taken = {b.key for b in Binding.make_bindings(mine)}
    return [*(b for b in Binding.make_bindings(App.BINDINGS) if b.key not in taken), *mine]


def palette_commands(app: Any) -> Iterable[SystemCommand]:
    """The chat screen's actions in the command palette (Ctrl+P)."""
    yield SystemCommand("New chat", "Start a new conversation (Ctrl+N)", app.action_new_chat)
    yield SystemCommand("Open a saved chat", "List saved chats and reopen one (F3)", app.action_chats)
    yield SystemCommand("Switch collection", "Choose the collection to ask (F4)", app.action_collections)
    yield SystemCommand("Ingest a folder", "Add or update a folder in the index (F5)", app.action_ingest)
    yield SystemCommand("Copy answer", "Copy the selected answer (Ctrl+Y)", app.action_copy_answer)
    yield SystemCommand("Show sources", "Move to the sources of the selected answer (F2)",
                        app.action_focus_sources)  # fmt: skip
    if app.busy_turn is not None:
        yield SystemCommand("Cancel answer", "Stop generating (Esc or Ctrl+C)", app.action_cancel)
    yield SystemCommand("Help", "List every key (F1)", app.action_help)
