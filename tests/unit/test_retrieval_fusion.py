"""Retrieval building blocks: reciprocal rank fusion, MMR, and `--source` glob matching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from localgpt.rag.retrieval import match_sources, mmr, rrf


def test_rrf_sums_weighted_reciprocal_ranks() -> None:
    vector = (["a", "b", "c"], 1.0)
    keyword = (["c", "a", "d"], 0.5)
    fused = rrf([vector, keyword], k=60)
    # rank r (1-based) contributes weight / (k + r):
    assert fused == pytest.approx(
        {
            "a": 1 / 61 + 0.5 / 62,  # 1st by vector, 2nd by keyword: 0.016393 + 0.008065 = 0.024458
            "b": 1 / 62,  # 2nd by vector only:                               0.016129
            "c": 1 / 63 + 0.5 / 61,  # 3rd by vector, 1st by keyword: 0.015873 + 0.008197 = 0.024070
            "d": 0.5 / 63,  # 3rd by keyword only:                            0.007937
        }
    )
    assert sorted(fused, key=lambda i: -fused[i]) == ["a", "c", "b", "d"]


def test_rrf_edge_cases() -> None:
    assert rrf([], k=60) == {}
    assert rrf([([], 1.0)], k=60) == {}
    # A small k makes the top rank count for more: 1/(1+1) vs 1/(1+2).
    assert rrf([(["x", "y"], 1.0)], k=1) == pytest.approx({"x": 0.5, "y": 1 / 3})
    # Equal weights, mirrored rankings: a tie.
    tie = rrf([(["x", "y"], 1.0), (["y", "x"], 1.0)], k=60)
    assert tie["x"] == pytest.approx(tie["y"])
    # Weight 0 switches a ranking off (but its ids still appear, with nothing added).
    assert rrf([(["x"], 1.0), (["y"], 0.0)], k=60) == pytest.approx({"x": 1 / 61, "y": 0.0})


def unit(*v: float) -> np.ndarray:
    a = np.asarray(v, dtype=np.float32)
    return a / np.linalg.norm(a)


def test_mmr_prefers_diverse_vectors_over_near_duplicates() -> None:
    query = unit(1, 1, 0)
    vectors = np.stack(
        [
            unit(1, 0.10, 0),  # 0: relevance 0.774
            unit(1, 0.12, 0),  # 1: relevance 0.786, the most relevant; a near-duplicate of 0 (cos 0.9998)
            unit(0.05, 1, 0),  # 2: relevance 0.742, a different direction (cos 0.15-0.17 to 0 and 1)
            unit(0, 0, 1),  # 3: relevance 0, orthogonal to everything
        ]
    )
    # lambda 1: pure relevance, so the near-duplicate comes second.
    assert mmr(query, vectors, 3, 1.0) == [1, 0, 2]
    # lambda 0.5: after 1, score = 0.5 * relevance - 0.5 * max similarity to the chosen:
    #   0: 0.5 * 0.774 - 0.5 * 0.9998 = -0.113;  2: 0.5 * 0.742 - 0.5 * 0.17 = 0.286;  3: 0 - 0 = 0
    # so 2; then 0 (-0.113) vs 3 (0): 3. The near-duplicate is left out.
    assert mmr(query, vectors, 3, 0.5) == [1, 2, 3]
    assert mmr(query, vectors, 2, 0.5) == [1, 2]


def test_mmr_edge_cases() -> None:
    query = unit(1, 0)
    vectors = np.stack([unit(1, 0), unit(0, 1)])
    assert mmr(query, vectors, 10, 0.5) == [0, 1]  # k above the count: each vector once
    assert mmr(query, np.zeros((0, 2), dtype=np.float32), 3, 0.5) == []
    assert mmr(query, vectors, 0, 0.5) == []


@pytest.fixture
def sources(isolated: Path) -> list[str]:
    docs = isolated / "docs"
    return [
        str(docs / "aurora-k7-manual.pdf"),
        str(docs / "spare-parts.csv"),
        str(docs / "sub" / "old-parts.csv"),
        "/elsewhere/notes/warranty.md",
    ]


def test_match_sources_by_file_name(sources: list[str]) -> None:
    assert match_sources(sources, "*.csv") == sources[1:3]
    assert match_sources(sources, "spare-parts.csv") == [sources[1]]
    assert match_sources(sources, "*parts*") == sources[1:3]
    assert match_sources(sources, "aurora-k7-manual.pd?") == [sources[0]]
    assert match_sources(sources, "[sw]*") == [sources[1], sources[3]]
    assert match_sources(sources, "*.docx") == []


def test_match_sources_by_relative_and_full_path(sources: list[str], isolated: Path) -> None:
    # Relative to the working directory, as a user types it.
    assert match_sources(sources, "docs/*.pdf") == [sources[0]]
    assert match_sources(sources, "docs/sub/*") == [sources[2]]
    assert match_sources(sources, "docs/spare-parts.csv") == [sources[1]]
    # fnmatch's * crosses folders: everything under docs/.
    assert match_sources(sources, "docs/*") == sources[:3]
    # Full paths, exact or with a glob.
    assert match_sources(sources, "/elsewhere/notes/warranty.md") == [sources[3]]
    assert match_sources(sources, "/elsewhere/*") == [sources[3]]
    assert match_sources(sources, f"{isolated}/docs/*.csv") == sources[1:3]
    # A bare folder name is not a glob for what is inside it.
    assert match_sources(sources, "notes") == []


def test_match_sources_is_case_sensitive_on_posix(sources: list[str]) -> None:
    assert match_sources(sources, "*.CSV") == ([] if Path("A") != Path("a") else sources[1:3])
