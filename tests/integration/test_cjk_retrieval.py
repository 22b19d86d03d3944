"""A Chinese question with the English-only bundled embedder is ranked by the keyword index.

Real Chroma over examples/docs (the session's shared index) and the real bundled embedder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chromadb.api.client import SharedSystemClient

from localgpt.rag.resources import Resources
from localgpt.rag.retrieval import vector_weight
from localgpt.settings.config import Settings

ZH_Q = "Aurora K7 的预热时间是多少？指示灯怎么闪？"
EN_Q = "How much water does the Aurora K7 water tank hold?"


@pytest.fixture(scope="module")
def res(indexed_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Resources]:
    settings = Settings(
        paths={"data_dir": str(indexed_data_dir), "models_dir": str(tmp_path_factory.mktemp("m"))}
    )
    yield Resources(settings)
    SharedSystemClient.clear_system_cache()


def test_the_bundled_embedder_is_english_only_and_steps_back_on_chinese(res: Resources) -> None:
    retrieval = res.settings.retrieval
    assert res.embedder.english_only is True
    assert retrieval.cjk_vector_weight == 0.0
    assert vector_weight(ZH_Q, res.embedder, retrieval) == 0.0
    assert vector_weight(EN_Q, res.embedder, retrieval) == 1.0
    assert vector_weight(ZH_Q, res.embedder, retrieval.model_copy(update={"mode": "vector"})) == 1.0


def test_a_chinese_question_is_ranked_by_its_keywords(res: Resources) -> None:
    retrieval = res.settings.retrieval
    keyword = res.keyword_index()
    by_keywords = [cid for cid, _ in keyword.search(ZH_Q, retrieval.fetch_k)]
    assert by_keywords
    docs = res.retriever(k=4).invoke(ZH_Q)
    got = [d.metadata["id"] for d in docs]
    assert got == by_keywords[: len(got)]
    assert Path(docs[0].metadata["source"]).name == "zh-quickstart.md"
    assert docs[0].metadata["vector_score"] > 0  # the cosine is still computed, for the score
