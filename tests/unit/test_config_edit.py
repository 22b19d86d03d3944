"""The tomlkit config edit behind `localgpt models use`: one key changes, nothing else does."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from localgpt.errors import ConfigError
from localgpt.settings.edit import edit, set_keys

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_config_keeps_every_comment() -> None:
    text = (ROOT / "config.toml").read_text()
    new = edit(text, "llm", {"model": "llama-2-7b-chat.Q4_K_M.gguf", "chat_format": "llama-2"})
    changed = [(a, b) for a, b in zip(text.splitlines(), new.splitlines(), strict=True) if a != b]
    assert changed == [
        ('model = "auto"', 'model = "llama-2-7b-chat.Q4_K_M.gguf"'),
        ('chat_format = "auto"', 'chat_format = "llama-2"'),
    ]
    parsed = tomllib.loads(new)
    assert parsed["llm"]["model"] == "llama-2-7b-chat.Q4_K_M.gguf"
    assert parsed["paths"] == tomllib.loads(text)["paths"]


def test_inline_comment_and_indentation_survive() -> None:
    text = "[llm]\n  model = 'old' # my # note\nn_ctx = 2048\n\n[store]\ncollection = \"docs\"\n"
    new = edit(text, "llm", {"model": "new.gguf"})
    assert new == '[llm]\n  model = "new.gguf" # my # note\nn_ctx = 2048\n\n[store]\ncollection = "docs"\n'


def test_missing_key_goes_at_the_end_of_its_section() -> None:
    text = '[llm]\nn_ctx = 2048\n\n\n[store]\ncollection = "docs"\n'
    new = edit(text, "llm", {"model": "x.gguf"})
    assert new == '[llm]\nn_ctx = 2048\nmodel = "x.gguf"\n\n\n[store]\ncollection = "docs"\n'


def test_missing_section_is_appended() -> None:
    assert tomllib.loads(edit("", "llm", {"model": "a"})) == {"llm": {"model": "a"}}
    new = edit("[paths]\ndata_dir = 'd'", "llm", {"model": "a"})
    assert new.startswith("[paths]\ndata_dir = 'd'")
    assert tomllib.loads(new) == {"paths": {"data_dir": "d"}, "llm": {"model": "a"}}


def test_values_are_escaped() -> None:
    value = 'C:\\models\\my "best".gguf'
    assert tomllib.loads(edit("", "llm", {"model": value}))["llm"]["model"] == value


def test_set_keys_writes_atomically_and_keeps_the_mode(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    path = folder / "config.toml"
    path.write_text('# mine\n[llm]\nmodel = "auto"\n')
    path.chmod(0o600)
    set_keys(path, "llm", {"model": "b.gguf"})
    assert path.read_text() == '# mine\n[llm]\nmodel = "b.gguf"\n'
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in folder.iterdir()] == ["config.toml"]  # no temp file left behind


def test_set_keys_creates_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "new" / "config.toml"
    set_keys(path, "llm", {"model": "c.gguf"})
    assert tomllib.loads(path.read_text()) == {"llm": {"model": "c.gguf"}}


@pytest.mark.parametrize(
    "text",
    ['llm.model = "auto"\nllm.n_ctx = 2048\n', 'llm = { model = "auto", n_ctx = 2048 }\n',
     '[llm]\nmodel = """\nauto"""\nn_ctx = 2048\n'],
    ids=["dotted-key", "inline-table", "multi-line-string"],
)  # fmt: skip
def test_unusual_layouts_are_edited_in_place(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    set_keys(path, "llm", {"model": "x.gguf"})
    assert tomllib.loads(path.read_text()) == {"llm": {"model": "x.gguf", "n_ctx": 2048}}


def test_a_file_that_is_not_toml_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[llm\nmodel = auto\n")
    with pytest.raises(ConfigError, match=r"set these by hand under \[llm\]: model = \"x.gguf\""):
        set_keys(path, "llm", {"model": "x.gguf"})
    assert path.read_text() == "[llm\nmodel = auto\n"
