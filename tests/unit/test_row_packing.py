"""Table rows packed into token-sized chunks under their header (ingest.rows via the splitter)."""

from __future__ import annotations

import pathlib

from langchain_core.documents import Document

from ingest.loaders import load_file
from ingest.splitter import Splitter
from localgpt.rag.answer import Source
from tests.conftest import DATA


def words(text: str) -> int:
    """A stand-in tokenizer: one token a word or punctuation-free field."""
    return len(text.replace(",", " ").split())


def row_doc(n: int, text: str, columns: str = "name,age,city", sheet: str | None = None) -> Document:
    meta: dict[str, object] = {"source": "/t.csv", "kind": "csv", "row": n, "columns": columns}
    if sheet:
        meta["sheet"] = sheet
    return Document(page_content=text, metadata=meta)


def test_rows_share_a_chunk_under_the_header_until_the_budget() -> None:
    # Header 3 tokens + 3 tokens a row: a 12-token budget holds 3 rows.
    docs = [row_doc(n, f"p{n},{n},x") for n in range(1, 8)]
    chunks = Splitter(words, chunk_size=12, chunk_overlap=0).split(docs, "sha")
    assert [c.text for c in chunks] == [
        "name,age,city\np1,1,x\np2,2,x\np3,3,x",
        "name,age,city\np4,4,x\np5,5,x\np6,6,x",
        "name,age,city\np7,7,x",
    ]
    assert [(c.metadata["row_start"], c.metadata["row_end"]) for c in chunks] == [(1, 3), (4, 6), (7, 7)]
    assert all("row" not in c.metadata and "columns" not in c.metadata for c in chunks)
    assert [c.metadata["chunk"] for c in chunks] == [0, 1, 2]


def test_a_new_sheet_or_header_starts_a_new_chunk_and_text_between_flushes() -> None:
    docs = [
        row_doc(1, "a,1,x", sheet="One"),
        row_doc(2, "b,2,y", sheet="One"),
        row_doc(1, "c,3,z", sheet="Two"),
        Document(page_content="A note after the table.", metadata={"source": "/t.csv", "kind": "csv"}),
        row_doc(2, "d,4,w", sheet="Two"),
    ]
    chunks = Splitter(words, chunk_size=100, chunk_overlap=0).split(docs, "sha")
    assert [
        (c.metadata.get("sheet"), c.metadata.get("row_start"), c.metadata.get("row_end")) for c in chunks
    ] == [
        ("One", 1, 2),
        ("Two", 1, 1),
        (None, None, None),
        ("Two", 2, 2),
    ]


def test_a_row_longer_than_a_chunk_is_split_and_keeps_its_number() -> None:
    long_row = ",".join(f"word{n}" for n in range(40))
    docs = [row_doc(1, "a,1,x"), row_doc(2, long_row), row_doc(3, "c,3,z")]
    chunks = Splitter(words, chunk_size=12, chunk_overlap=0).split(docs, "sha")
    spans = [(c.metadata["row_start"], c.metadata["row_end"]) for c in chunks]
    assert spans[0] == (1, 1) and spans[-1] == (3, 3)
    assert set(spans[1:-1]) == {(2, 2)} and len(spans) > 3
    assert all(words(c.text) <= 12 for c in chunks)


def test_a_real_csv_becomes_one_chunk_with_its_row_range() -> None:
    [chunk] = Splitter(words, chunk_size=200, chunk_overlap=0).split(load_file(DATA / "people.csv"), "sha")
    assert chunk.text == 'name,age,city\nAlice,30,Lyon\nBob,25,Graz\nCarol,41,"Oslo, Norway"'
    assert (chunk.metadata["row_start"], chunk.metadata["row_end"]) == (1, 4)


def test_the_source_label_shows_rows_where_a_pdf_shows_its_page(tmp_path: pathlib.Path) -> None:
    rows = Source(
        n=1, source=str(tmp_path / "orders.csv"), page=None, score=0.5, chunk_id="c", text="t", rows="12-40"
    )
    page = Source(n=2, source=str(tmp_path / "m.pdf"), page=3, score=0.5, chunk_id="d", text="t")
    assert rows.label.endswith("orders.csv rows 12-40")
    assert page.label.endswith("m.pdf p.3")
