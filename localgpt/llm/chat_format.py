"""Chat prompt layouts: the GGUF's own template, or a named LLaMA-family layout.

We render the prompt to text ourselves (instead of letting llama.cpp do it) so the token budget
is counted on exactly the string the model will see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": str}


@dataclass(frozen=True)
class Rendered:
    prompt: str
    stop: tuple[str, ...]


def _split(messages: Sequence[Message]) -> tuple[str, list[Message]]:
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    return system, [m for m in messages if m["role"] != "system"]


def render_llama2(messages: Sequence[Message]) -> Rendered:
    """The reference llama-2-chat layout: `<s>[INST] <<SYS>>\\n...\\n<</SYS>>\\n\\n... [/INST]`."""
    system, turns = _split(messages)
    out: list[str] = []
    first = True
    for message in turns:
        if message["role"] == "user":
            content = message["content"]
            if first and system:
                content = f"<<SYS>>\n{system}\n<</SYS>>\n\n{content}"
            out.append(f"<s>[INST] {content} [/INST]")
            first = False
        else:
            out.append(f" {message['content']} </s>")
    return Rendered("".join(out), ("</s>", "[INST]"))


def render_chatml(messages: Sequence[Message]) -> Rendered:
    parts = [f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages]
    return Rendered("".join(parts) + "<|im_start|>assistant\n", ("<|im_end|>", "<|im_start|>"))


def render_alpaca(messages: Sequence[Message]) -> Rendered:
    system, turns = _split(messages)
    out = [f"{system}\n\n" if system else ""]
    for message in turns:
        if message["role"] == "user":
            out.append(f"### Instruction:\n{message['content']}\n\n### Response:\n")
        else:
            out.append(f"{message['content']}\n\n")
    return Rendered("".join(out), ("### Instruction:", "</s>"))


def render_vicuna(messages: Sequence[Message]) -> Rendered:
    """FastChat's vicuna v1.1 layout: `SYSTEM USER: q ASSISTANT: a</s>USER: q2 ASSISTANT:`."""
    system, turns = _split(messages)
    out = [system] if system else []
    for message in turns:
        if message["role"] == "user":
            out.append(f"USER: {message['content']} ASSISTANT:")
        else:
            out.append(f"{message['content']}</s>")
    return Rendered(" ".join(out).replace("</s> USER:", "</s>USER:"), ("</s>", "USER:"))


NAMED: dict[str, Callable[[Sequence[Message]], Rendered]] = {
    "llama-2": render_llama2,
    "chatml": render_chatml,
    "alpaca": render_alpaca,
    "vicuna": render_vicuna,
}


def template_renderer(template: str, bos: str, eos: str) -> Callable[[Sequence[Message]], Rendered]:
    """Render with the Jinja chat template stored in the GGUF (tokenizer.chat_template)."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

    def render(messages: Sequence[Message]) -> Rendered:
        result = formatter(messages=list(messages))  # type: ignore[arg-type]
        stops = result.stop if isinstance(result.stop, list) else [result.stop] if result.stop else []
        return Rendered(result.prompt, tuple(s for s in stops if s))

    return render


def pick_renderer(
    chat_format: str, template: str | None, bos: str, eos: str, model_name: str
) -> tuple[str, Callable[[Sequence[Message]], Rendered]]:
    """(format name, renderer) for the configured `chat_format`."""
    if chat_format != "auto":
        return chat_format, NAMED[chat_format]
    if template:
        return "gguf-template", template_renderer(template, bos, eos)
    # Old GGUFs carry no template: guess from the file name, as llama.cpp does.
    name = model_name.lower()
    for key, fmt in (("llama-2", "llama-2"), ("vicuna", "vicuna"), ("alpaca", "alpaca")):
        if key in name:
            return fmt, NAMED[fmt]
    return "chatml", render_chatml
