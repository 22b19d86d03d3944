"""The BM25 keyword index: the tokenizer (CJK bigrams), search, coverage, and staying in step."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from localgpt.index.keyword import KeywordIndex, fresh_index, keyword_text, tokenize
from localgpt.settings.layout import DataDir

ENTRIES: list[tuple[str, str, dict[str, Any]]] = [
    ("tank", "The water tank holds 1.8 litres.", {"source": "/d/aurora-k7-manual.pdf", "page": 2}),
    ("e17", "Error code E17 means the pump overheated.", {"source": "/d/aurora-k7-manual.pdf", "page": 3}),
    ("warranty", "The warranty lasts 27 months.", {"source": "/d/warranty.md", "heading": "Warranty period"}),
    ("zh", "预热时间为 45 秒。指示灯缓慢闪烁。", {"source": "/d/zh-quickstart.md"}),
    ("parts", "Brew group gasket LA-K7-114 costs 12.90 EUR.", {"source": "/d/spare-parts.csv"}),
]


@pytest.fixture(scope="module")
def index() -> KeywordIndex:
    return KeywordIndex.build(ENTRIES, generation=1)


def test_chinese_is_split_into_overlapping_bigrams() -> None:
    assert tokenize("预热时间") == ["预热", "热时", "时间"]
    assert tokenize("秒") == ["秒"]  # a lone character stays a token
    assert tokenize("Aurora K7 的预热时间是多少？") == [
        "aurora", "k7", "的预", "预热", "热时", "时间", "间是", "是多", "多少",
    ]  # fmt: skip


def test_english_words_are_lowered_without_stopwords_and_compounds_split() -> None:
    assert tokenize("How much water does the Tank hold?") == ["much", "water", "tank", "hold"]
    assert tokenize("sqlite3_blob_read") == ["sqlite3_blob_read", "sqlite3", "blob", "read"]
    assert tokenize("LA-K7-114") == ["la-k7-114", "la", "k7", "114"]
    assert tokenize("1.8 litres") == ["1.8", "1", "8", "litres"]
    assert tokenize("the of and") == []


def test_keyword_text_adds_file_name_title_and_heading() -> None:
    text = keyword_text("body", {"source": "/d/spare_parts-list.csv", "title": "T", "heading": "H"})
    assert text == "spare parts list T H\nbody"


def test_search_ranks_the_matching_chunk_first(index: KeywordIndex) -> None:
    assert index.search("What does E17 mean?", 3)[0][0] == "e17"
    assert index.search("How long is the warranty?", 3)[0][0] == "warranty"
    assert index.search("gasket price", 3)[0][0] == "parts"
    assert index.search("LA-K7-114", 3)[0][0] == "parts"
    # The file name is indexed too: "manual" is only in the PDF's name.
    assert {cid for cid, _ in index.search("manual", 5)} == {"tank", "e17"}


def test_search_finds_chinese_with_a_chinese_question(index: KeywordIndex) -> None:
    hits = index.search("Aurora K7 的预热时间是多少？", 5)
    assert hits[0][0] == "zh"
    assert all(score > 0 for _, score in hits)


def test_search_returns_only_positive_scores_and_honours_allowed(index: KeywordIndex) -> None:
    assert index.search("capital of Australia", 5) == []
    assert index.search("", 5) == []
    hits = index.search("water tank pump", 5)
    assert [cid for cid, _ in hits] == ["tank", "e17"]  # two query terms beat one
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)
    assert [cid for cid, _ in index.search("water tank pump", 5, allowed={"e17"})] == ["e17"]
    assert index.search("water tank", 5, allowed={"warranty"}) == []
    assert len(index.search("water tank pump", 1)) == 1


def test_coverage_is_the_idf_weighted_share_of_query_terms(index: KeywordIndex) -> None:
    assert index.coverage("water tank", "The water tank holds 1.8 litres.") == pytest.approx(1.0)
    assert index.coverage("water tank", "Nothing relevant here.") == 0.0
    assert index.coverage("the of", "anything") == 0.0  # stopwords only: no terms
    # Half the terms, weighted by IDF: "water" (in 1 of 5 chunks) and "warranty" (1 of 5) weigh the same.
    assert index.coverage("water warranty", "water only") == pytest.approx(0.5)
    # A term in more chunks weighs less: "k7" is in 3 of the 5 (two PDF file names and a part
    # number), "gasket" in 1. IDF is BM25's: ln(1 + (n - df + 0.5) / (df + 0.5)).
    idf_k7, idf_gasket = math.log(1 + 2.5 / 3.5), math.log(1 + 4.5 / 1.5)
    expected = idf_gasket / (idf_k7 + idf_gasket)  # ~0.72: the rare term found counts for more
    assert index.coverage("k7 gasket", "gasket") == pytest.approx(expected)
    assert index.coverage("k7 gasket", "k7") == pytest.approx(1 - expected)
    assert index.coverage("预热时间", "预热时间为 45 秒") == pytest.approx(1.0)


def test_save_load_round_trip_and_fresh_index(tmp_path: Path, index: KeywordIndex) -> None:
    folder = DataDir(tmp_path).keyword("documents")
    assert folder == tmp_path / "keyword" / "documents"
    index.save(folder)
    loaded = KeywordIndex.load(folder)
    assert loaded is not None
    assert loaded.ids == index.ids and loaded.generation == 1
    assert loaded.search("E17", 1) == index.search("E17", 1)
    assert KeywordIndex.load(tmp_path / "missing") is None

    calls: list[int] = []

    def entries() -> list[tuple[str, str, dict[str, Any]]]:
        calls.append(1)
        return ENTRIES[:2]

    # In step (same generation and count): the saved index, no rebuild.
    assert fresh_index(folder, 1, len(ENTRIES), entries).ids == index.ids and calls == []
    # Behind the collection (new generation): rebuilt from the entries, and saved.
    rebuilt = fresh_index(folder, 2, 2, entries)
    assert rebuilt.ids == ["tank", "e17"] and calls == [1]
    again = KeywordIndex.load(folder)
    assert again is not None and again.generation == 2
    # A count mismatch also rebuilds.
    fresh_index(folder, 2, 5, entries)
    assert calls == [1, 1]


def test_an_empty_index_answers_nothing(tmp_path: Path) -> None:
    empty = KeywordIndex.build([], generation=0)
    assert empty.ids == []
    assert empty.search("water", 5) == []
