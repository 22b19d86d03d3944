"""Doctor checks of the installation: package versions, llama.cpp and its GPU support, config, offline."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localgpt.doctor.report import Check
from localgpt.errors import ExitCode

if TYPE_CHECKING:
    from localgpt.settings.config import LoadedConfig, Settings

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
