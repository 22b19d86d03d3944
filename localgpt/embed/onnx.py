"""Run an exported sentence-transformers ONNX model with onnxruntime and tokenizers alone.

Importing sentence-transformers pulls in torch (about 4.5 s); a question only needs one vector,
so `localgpt ask` starts much faster without it. Only mean or CLS pooling followed by an
optional Normalize module is supported: the shape of MiniLM, BGE, E5 and GTE exports.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from localgpt.embed.base import Embedder, UnsupportedModel
from localgpt.embed.export import ensure_export, onnx_file
from localgpt.errors import LocalGPTError, ModelError

if TYPE_CHECKING:
    from localgpt.settings.config import EmbeddingsSettings


class UnsupportedExport(UnsupportedModel):
    """The folder's module stack is not one this encoder reproduces exactly."""


class OnnxEmbedder(Embedder):
    """The cached ONNX export run by onnxruntime and tokenizers alone: no torch on the ask path."""

    def __init__(self, name: str, source: str, settings: EmbeddingsSettings, cache_dir: Path) -> None:
        self.name = name
        self.batch_size = settings.batch_size
        try:
            folder = ensure_export(source, name, settings.backend, cache_dir)
            config = json.loads((folder / "sentence_bert_config.json").read_text())
            self._encoder = OnnxEncoder(
                folder, onnx_file(settings.backend), int(config.get("max_seq_length") or 256)
            )
        except (UnsupportedModel, LocalGPTError):
            raise
        except (OSError, ValueError) as exc:
            raise UnsupportedModel(str(exc)) from exc
        except Exception as exc:
            raise ModelError(f"cannot load embedder '{name}': {type(exc).__name__}: {exc}") from exc
        self.dimension = self._encoder.dimension
        self.max_tokens = self._encoder.max_tokens

    def count_tokens(self, text: str) -> int:
        return self._encoder.count_tokens(text)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._encoder.encode(texts, self.batch_size)

    def encode_each(self, texts: Sequence[str]) -> np.ndarray:
        # int8 activations are scaled per batch, so a batched sentence's vector moved with its
        # batch-mates (up to 0.04 per dimension) and 9 of 121 extracted answers changed with
        # batching alone. One text per run is its own vector, and no slower on 2 cores
        # (bench/README.md, "Embedding one text per run"). Ingest keeps its batches.
        return self._encoder.encode(texts, 1 if self._encoder.quantized else self.batch_size)


class OnnxEncoder:
    def __init__(self, folder: Path, onnx_file: str, max_tokens: int, threads: int = 0) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.pooling, self.normalize = _read_modules(folder)
        self._session = _session(ort, folder / onnx_file, threads)
        # Dynamic int8 quantization scales activations over the whole batch.
        self.quantized = "int8" in onnx_file
        self._inputs = {i.name for i in self._session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        self.max_tokens = max_tokens
        self.dimension = int(self._session.get_outputs()[0].shape[-1] or 0)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=True).ids)

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(texts))
        # Length-sorted batches: little padding, so little wasted compute.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            out[batch] = self._run([encodings[i] for i in batch])
        return out

    def _run(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            n = len(enc.ids)
            ids[row, :n] = enc.ids
            mask[row, :n] = enc.attention_mask
            types[row, :n] = enc.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        if self.normalize:
            pooled = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return np.asarray(pooled, dtype=np.float32)


def _session(ort: Any, model: Path, threads: int) -> Any:
    """The model's session, from its graph as onnxruntime optimised it once, kept beside it.

    Optimising MiniLM's graph took 0.06-0.10 s of every cold start here; loading the kept one
    takes 0.03 s, and gives the same vectors to the last bit (bench/README.md, "Where a cold
    ask's start-up goes"). Kept per onnxruntime version, at the portable "extended" level (the
    "all" level's layout changes are specific to a CPU). A kept graph that won't load is made
    again; one that can't be kept (a read-only data dir) is only not kept.
    """
    kept = model.with_name(f"{model.stem}.ort-{ort.__version__}.onnx")

    def session(path: Path, level: Any, keep_as: Path | None = None) -> Any:
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        options.graph_optimization_level = level
        if keep_as is not None:
            options.optimized_model_filepath = str(keep_as)
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    levels = ort.GraphOptimizationLevel
    if kept.is_file():
        try:
            return session(kept, levels.ORT_DISABLE_ALL)
        except Exception:  # damaged, or from another build: made again below
            with contextlib.suppress(OSError):
                kept.unlink(missing_ok=True)
    partial = kept.with_name(f"{kept.name}.{os.getpid()}.partial")  # another process may be at it
    try:
        made = session(model, levels.ORT_ENABLE_EXTENDED, keep_as=partial)
        os.replace(partial, kept)
        return made
    except Exception:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        return session(model, levels.ORT_ENABLE_EXTENDED)


def _read_modules(folder: Path) -> tuple[str, bool]:
    try:
        modules = json.loads((folder / "modules.json").read_text())
    except (OSError, ValueError) as exc:
        raise UnsupportedExport(f"no modules.json: {exc}") from None
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise UnsupportedExport(f"module stack {kinds}")
    pooling_dir = next(m["path"] for m in modules if m.get("type", "").endswith("Pooling"))
    config = json.loads((folder / pooling_dir / "config.json").read_text())
    mode = config.get("pooling_mode") or (
        "cls"
        if config.get("pooling_mode_cls_token")
        else "mean"
        if config.get("pooling_mode_mean_tokens")
        else ""
    )
    if mode not in ("mean", "cls"):
        raise UnsupportedExport(f"pooling mode {mode!r}")
    return mode, kinds[-1] == "Normalize"
