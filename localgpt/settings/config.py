"""Settings: one frozen object built once in `main()` and passed down.

Precedence, highest first: CLI flags, `LOCALGPT_*` env vars (`__` nests), the TOML file, defaults.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from localgpt.errors import ConfigError

ENV_PREFIX = "LOCALGPT_"
CONFIG_ENV = "LOCALGPT_CONFIG"
CONFIG_NAME = "config.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class PathsSettings(_Section):
    data_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("localgpt")),
        description="Where the index (Chroma, manifest, keyword index) and chats are kept.",
    )
    models_dir: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("localgpt")) / "models",
        description="Where GGUF files are looked up and pulled into.",
    )


class StoreSettings(_Section):
    collection: str = Field(
        "documents",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$",
        description="Chroma collection name (3-63 of letters, digits, ._-).",
    )
    url: str = Field("", description="Chroma server URL; empty means the embedded store.")
    auth_header: str = Field("", description="'Name: value' header sent to the Chroma server.")
    lease_s: float = Field(
        60.0, gt=1, le=3600, description="With a url: how long a killed writer's lease blocks others."
    )
    source_root: str = Field(
        "", description="Files under this folder are indexed by their path relative to it (a team share)."
    )
    open_in_child: bool = Field(
        True,
        description="`ask` opens the embedded store in a forked child while it loads the models "
        "(a faster cold start); false opens it in the asking process.",
    )


class IngestSettings(_Section):
    chunk_size: int = Field(254, ge=16, le=8192, description="Chunk size in embedder tokens.")
    chunk_overlap: int = Field(32, ge=0, description="Overlap between chunks, in tokens.")
    max_file_mb: float = Field(64.0, gt=0, description="Files larger than this are skipped.")
    nice: int = Field(
        10,
        ge=0,
        le=19,
        description="CPU niceness an ingest runs at (0: as started): questions get the cores first.",
    )
    file_timeout_s: float = Field(
        60.0, gt=0, description="Skip a file whose parser makes no progress for this many seconds."
    )
    exclude: tuple[str, ...] = Field(
        (".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "*.pyc"),
        description="gitignore-style patterns of files and folders to skip (also .localgptignore).",
    )
    follow_symlinks: bool = Field(False, description="Descend into symlinked folders.")
    follow_external_symlinks: bool = Field(
        False, description="Follow symlinks that point outside the ingested folder."
    )
    ocr: Literal["auto", "off", "force"] = Field(
        "auto",
        description="OCR: 'auto' reads scanned PDF pages (no or garbage text layer) and image files; "
        "'force' OCRs every PDF page; 'off' skips them.",
    )
    ocr_dpi: int = Field(200, ge=72, le=600, description="Resolution PDF pages are rendered at for OCR.")

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_smaller(cls, value: int, info: Any) -> int:
        size = info.data.get("chunk_size")
        if size is not None and value >= size:
            raise ValueError("must be smaller than ingest.chunk_size")
        return value


class EmbeddingsSettings(_Section):
    model: str = Field(
        "auto",
        description="'auto' (bundled all-MiniLM-L6-v2), a pulled catalogue embedder, a path or a name.",
    )
    backend: Literal["onnx-int8", "onnx", "torch", "openai"] = Field(
        "onnx-int8", description="Inference backend for the embedder; 'openai' embeds on a server."
    )
    batch_size: int = Field(32, ge=1, le=4096, description="Chunks per embedding batch.")
    device: str = Field("cpu", description="torch device for the 'torch' backend.")
    base_url: str = Field("", description="OpenAI-compatible /v1/embeddings server for backend 'openai'.")
    api_key: str = Field("", description="Bearer token for backend 'openai'.")


class RetrievalSettings(_Section):
    k: int = Field(6, ge=1, le=100, description="Chunks given to the model.")
    mode: Literal["hybrid", "vector", "keyword"] = Field("hybrid", description="Retrieval mode.")
    fetch_k: int = Field(24, ge=1, le=1000, description="Candidates fetched from each retriever.")
    mmr: bool = Field(False, description="Diversify results with maximal marginal relevance.")
    mmr_lambda: float = Field(0.5, ge=0, le=1, description="MMR relevance/diversity balance.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal rank fusion constant.")
    keyword_weight: float = Field(2.0, ge=0, description="Weight of BM25 in the fusion.")
    cjk_vector_weight: float = Field(
        0.0,
        ge=0,
        description="Weight of the vector ranking for a CJK question with an English-only embedder.",
    )
    score_threshold: float = Field(0.0, ge=0, le=1, description="Drop chunks scoring below this.")
    relevance: Literal["calibrated", "legacy"] = Field(
        "calibrated",
        description="Relevance gate: 'calibrated' (per script, localgpt/rag/relevance.py) or "
        "'legacy' (best chunk score below abstain_threshold, the gate before issue 12).",
    )
    abstain_threshold: float = Field(
        0.35, ge=0, le=1, description="The 'legacy' gate: abstain when the best score is below this."
    )


class LLMSettings(_Section):
    backend: Literal["llama-cpp", "openai"] = Field("llama-cpp", description="Where tokens come from.")
    model: str = Field("auto", description="'auto', a GGUF path or a file name in models_dir.")
    base_url: str = Field("", description="OpenAI-compatible server URL for backend 'openai'.")
    api_key: str = Field("", description="Bearer token for backend 'openai'.")
    chat_format: Literal["auto", "llama-2", "chatml", "alpaca", "vicuna"] = Field(
        "auto", description="Prompt layout; 'auto' uses the GGUF's own chat template."
    )
    n_ctx: int = Field(4096, ge=256, le=1_048_576, description="Context window in tokens.")
    n_threads: int = Field(
        0, ge=0, description="CPU threads; 0: all cores for the prompt, the free ones for decoding."
    )
    n_batch: int = Field(512, ge=8, description="Prompt-processing batch size.")
    n_gpu_layers: int | Literal["auto"] = Field("auto", description="'auto', 0 (CPU) or a count.")
    cpu_repack: Literal["auto", "on", "off"] = Field(
        "auto", description="llama.cpp's repacked CPU weight layouts; 'auto' turns them off on AMX CPUs."
    )
    flash_attn: Literal["auto", "on", "off"] = Field(
        "auto", description="llama.cpp's flash attention; 'auto': on with GPU layers, off on the CPU."
    )
    seed: int = Field(42, description="Sampling seed, for repeatable answers.")
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(384, ge=1, description="Longest answer, in tokens.")
    repeat_penalty: float = Field(1.1, ge=0.5, le=2.0, description="Penalty on repeated tokens.")
    condense: bool = Field(True, description="Rewrite follow-ups into standalone questions.")

    @field_validator("n_gpu_layers", mode="before")
    @classmethod
    def _gpu_layers(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        return value


class AnswerSettings(_Section):
    mode: Literal["auto", "generate", "extract"] = Field(
        "auto",
        description="'extract' quotes the best source sentences (no LLM); 'generate' asks the LLM; "
        "'auto' extracts when the model is too small to trust (under 1B parameters).",
    )
    unsupported: Literal["drop", "mark", "keep"] = Field(
        "drop", description="What happens to a generated sentence no source supports."
    )


class ServerSettings(_Section):
    host: str = Field("127.0.0.1", description="Address `localgpt serve` binds; loopback by default.")
    port: int = Field(8765, ge=0, le=65535, description="Port of `localgpt serve` (0 picks a free one).")
    api_key: str = Field("", description="Bearer token the server requires; needed off loopback.")
    cors_origins: tuple[str, ...] = Field((), description="Origins allowed by CORS; none by default.")
    max_request_kb: int = Field(1024, ge=1, le=1_048_576, description="Largest request body, in KiB.")
    queue_size: int = Field(
        32, ge=1, le=10_000, description="Generations waiting for the model; more get 503."
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        validate_default=True,
    )

    paths: PathsSettings = Field(default_factory=lambda: PathsSettings())
    store: StoreSettings = Field(default_factory=lambda: StoreSettings())
    ingest: IngestSettings = Field(default_factory=lambda: IngestSettings())
    embeddings: EmbeddingsSettings = Field(default_factory=lambda: EmbeddingsSettings())
    retrieval: RetrievalSettings = Field(default_factory=lambda: RetrievalSettings())
    llm: LLMSettings = Field(default_factory=lambda: LLMSettings())
    answer: AnswerSettings = Field(default_factory=lambda: AnswerSettings())
    server: ServerSettings = Field(default_factory=lambda: ServerSettings())

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML layer and CLI flags are merged into init kwargs by `load_settings`,
        # so env must sit between them; see `load_settings`.
        return (init_settings,)


@dataclass(frozen=True)
class LoadedConfig:
    """The settings plus where each leaf value came from (for `localgpt config`)."""

    settings: Settings
    path: Path | None
    origins: dict[str, str] = field(default_factory=dict)


def find_config_file(explicit: str | os.PathLike[str] | None, cwd: Path | None = None) -> Path | None:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path} (from --config)")
        return path.resolve()
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        path = Path(from_env).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path} (from {CONFIG_ENV})")
        return path.resolve()
    local = (cwd or Path.cwd()) / CONFIG_NAME
    if local.is_file():
        return local.resolve()
    user = Path(platformdirs.user_config_dir("localgpt")) / CONFIG_NAME
    return user.resolve() if user.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    from localgpt.settings.toml_text import decode_config

    try:
        return tomllib.loads(decode_config(path.read_bytes(), path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None


def _env_values() -> dict[str, Any]:
    for key in os.environ:
        if key.startswith(ENV_PREFIX) and key != CONFIG_ENV:
            section = key[len(ENV_PREFIX) :].split("__")[0].lower()
            if section not in Settings.model_fields:
                dotted = key[len(ENV_PREFIX) :].lower().replace("__", ".")
                raise ConfigError(f"unknown config key '{dotted}' in environment ({key})")
    try:
        return dict(EnvSettingsSource(Settings)())
    except Exception as exc:  # pydantic-settings raises SettingsError on malformed JSON values
        raise ConfigError(f"bad {ENV_PREFIX}* environment variable: {exc}") from None


def _leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_leaves(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = tree
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return tree


def _resolve_paths(tree: dict[str, Any], base: Path) -> None:
    """Relative paths in one layer resolve against that layer's folder."""
    paths = tree.get("paths")
    if isinstance(paths, dict):
        for key, value in paths.items():
            if isinstance(value, str) and value:
                p = Path(value).expanduser()
                paths[key] = str(p if p.is_absolute() else (base / p))
    for section in ("llm", "embeddings"):
        sec = tree.get(section)
        if isinstance(sec, dict) and isinstance(sec.get("model"), str):
            value = sec["model"]
            if "/" in value or value.startswith("."):
                p = Path(value).expanduser()
                if not p.is_absolute() and (base / p).exists():
                    sec["model"] = str(base / p)


