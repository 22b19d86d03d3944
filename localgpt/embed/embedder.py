"""The sentence-transformers embedder, as a LangChain `Embeddings`.

The default backend is a dynamically quantized int8 ONNX export of the model: on a laptop CPU it
embeds about 3x faster than torch, with cosine >= 0.985 to the torch vectors. The export is made
once, offline, from the local model files and cached under the data dir.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from localgpt.embed.onnx import OnnxEncoder, UnsupportedExport
from localgpt.errors import ModelError
from localgpt.models.embedder_profile import resolve_profile

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from localgpt.settings.config import EmbeddingsSettings

QUANT_FILE = "model_qint8_{arch}.onnx"


def _quant_arch() -> str:
    """The ONNX Runtime quantization preset for this CPU."""
    machine = os.uname().machine.lower()
    if machine in ("arm64", "aarch64"):
        return "arm64"
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        flags = ""
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags:
        return "avx512"
    return "avx2"


class Embedder(Embeddings):
    """Batched, normalised sentence embeddings. Load once per process and share.

    The model's query and passage prefixes (from its catalogue entry) are added here, so every
    caller embeds questions with `embed_query` and chunks with `embed_documents`.
    """

    def __init__(self, settings: EmbeddingsSettings, cache_dir: Path, models_dir: Path | None = None) -> None:
        profile = resolve_profile(settings.model, models_dir)
        self.name, source = profile.name, profile.source
        self.source = source
        self.query_prefix = profile.query_prefix
        self.passage_prefix = profile.passage_prefix
        self.english_only = profile.english_only  # retrieval trusts it less on Chinese questions
        self.backend = settings.backend
        self.batch_size = settings.batch_size
        self._encoder: OnnxEncoder | None = None
        self._model: SentenceTransformer | None = None
        if settings.backend != "torch":
            self._encoder = _load_onnx_encoder(source, self.name, settings.backend, cache_dir)
        if self._encoder is not None:
            self.dimension = self._encoder.dimension
            self.max_tokens = self._encoder.max_tokens
        else:
            self._model = _load(source, self.name, settings, cache_dir)
            self.dimension = int(self._model.get_embedding_dimension() or 0)
            self.max_tokens = int(self._model.max_seq_length or 256)

    def count_tokens(self, text: str) -> int:
        if self._encoder is not None:
            return self._encoder.count_tokens(text)
        assert self._model is not None
        return len(self._model.tokenizer.encode(text, add_special_tokens=True, truncation=False))

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed([self.passage_prefix + t for t in texts] if self.passage_prefix else texts)

    def embed_query(self, text: str) -> list[float]:
        return self._embed([self.query_prefix + text])[0]

    def _embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        if self._encoder is not None:
            vectors = self._encoder.encode(texts, self.batch_size)
        else:
            assert self._model is not None
            # encode() sorts by length internally, so one call over many texts pads little.
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        result: list[list[float]] = vectors.tolist()
        return result


def _load_onnx_encoder(source: str, name: str, backend: str, cache_dir: Path) -> OnnxEncoder | None:
    """The export run by onnxruntime directly, or None when only sentence-transformers can run it."""
    try:
        folder = _onnx_folder(source, name, backend, cache_dir)
        config = json.loads((folder / "sentence_bert_config.json").read_text())
        return OnnxEncoder(folder, _onnx_file(backend), int(config.get("max_seq_length") or 256))
    except (UnsupportedExport, OSError, ValueError):
        return None
    except Exception as exc:
        raise ModelError(f"cannot load embedder '{name}': {type(exc).__name__}: {exc}") from exc


def _load(source: str, name: str, settings: EmbeddingsSettings, cache_dir: Path) -> SentenceTransformer:
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    from sentence_transformers import SentenceTransformer

    try:
        if settings.backend == "torch":
            return SentenceTransformer(source, device=settings.device, local_files_only=True)
        folder = _onnx_folder(source, name, settings.backend, cache_dir)
        kwargs: dict[str, Any] = {"file_name": _onnx_file(settings.backend)}
        return SentenceTransformer(
            str(folder), backend="onnx", model_kwargs=kwargs, device="cpu", local_files_only=True
        )
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"cannot load embedder '{name}' from {source}: {type(exc).__name__}: {exc}") from exc


def _onnx_file(backend: str) -> str:
    if backend == "onnx-int8":
        return "onnx/" + QUANT_FILE.format(arch=_quant_arch())
    return "onnx/model.onnx"


def _onnx_folder(source: str, name: str, backend: str, cache_dir: Path) -> Path:
    """Export (once) the ONNX model, and its int8 variant, into the cache."""
    folder = cache_dir / f"{name}-onnx"
    wanted = folder / _onnx_file(backend)
    if wanted.is_file():
        return folder
    from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

    staging = cache_dir / f".{name}-onnx.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    if (folder / "onnx" / "model.onnx").is_file():
        shutil.copytree(folder, staging)
        model = SentenceTransformer(str(staging), backend="onnx", device="cpu", local_files_only=True)
    else:
        model = SentenceTransformer(source, backend="onnx", device="cpu", local_files_only=True)
        model.save_pretrained(str(staging))
    if backend == "onnx-int8":
        export_dynamic_quantized_onnx_model(
            model, quantization_config=_quant_arch(), model_name_or_path=str(staging), push_to_hub=False
        )
    # An atomic swap: a concurrent process sees either no folder or a complete one.
    backup = cache_dir / f".{name}-onnx.old.{os.getpid()}"
    if folder.exists():
        folder.rename(backup)
    staging.rename(folder)
    shutil.rmtree(backup, ignore_errors=True)
    return folder
