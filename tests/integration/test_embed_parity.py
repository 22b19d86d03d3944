"""The in-process ONNX int8 encoder agrees with sentence-transformers on torch, on real text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from localgpt.embed.onnx import OnnxEmbedder
from localgpt.embed.sentence_transformers import SentenceTransformersEmbedder
from localgpt.models.files import resolve_embedder
from localgpt.settings.config import EmbeddingsSettings


def real_chunks(n: int) -> list[str]:
    """Paragraphs of the Python reference that CPython ships (pydoc_data), prose and code alike."""
    from pydoc_data.topics import topics

    paragraphs = [p.strip() for text in topics.values() for p in text.split("\n\n")]
    return [p for p in paragraphs if len(p) > 200][:n]


@pytest.mark.parametrize("backend", ["onnx-int8", "onnx"])
def test_onnx_vectors_match_sentence_transformers(tmp_path: Path, embedder_cache: Path, backend: str) -> None:
    name, source = resolve_embedder("auto")
    chunks = real_chunks(50)
    assert len(chunks) == 50
    onnx = OnnxEmbedder(name, source, EmbeddingsSettings(backend=backend), embedder_cache)
    torch = SentenceTransformersEmbedder(name, source, EmbeddingsSettings(backend="torch"), tmp_path)
    a, b = onnx.encode(chunks), torch.encode(chunks)
    assert a.shape == b.shape == (50, onnx.dimension)
    cosine = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    print(f"\n{backend}: cosine to torch min {cosine.min():.4f}, mean {cosine.mean():.4f}")
    assert cosine.min() >= 0.98
    assert onnx.count_tokens(chunks[0]) == torch.count_tokens(chunks[0])


def test_the_kept_optimised_graph_gives_the_same_vectors_and_a_damaged_one_is_made_again(
    tmp_path: Path, embedder_cache: Path
) -> None:
    import shutil

    import onnxruntime as ort

    name, source = resolve_embedder("auto")
    cache = tmp_path / "embedders"
    shutil.copytree(embedder_cache, cache)  # a private copy: this test damages a file in it
    for kept in cache.rglob("*.ort-*.onnx"):
        kept.unlink()
    settings = EmbeddingsSettings(backend="onnx-int8")
    chunks = real_chunks(20)
    first = OnnxEmbedder(name, source, settings, cache).encode(chunks)  # optimises and keeps
    (kept,) = cache.rglob(f"*.ort-{ort.__version__}.onnx")
    again = OnnxEmbedder(name, source, settings, cache).encode(chunks)  # loads the kept graph
    kept.write_bytes(b"not a model")
    remade = OnnxEmbedder(name, source, settings, cache).encode(chunks)
    assert np.array_equal(first, again) and np.array_equal(first, remade)
    assert kept.stat().st_size > 1000  # made again
    assert not list(cache.rglob("*.partial"))


def test_an_int8_sentence_vector_does_not_depend_on_the_texts_encoded_with_it(embedder_cache: Path) -> None:
    """Dynamic quantization scales a batch's activations together: batched, one sentence's
    vector moved with its neighbours, and an extracted answer with it. `encode_each` (what
    scores sentences) gives each text its own vector."""
    name, source = resolve_embedder("auto")
    onnx = OnnxEmbedder(name, source, EmbeddingsSettings(backend="onnx-int8"), embedder_cache)
    chunks = real_chunks(12)
    alone = np.vstack([onnx.encode_each([c]) for c in chunks])
    together = onnx.encode_each(chunks)
    shuffled = onnx.encode_each(chunks[::-1])[::-1]
    assert np.array_equal(alone, together) and np.array_equal(alone, shuffled)
    assert not np.array_equal(alone, onnx.encode(chunks))  # why: batches of 32 differ