def _describe(exc: ValidationError, origins: dict[str, str]) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err["loc"] if not isinstance(part, int))
    if err["type"] == "extra_forbidden":
        return f"unknown config key '{loc}'{_where(loc, origins)}"
    value = err.get("input")
    shown = f" (got {value!r})" if not isinstance(value, dict) else ""
    return f"bad value for '{loc}'{_where(loc, origins)}: {err['msg']}{shown}"


def _where(loc: str, origins: dict[str, str]) -> str:
    origin = origins.get(loc) or next(
        (label for key, label in origins.items() if key.startswith(loc + ".")), None
    )
    return f" in {origin}" if origin else ""


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    overrides: dict[str, Any] | None = None,
    cwd: Path | None = None,
) -> LoadedConfig:
    """Build the settings. `overrides` holds CLI flags as dotted keys, e.g. {"llm.model": "x"}."""
    cwd = cwd or Path.cwd()
    path = find_config_file(config_path, cwd)
    file_tree = _read_toml(path) if path else {}
    if path:
        _resolve_paths(file_tree, path.parent)
    env_tree = _env_values()
    _resolve_paths(env_tree, cwd)
    cli_tree = _nest({k: v for k, v in (overrides or {}).items() if v is not None})
    _resolve_paths(cli_tree, cwd)

    origins: dict[str, str] = {}
    layers = [
        (file_tree, str(path)),
        (env_tree, "environment"),
        (cli_tree, "command line"),
    ]
    merged: dict[str, Any] = {}
    for tree, label in layers:
        for key in _leaves(tree):
            origins[key] = label
        merged = _merge(merged, tree)
    try:
        settings = Settings(**merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origins)) from None
    return LoadedConfig(settings=settings, path=path, origins=origins)


def effective_items(loaded: LoadedConfig) -> list[tuple[str, Any, str]]:
    """(dotted key, value, origin) for every setting, in declaration order."""
    dumped = loaded.settings.model_dump(mode="json")
    return [(key, value, loaded.origins.get(key, "default")) for key, value in _leaves(dumped).items()]
