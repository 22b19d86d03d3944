"""Messages that worker threads post to the app.

Workers never touch widgets: they post one of these (`post_message` is thread-safe) and the
handler, running on the app's event loop, updates the screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from ingest.pipeline import Summary
    from localgpt.rag.answer import Answer
    from localgpt.rag.sources import Source


class ModelReady(Message):
    """The LLM is loaded (once per app run)."""

    def __init__(self, name: str, gpu_layers: int, notes: list[str]) -> None:
        super().__init__()
        self.name = name
        self.gpu_layers = gpu_layers
        self.notes = notes


class ModelFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class IndexCounted(Message):
    """How much a collection holds; `error` says why it can't be used (an empty one can)."""

    def __init__(self, collection: str, files: int, chunks: int, error: str | None = None) -> None:
        super().__init__()
        self.collection = collection
        self.files = files
        self.chunks = chunks
        self.error = error


class SourcesFound(Message):
    def __init__(self, turn_id: int, sources: list[Source]) -> None:
        super().__init__()
        self.turn_id = turn_id
        self.sources = sources


class TokenArrived(Message):
    def __init__(self, turn_id: int, piece: str) -> None:
        super().__init__()
        self.turn_id = turn_id
        self.piece = piece


class AnswerDone(Message):
    def __init__(self, turn_id: int, answer: Answer) -> None:
        super().__init__()
        self.turn_id = turn_id
        self.answer = answer


class AnswerFailed(Message):
    def __init__(self, turn_id: int, error: str) -> None:
        super().__init__()
        self.turn_id = turn_id
        self.error = error


class IngestPlanned(Message):
    def __init__(self, total: int, description: str) -> None:
        super().__init__()
        self.total = total
        self.description = description


class IngestProgress(Message):
    def __init__(self, line: str, advance: int) -> None:
        super().__init__()
        self.line = line
        self.advance = advance


class IngestDone(Message):
    def __init__(self, summary: Summary) -> None:
        super().__init__()
        self.summary = summary


class IngestFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class OpenSource(Message):
    """Open a source's file outside the app, in the pager or the editor."""

    def __init__(self, source: Source, kind: str) -> None:
        super().__init__()
        self.source = source
        self.kind = kind


class PreviewSource(Message):
    """Preview a source; `quotes` are (start, end) spans of its text to highlight (the evidence)."""

    def __init__(self, source: Source, quotes: Sequence[tuple[int, int]] = ()) -> None:
        super().__init__()
        self.source = source
        self.quotes = list(quotes)
