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
    """The file and where in it: a page ("p.2"), table rows ("rows 12-40"), or a heading path."""
    page, heading, rows = metadata.get("page"), metadata.get("heading"), rows_of(metadata)
    if page:
        where = f" p.{page}"
    elif rows:
        where = f" rows {rows}"
    else:
        where = f" § {heading}" if heading else ""
    return f"{shown(str(metadata.get('source', '')))}{where}"


def rows_of(metadata: dict[str, Any]) -> str | None:
    """ "12-40": the table rows a packed CSV/xlsx chunk holds."""
    start, end = metadata.get("row_start"), metadata.get("row_end")
    if not isinstance(start, int) or not isinstance(end, int):
        return None
    return str(start) if start == end else f"{start}-{end}"


@dataclass(frozen=True)
class Source:
    n: int
    source: str
    page: int | None
    score: float
    chunk_id: str
    text: str
    heading: str | None = None
    rows: str | None = None  # "12-40": the table rows a packed CSV/xlsx chunk holds

    @property
    def label(self) -> str:
        where: dict[str, Any] = {"source": self.source, "page": self.page, "heading": self.heading}
        if self.rows:
            start, _, end = self.rows.partition("-")
            where.update(row_start=int(start), row_end=int(end or start))
        return label(where)

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
            rows=rows_of(meta),
        )
