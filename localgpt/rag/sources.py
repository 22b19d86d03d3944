"""How a retrieved chunk is shown: its label and the `Source` view in answers.

Inside the answer path a chunk is a LangChain `Document` from the retriever, with `id`, `source`,
`page`, `heading` and the relevance `score` in its metadata. `Source` is only its view in an
`Answer` (JSON, stderr, the TUI), made once with the number the model saw it under.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localgpt.settings.display import shown

if TYPE_CHECKING:
    from langchain_core.documents import Document


def label(metadata: dict[str, Any]) -> str:
    """ "docs/manual.pdf p.2", or the heading path where there is no page."""
    page, heading = metadata.get("page"), metadata.get("heading")
    where = f" p.{page}" if page else (f" § {heading}" if heading else "")
    return f"{shown(str(metadata.get('source', '')))}{where}"


@dataclass(frozen=True)
class Source:
    n: int
    source: str
    page: int | None
    score: float
    chunk_id: str
    text: str
    heading: str | None = None

    @property
    def label(self) -> str:
        return label({"source": self.source, "page": self.page, "heading": self.heading})

    @classmethod
    def from_document(cls, n: int, doc: Document) -> Source:
        meta = doc.metadata
        page = meta.get("page")
        return cls(
            n=n,
            source=str(meta.get("source", "")),
            page=int(page) if isinstance(page, int | float) else None,
            score=float(meta.get("score", 0.0)),
            chunk_id=str(meta.get("id", "")),
            text=doc.page_content,
            heading=meta.get("heading"),
        )
