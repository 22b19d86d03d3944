"""Finding model files: the GGUF auto-selection, name lookup, the GGUF check, the bundled embedder.

Nothing here loads a model: these functions only look at paths and the first bytes of files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from localgpt.errors import ExitCode, ModelError
from localgpt.models.files import (
    BUNDLED_LLM_FILE,
    bundled_llm_path,
    local_ggufs,
    resolve_embedder,
    resolve_llm_model,
)
from localgpt.models.gguf import read_gguf


def fake_gguf(path: Path) -> Path:
    """A tiny file with the GGUF magic: enough for path resolution and `check_gguf`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\x00" * 16)
    return path


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    folder.mkdir()
    return folder


# --- auto-selection ------------------------------------------------------------------------------


def test_auto_with_empty_models_dir_is_the_bundled_smollm2(models_dir: Path) -> None:
    path = resolve_llm_model("auto", models_dir)
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" == BUNDLED_LLM_FILE
    assert path.is_file()
    assert path == bundled_llm_path()
    assert read_gguf(path).architecture == "llama"  # the bundled file is a real GGUF


def test_auto_with_missing_models_dir_is_the_bundled_smollm2(tmp_path: Path) -> None:
    path = resolve_llm_model("auto", tmp_path / "does-not-exist")
    assert path.name == BUNDLED_LLM_FILE
    assert path.is_file()


def test_auto_prefers_llama2_chat(models_dir: Path) -> None:
    fake_gguf(models_dir / "mistral.gguf")
    chat = fake_gguf(models_dir / "llama-2-7b-chat.Q4_K_M.gguf")
    assert resolve_llm_model("auto", models_dir) == chat


def test_auto_prefers_llama2_chat_whatever_the_order(models_dir: Path) -> None:
    fake_gguf(models_dir / "aaa.gguf")
    fake_gguf(models_dir / "llama-2-13b.Q4_K_M.gguf")  # llama-2 but not a chat model
    chat = fake_gguf(models_dir / "Llama-2-7B-Chat.Q5_K_M.gguf")
    assert resolve_llm_model("auto", models_dir) == chat


def test_auto_with_one_gguf_takes_it(models_dir: Path) -> None:
    only = fake_gguf(models_dir / "mistral.gguf")
    assert resolve_llm_model("auto", models_dir) == only


def test_auto_ignores_partial_downloads_and_other_files(models_dir: Path) -> None:
    fake_gguf(models_dir / "llama-2-7b-chat.Q4_K_M.gguf.part")
    (models_dir / "README.md").write_text("not a model")
    (models_dir / "folder.gguf").mkdir()
    assert local_ggufs(models_dir) == []
    assert resolve_llm_model("auto", models_dir).name == BUNDLED_LLM_FILE


# --- names and paths -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mistral", "mistral.gguf"])
def test_name_is_looked_up_in_models_dir(models_dir: Path, name: str) -> None:
    target = fake_gguf(models_dir / "mistral.gguf")
    fake_gguf(models_dir / "llama-2-7b-chat.Q4_K_M.gguf")  # auto would pick this one
    assert resolve_llm_model(name, models_dir) == target.resolve()


def test_absolute_path_is_used_as_is(tmp_path: Path, models_dir: Path) -> None:
    elsewhere = fake_gguf(tmp_path / "other" / "model.gguf")
    assert resolve_llm_model(str(elsewhere), models_dir) == elsewhere.resolve()


def test_bundled_file_by_name(models_dir: Path) -> None:
    assert resolve_llm_model(BUNDLED_LLM_FILE, models_dir) == bundled_llm_path()


@pytest.mark.parametrize("name", ["nope", "nope.gguf"])
def test_missing_name_says_where_it_looked_and_how_to_get_one(models_dir: Path, name: str) -> None:
    with pytest.raises(ModelError) as info:
        resolve_llm_model(name, models_dir)
    message = str(info.value)
    assert str(models_dir / name) in message
    assert "localgpt models pull" in message
    assert info.value.exit_code == ExitCode.MODEL


def test_missing_absolute_path_names_that_path(tmp_path: Path, models_dir: Path) -> None:
    missing = tmp_path / "gone" / "model.gguf"
    with pytest.raises(ModelError) as info:
        resolve_llm_model(str(missing), models_dir)
    assert str(missing) in str(info.value)
    assert "localgpt models pull" in str(info.value)


# --- the embedder --------------------------------------------------------------------------------


def test_auto_embedder_is_the_bundled_minilm() -> None:
    name, folder = resolve_embedder("auto")
    assert name == "all-MiniLM-L6-v2"
    assert Path(folder).is_dir()
    # A sentence-transformers folder: its config sits right there.
    assert (Path(folder) / "config.json").is_file()


def test_embedder_path_and_name(tmp_path: Path) -> None:
    local = tmp_path / "my-embedder"
    local.mkdir()
    assert resolve_embedder(str(local)) == ("my-embedder", str(local.resolve()))
    # A name that is not a path is passed through for sentence-transformers to look up.
    assert resolve_embedder("some-org/some-model") == ("some-org/some-model", "some-org/some-model")
