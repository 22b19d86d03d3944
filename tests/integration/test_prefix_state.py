"""The prompt's fixed opening (template and system prompt) is evaluated once, kept in the data dir,
and restored by the next model load, which answers word for word alike. Real SmolLM2."""

from __future__ import annotations

from pathlib import Path

import pytest

from localgpt.llm.chat_format import Message
from localgpt.llm.llama_cpp import LLM, load_llm
from localgpt.rag.prompt import system_prompt, user_message
from localgpt.settings.config import Settings
from localgpt.settings.layout import DataDir

pytestmark = pytest.mark.llm

CONTEXT = "[1] manual.md\nThe water tank holds 1.8 litres. Descale the machine every 3 months."


def load(data_dir: Path, tmp_path: Path, flash_attn: str = "auto") -> LLM:
    settings = Settings(
        paths={"data_dir": str(data_dir), "models_dir": str(tmp_path / "models")},
        llm={"max_tokens": 24, "temperature": 0.0, "flash_attn": flash_attn},
    )
    return load_llm(settings)


def answer(llm: LLM, question: str) -> str:
    messages: list[Message] = [
        {"role": "system", "content": system_prompt(question)},
        {"role": "user", "content": user_message(question, CONTEXT)},
    ]
    rendered = llm.render(messages)
    return llm.stream(messages, rendered.prompt, rendered.stop, 24).text


def test_the_fixed_prefix_is_kept_restored_and_answers_the_same(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = load(data, tmp_path)
    question = "How much water does the tank hold?"
    said = answer(first, question)
    assert said.strip()
    saved = list(DataDir(data).prompt_states.glob("*.state"))
    assert len(saved) == 1 and saved[0].stat().st_size > 0
    messages: list[Message] = [{"role": "system", "content": system_prompt(question)}]
    prefix = first.fixed_prefix(messages)
    assert len(first.tokenize(system_prompt(question))) < len(prefix)  # the template's tokens too

    # Another load (as the next `localgpt ask` would) restores the state instead of evaluating:
    # the file is read, not written again, and the answer is the same, word for word.
    written = saved[0].stat().st_mtime_ns
    second = load(data, tmp_path)
    assert answer(second, question) == said
    assert saved[0].stat().st_mtime_ns == written
    # The same model again (a server's next question), and another question on the same prefix.
    assert answer(second, question) == said
    other = "How often should it be descaled?"
    assert answer(second, other) == answer(first, other)

    # A Chinese question has its own system prompt, so its own prefix state.
    answer(second, "水箱能装多少水？")
    assert len(list(DataDir(data).prompt_states.glob("*.state"))) == 2


def test_a_data_dir_it_cannot_write_only_costs_the_saving(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "prompt-states").write_text("a file where the folder would be")
    question = "How much water does the tank hold?"
    assert answer(load(data, tmp_path), question) == answer(load(tmp_path / "fresh", tmp_path), question)


def test_flash_attention_keeps_its_own_prefix_state(tmp_path: Path) -> None:
    # Its KV cells are laid out differently: restoring the other layout's state would be garbage.
    data = tmp_path / "data"
    question = "How much water does the tank hold?"
    assert answer(load(data, tmp_path), question).strip()  # "auto" on the CPU: off
    with_flash = load(data, tmp_path, flash_attn="on")
    assert answer(with_flash, question).strip()
    assert len(list(DataDir(data).prompt_states.glob("*.state"))) == 2
