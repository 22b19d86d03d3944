"""`[llm] flash_attn`: "auto" is on with layers on a GPU and off on the CPU, where it halves decode
speed (bench/README.md, "Flash attention")."""

from __future__ import annotations

import pytest

from localgpt.llm.llama_cpp import use_flash_attention
from localgpt.settings.config import Settings


@pytest.mark.parametrize(
    ("setting", "gpu_layers", "expected"),
    [("auto", 0, False), ("auto", -1, True), ("auto", 16, True), ("on", 0, True), ("off", -1, False)],
)
def test_flash_attention_follows_the_setting_and_the_gpu(
    setting: str, gpu_layers: int, expected: bool
) -> None:
    assert use_flash_attention(setting, gpu_layers) is expected


def test_the_default_is_auto() -> None:
    assert Settings().llm.flash_attn == "auto"
