"""The one interface every chat-model backend implements.

A backend renders messages into its prompt format, counts tokens for the prompt budget, and streams
a completion that can be cancelled between two tokens. Backends subclass `ChatModel` and register
in `localgpt.llm.registry`; the answer path (localgpt.rag) only ever sees this class.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from localgpt.llm.chat_format import Message, Rendered

if TYPE_CHECKING:
    from localgpt.settings.config import LLMSettings


@dataclass
class Completion:
    text: str = ""
    prompt_tokens: int | None = None  # None: the backend could not count them
    completion_tokens: int = 0
    finish_reason: str = ""
    cancelled: bool = False


@dataclass
class LoadReport:
    """What the loader did, so doctor, the status bar and `--json` can say it."""

    gpu_layers: int = 0
    gpu_supported: bool = False
    notes: list[str] = field(default_factory=list)


# (piece, finish_reason) pairs, as a backend streams them.
Events = Iterator[tuple[str, str | None]]


class ChatModel(ABC):
    """A loaded chat model. One generation at a time: `stream` holds `lock`.

    Subclasses set `name`, `n_ctx`, `chat_format`, `report` and `path` (None when the model lives
    on a server), and raise `localgpt.errors.ModelError` (can't load or generate) or
    `localgpt.errors.NetworkError` (a server can't be reached).
    """

    settings: LLMSettings
    name: str
    n_ctx: int
    chat_format: str
    report: LoadReport
    path: Path | None = None
    # False: `count` is an estimate (see the backend's docstring), not the model's own tokenizer.
    counts_exactly: bool = True

    def __init__(self) -> None:
        self.lock = threading.Lock()

    @abstractmethod
    def render(self, messages: Sequence[Message]) -> Rendered:
        """The prompt text the model reads for these messages, and the template's stop strings."""

    @abstractmethod
    def count(self, text: str) -> int:
        """Tokens in `text` (a rendered prompt); never fewer than the model will see."""

    @abstractmethod
    def _events(
        self,
        messages: Sequence[Message],
        prompt: str,
        stop: Sequence[str],
        max_tokens: int,
        temperature: float,
    ) -> AbstractContextManager[Events]:
        """The backend's stream of (piece, finish_reason); closed when the caller stops reading."""

    def prompt_tokens(self, prompt: str, streamed: Completion) -> int | None:
        """The prompt's token count to report once generation is done."""
        return self.count(prompt) if self.counts_exactly else streamed.prompt_tokens

    def stream(
        self,
        messages: Sequence[Message],
        prompt: str,
        stop: Sequence[str],
        max_tokens: int,
        on_token: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        temperature: float | None = None,
    ) -> Completion:
        """Generate from `prompt` (a rendering of `messages`), calling `on_token` for each piece;
        `cancel` stops it between two tokens."""
        result = Completion()
        temp = self.settings.temperature if temperature is None else temperature
        with self.lock, self._events(messages, prompt, stop, max_tokens, temp) as events:
            drain(events, result, on_token, cancel)
        result.prompt_tokens = self.prompt_tokens(prompt, result)
        return result


def drain(
    events: Iterable[tuple[str, str | None]],
    result: Completion,
    on_token: Callable[[str], None] | None,
    cancel: threading.Event | None,
) -> None:
    """Collect streamed (piece, finish_reason) events into `result`; stop between two if cancelled."""
    pieces: list[str] = []
    for piece, finish in events:
        if piece:
            result.completion_tokens += 1
            pieces.append(piece)
            if on_token:
                on_token(piece)
        if finish:
            result.finish_reason = finish
        if cancel is not None and cancel.is_set():
            result.cancelled = True
            result.finish_reason = "cancelled"
            break
    result.text = "".join(pieces)
