"""Saved chats: one JSON file per conversation in `data_dir/chats/`.

A chat keeps each turn's sources too, so a reopened chat shows its evidence without re-asking.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from localgpt.rag.answer import Answer
from localgpt.rag.evidence import Citation, Evidence
from localgpt.rag.sources import Source
from localgpt.settings.atomic import write_atomically

FORMAT_VERSION = 1
TITLE_CHARS = 60


@dataclass
class Turn:
    question: str
    answer: str = ""
    sources: list[Source] = field(default_factory=list)
    standalone_question: str | None = None
    abstained: bool = False
    cancelled: bool = False
    model: str = ""
    evidence: list[Evidence] = field(default_factory=list)  # the quotes behind the answer
    citations: list[Citation] = field(default_factory=list)  # one per sentence shown

    @classmethod
    def from_answer(cls, answer: Answer) -> Turn:
        return cls(
            question=answer.question,
            answer=answer.answer,
            sources=list(answer.sources),
            standalone_question=answer.standalone_question,
            abstained=answer.abstained,
            cancelled=answer.cancelled,
            model=answer.model,
            evidence=list(answer.evidence),
            citations=list(answer.citations),
        )

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["sources"] = [asdict(s) for s in self.sources]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        sources = [Source(**s) for s in data.get("sources", [])]
        evidence = [Evidence(**e) for e in data.get("evidence", [])]
        citations = [Citation(**c) for c in data.get("citations", [])]
        nested = ("sources", "evidence", "citations")
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k not in nested}
        return cls(**fields, sources=sources, evidence=evidence, citations=citations)


@dataclass
class Chat:
    id: str
    collection: str
    created: str
    turns: list[Turn] = field(default_factory=list)

    @classmethod
    def new(cls, collection: str) -> Chat:
        now = datetime.now()
        # Sortable by time, and unique even when two chats start in the same second.
        chat_id = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
        return cls(chat_id, collection, now.isoformat(timespec="seconds"))

    @property
    def title(self) -> str:
        first = self.turns[0].question if self.turns else "(empty chat)"
        first = " ".join(first.split())
        return first if len(first) <= TITLE_CHARS else first[: TITLE_CHARS - 1] + "…"

    @property
    def history(self) -> list[tuple[str, str]]:
        """The (question, answer) pairs a ChatSession continues from; cancelled turns don't count."""
        return [(t.question, t.answer) for t in self.turns if not t.cancelled]

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "id": self.id,
            "collection": self.collection,
            "created": self.created,
            "title": self.title,
            "turns": [t.as_dict() for t in self.turns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chat:
        turns = [Turn.from_dict(t) for t in data.get("turns", [])]
        return cls(str(data["id"]), str(data["collection"]), str(data["created"]), turns)


@dataclass(frozen=True)
class ChatInfo:
    """What the chat list shows, read without keeping every chat in memory."""

    id: str
    title: str
    collection: str
    created: str
    turns: int


class ChatStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, chat_id: str) -> Path:
        return self.folder / f"{chat_id}.json"

    def save(self, chat: Chat) -> Path:
        """Write atomically: a crash mid-save leaves the previous version, never half a file."""
        target = self.path(chat.id)
        write_atomically(target, json.dumps(chat.as_dict(), ensure_ascii=False, indent=1))
        return target

    def load(self, chat_id: str) -> Chat:
        return Chat.from_dict(json.loads(self.path(chat_id).read_text(encoding="utf-8")))

    def list(self) -> list[ChatInfo]:
        """Newest first. A file that can't be read is left out rather than breaking the list."""
        if not self.folder.is_dir():
            return []
        infos = []
        for path in self.folder.glob("*.json"):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                infos.append(
                    ChatInfo(
                        str(data["id"]),
                        str(data.get("title", "")),
                        str(data.get("collection", "")),
                        str(data.get("created", "")),
                        len(data.get("turns", [])),
                    )
                )
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return sorted(infos, key=lambda info: info.id, reverse=True)

    def delete(self, chat_id: str) -> None:
        self.path(chat_id).unlink(missing_ok=True)
