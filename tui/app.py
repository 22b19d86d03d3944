"""The `localgpt chat` app: it owns the chat state and the workers; screens and widgets show it.

Threads: the model loads, answers generate and indexes sync in thread workers. They never touch a
widget; they post the messages of `tui.messages`, and the handlers below update the screen.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from textual import on, work
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input

from localgpt.errors import LocalGPTError
from localgpt.rag.answer import RAG, ChatSession
from localgpt.rag.evidence import answer_mode
from localgpt.rag.notices import unfound_notice, unmentioned_notice
from localgpt.rag.resources import Resources
from localgpt.server.info import live_server
from localgpt.server.remote_session import RemoteSession
from localgpt.settings.layout import DataDir
from tui.chats import Chat, ChatStore, Turn
from tui.collections import count_index, list_collections
from tui.keymap import app_keys, help_sections, palette_commands
from tui.messages import (
    AnswerDone,
    AnswerFailed,
    IngestDone,
    ModelFailed,
    ModelReady,
    SourcesFound,
    TokenArrived,
)
from tui.screens.chats import ChatsScreen
from tui.screens.collections import CollectionsScreen, valid_collection
from tui.screens.help import HelpScreen, Section
from tui.screens.ingest import IngestScreen, ingest_folder
from tui.screens.main import MainScreen
from tui.status_updates import StatusApp
from tui.widgets.conversation import TurnView
from tui.widgets.sources import SourceList

if TYPE_CHECKING:
    from ingest.pipeline import Reporter, Summary
    from localgpt.settings.config import Settings


# A second Ctrl+C within this many seconds of the first quits (the first only warns).
QUIT_PRESS_WINDOW_S = 3.0


class LocalGPTApp(StatusApp):
    TITLE = "localgpt"
    CSS_PATH = "app.tcss"
    # Ctrl+C copies text selected in an input first (Textual's own binding there); otherwise it
    # stops the answer being written, and when there is none, a second press quits.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "interrupt", "Stop the answer; when idle, press twice to quit", show=False,
                id="app.interrupt"),
    ]  # fmt: skip

    def __init__(self, settings: Settings, warnings: Sequence[str] = (), use_server: bool = True) -> None:
        super().__init__()
        self.settings = settings
        self.startup_warnings = list(warnings)  # e.g. a configured models_dir that isn't there
        # The first Resources loads the models; other collections borrow them (Resources.for_collection).
        self.models = Resources(settings)
        self.resources: Resources = self.models
        self.rag = RAG(self.resources)
        # A running `localgpt serve` for this data dir answers instead, with its model already warm.
        self.server = live_server(settings) if use_server else None
        self.session = self._new_session()
        self.chats = ChatStore(DataDir(settings.paths.data_dir).chats)
        self.chat = Chat.new(settings.store.collection)
        self.main = MainScreen()
        self.model_state: Literal["loading", "ready", "failed"] = "loading"
        self.busy_turn: int | None = None  # the turn being answered, if any
        self._cancel: threading.Event | None = None
        self._next_turn = 0
        self._quit_armed_at: float | None = None  # when an idle Ctrl+C asked for a second one

    # ---- start-up ------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[None]:
        return self.main

    def on_main_screen_ready(self, _: MainScreen.Ready) -> None:
        status = self.main.status
        status.collection = self.settings.store.collection
        status.state = "loading model…"
        self.main.prompt.placeholder = "Loading the model… you can type your question already"
        for warning in self.startup_warnings:
            self.notify(warning, title="Settings", severity="warning", timeout=20)
        self._load_models(self.models)

    def _new_session(self, history: Sequence[tuple[str, str]] = ()) -> ChatSession | RemoteSession:
        if self.server is not None:
            return RemoteSession(self.server, self.resources.settings, history)
        return ChatSession(self.rag, history)

    @work(thread=True, exit_on_error=False, group="load")
    def _load_models(self, resources: Resources) -> None:
        """Load once: the index counts first (quick), then the LLM, then warm the embedder."""
        self.post_message(count_index(resources))
        if self.server is not None:
            self.post_message(ModelReady(f"server {self.server.url}", 0, []))
            return
        try:
            if answer_mode(resources.settings) == "extract":  # answers quote the sources: no LLM
                self.post_message(ModelReady("quotes (no LLM)", 0, []))
            else:
                llm = resources.llm
                self.post_message(ModelReady(llm.name, llm.report.gpu_layers, list(llm.report.notes)))
        except LocalGPTError as exc:
            self.post_message(ModelFailed(str(exc)))
            return
        except Exception as exc:
            self.post_message(ModelFailed(f"{type(exc).__name__}: {exc}"))
            return
        try:
            # The first question would otherwise pay for loading these (seconds on a laptop).
            resources.embedder.embed_query("warm up")
            if resources.manifest.count()[1]:
                resources.keyword_index()
        except Exception:
            pass  # the same failure reappears, with its message, when a question needs them

    # ---- asking ----------------------------------------------------------------------------------

    @on(Input.Submitted, "#prompt")
    async def _submitted(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if not question:
            return
        if self.busy_turn is not None:
            self.notify("Still answering the last question; Esc cancels it.", severity="warning")
            return
        event.input.value = ""
        self._next_turn += 1
        turn_id = self._next_turn
        await self.main.conversation.add(turn_id, Turn(question))
        self.main.sources.show([], "Sources: searching…")
        self.busy_turn = turn_id
        self._cancel = threading.Event()
        self.main.status.state = "loading model…" if self.model_state == "loading" else "answering…"
        self.refresh_bindings()
        self._answer(turn_id, question, self.session, self._cancel)

    @work(thread=True, exit_on_error=False, group="answer")
    def _answer(
        self, turn_id: int, question: str, session: ChatSession | RemoteSession, cancel: threading.Event
    ) -> None:
        try:
            answer = session.ask(
                question,
                on_sources=lambda sources: self.post_message(SourcesFound(turn_id, sources)),
                on_token=lambda piece: self.post_message(TokenArrived(turn_id, piece)),
                cancel=cancel,
            )
        except LocalGPTError as exc:
            self.post_message(AnswerFailed(turn_id, str(exc)))
        except Exception as exc:  # the app must outlive any bug in one answer
            self.post_message(AnswerFailed(turn_id, f"internal error: {type(exc).__name__}: {exc}"))
        else:
            self.post_message(AnswerDone(turn_id, answer))

    def on_sources_found(self, message: SourcesFound) -> None:
        view = self.main.conversation.find(message.turn_id)
        if view is not None:
            view.record.sources = list(message.sources)
            if view is self.main.conversation.selected:
                self._show_sources(view)

    async def on_token_arrived(self, message: TokenArrived) -> None:
        view = self.main.conversation.find(message.turn_id)
        if view is not None:
            await view.write(message.piece)
            self.main.conversation.follow()

    async def on_answer_done(self, message: AnswerDone) -> None:
        view = self.main.conversation.find(message.turn_id)
        record = Turn.from_answer(message.answer)
        why = unmentioned_notice(message.answer.unmentioned) or unfound_notice(message.answer.unfound)
        if why:  # a refusal says what the documents lack, as `ask` does on stderr
            self.notify(why, title="Not in your documents", timeout=10)
        if view is not None:
            await view.finish(record)
            self.chat.turns.append(record)
            self._save_chat()
            if view is self.main.conversation.selected:
                self._show_sources(view)
            if record.cancelled:
                self._restore_prompt(record.question)
        self._idle(message.turn_id)

    async def on_answer_failed(self, message: AnswerFailed) -> None:
        view = self.main.conversation.find(message.turn_id)
        if view is not None:
            await view.fail(message.error)
            self._restore_prompt(view.record.question)
        self.notify(message.error, title="Answer failed", severity="error", timeout=15)
        self._idle(message.turn_id)

    def _idle(self, turn_id: int) -> None:
        if turn_id == self.busy_turn:
            self.busy_turn = None
            self._cancel = None
            self.main.status.state = "loading model…" if self.model_state == "loading" else ""
            self.refresh_bindings()

    def _restore_prompt(self, question: str) -> None:
        """Put the question back, so it can be edited and sent again."""
        prompt = self.main.prompt
        if not prompt.value.strip():
            prompt.value = question
            prompt.cursor_position = len(question)
        prompt.focus()

    def _save_chat(self) -> None:
        try:
            self.chats.save(self.chat)
        except OSError as exc:
            self.notify(f"could not save the chat: {exc.strerror}", severity="error")

    def _show_sources(self, view: TurnView) -> None:
        sources = view.record.sources
        n = self.main.conversation.turns.index(view) + 1
        title = f"Sources of answer {n}" if sources else f"Answer {n}: no sources"
        self.main.sources.show(sources, title, view.record.evidence)

    @on(TurnView.Selected)
    def _turn_clicked(self, event: TurnView.Selected) -> None:
        self.main.conversation.select(event.view)
        self._show_sources(event.view)

    # ---- actions ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel":
            return self.busy_turn is not None  # Esc shows in the footer only while answering
        return True

    def action_cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()  # generation stops at the next token
            self.main.status.state = "cancelling…"

    def action_interrupt(self) -> None:
        if self.busy_turn is not None:
            self._quit_armed_at = None
            self.action_cancel()
            self.notify("Stopping the answer.")
            return
        now = time.monotonic()
        if self._quit_armed_at is not None and now - self._quit_armed_at <= QUIT_PRESS_WINDOW_S:
            self.exit()
            return
        self._quit_armed_at = now
        self.notify("Press Ctrl+C again to quit (or Ctrl+Q).", title="Quit?", timeout=QUIT_PRESS_WINDOW_S)

    async def action_new_chat(self) -> None:
        self.action_cancel()
        self.chat = Chat.new(self.resources.settings.store.collection)
        self.session = self._new_session()
        await self.main.conversation.clear()
        self.main.sources.show([], "Sources")
        self.main.prompt.value = ""
        self.main.prompt.focus()

    def action_copy_answer(self) -> None:
        view = self.main.conversation.selected
        if view is None or not view.done or not view.record.answer:
            self.notify("No answer to copy yet.", severity="warning")
            return
        self.copy_to_clipboard(view.record.answer)
        self.notify("Answer copied to the clipboard.")

    def action_select_answer(self, delta: int) -> None:
        view = self.main.conversation.step(delta)
        if view is not None:
            self._show_sources(view)

    def action_focus_sources(self) -> None:
        source_list = self.main.query_one(SourceList)
        if source_list.sources:
            source_list.focus()
        else:
            self.notify("The selected answer has no sources.", severity="warning")

    def action_focus_prompt(self) -> None:
        self.main.prompt.focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_sections()))

    def action_chats(self) -> None:
        self.push_screen(ChatsScreen(self.chats), self._chat_chosen)

    def action_collections(self) -> None:
        if self.busy_turn is not None:
            self.notify("Wait for the answer, or press Esc, before switching.", severity="warning")
            return
        try:
            collections = list_collections(self.resources)
        except LocalGPTError as exc:
            self.notify(str(exc), severity="error")
            return
        current = self.resources.settings.store.collection
        self.push_screen(CollectionsScreen(collections, current), self._collection_chosen)

    def action_ingest(self) -> None:
        if self.busy_turn is not None:
            self.notify("Wait for the answer, or press Esc, before ingesting.", severity="warning")
            return
        resources = self.resources

        def run(folder: Path, reporter: Reporter) -> Summary:
            return ingest_folder(resources, folder, reporter)

        self.push_screen(IngestScreen(run, resources.settings.store.collection))

    async def action_quit(self) -> None:
        if self._cancel is not None:
            self._cancel.set()  # else the exit waits for the generation thread to finish
        self.exit()

    # ---- chats and collections -------------------------------------------------------------------

    async def _chat_chosen(self, chat_id: str | None) -> None:
        if chat_id is not None:
            await self.open_chat(chat_id)

    async def open_chat(self, chat_id: str) -> None:
        try:
            chat = self.chats.load(chat_id)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.notify(f"cannot open that chat: {exc}", severity="error")
            return
        self.action_cancel()
        switch = chat.collection != self.resources.settings.store.collection
        if switch and valid_collection(chat.collection) is None:
            self._use_collection(chat.collection)
        self.chat = chat
        # Follow-ups continue from the saved turns, condensed against them like live ones.
        self.session = self._new_session(chat.history)
        conversation = self.main.conversation
        await conversation.clear()
        for record in chat.turns:
            self._next_turn += 1
            await conversation.add(self._next_turn, record, done=True)
        if conversation.selected is not None:
            self._show_sources(conversation.selected)
        self.main.prompt.focus()

    async def _collection_chosen(self, name: str | None) -> None:
        if name is None or name == self.resources.settings.store.collection:
            return
        self._use_collection(name)
        await self.action_new_chat()
        self.notify(f"Collection '{name}'.")

    def _use_collection(self, name: str) -> None:
        self.resources = self.models.for_collection(name)
        self.rag = RAG(self.resources)
        status = self.main.status
        status.collection = name
        status.files = status.chunks = None
        self._refresh_index(self.resources)

    def on_ingest_done(self, message: IngestDone) -> None:
        self._refresh_index(self.resources)
        summary = message.summary
        self.notify(
            f"{summary.files_total} files, {summary.chunks_total} chunks in '{summary.collection}'",
            title="Ingest done",
            severity="warning" if summary.skipped else "information",
        )

    # ---- help and the command palette ------------------------------------------------------------

    def help_sections(self) -> list[Section]:
        return help_sections(self.COMMAND_PALETTE_BINDING, self.app_keys())

    @classmethod
    def app_keys(cls) -> list[BindingType]:
        """Textual's app-wide keys, with ours in place of those we rebind (Ctrl+C)."""
        return app_keys(cls.BINDINGS)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if screen is self.main:
            yield from palette_commands(self)
