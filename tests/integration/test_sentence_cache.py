"""A warm process embeds each answer/source sentence once (localgpt/embed/cache.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from localgpt.embed.cache import CachedEncoder
from localgpt.embed.registry import load_embedder
from localgpt.settings.config import EmbeddingsSettings


def test_cached_vectors_are_the_embedders_own_and_each_text_is_encoded_once(embedder_cache: Path) -> None:
    embedder = load_embedder(EmbeddingsSettings(), embedder_cache, embedder_cache / "models")
    encoded: list[list[str]] = []

    def encode(texts: list[str]) -> np.ndarray:
        encoded.append(list(texts))
        return embedder.encode(texts)

    cache = CachedEncoder(encode, max_entries=3)
    tank = "The water tank holds 1.8 litres."
    first = [tank, "Descale every two months.", tank]
    got = cache(first)
    assert encoded == [["The water tank holds 1.8 litres.", "Descale every two months."]]
    np.testing.assert_allclose(got, embedder.encode(first), atol=1e-6)

    again = cache(["Descale every two months.", "The grinder has 12 settings."])
    assert encoded[1:] == [["The grinder has 12 settings."]]  # only the new sentence
    np.testing.assert_allclose(again[0], got[1], atol=1e-6)

    cache(["Warranty: two years.", "Red light: the tank is empty."])  # past max_entries: oldest go
    cache(["The water tank holds 1.8 litres."])
    assert encoded[-1] == ["The water tank holds 1.8 litres."]
    assert cache([]).shape[0] == 0
