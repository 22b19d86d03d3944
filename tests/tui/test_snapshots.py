"""Snapshots of the main screen after one answered question, at the smallest and a roomy size.

Deterministic by construction, on any CPU: the answer is quoted (`auto` with the bundled
model loads no LLM; llama.cpp's AVX2 and AVX-512 kernels round differently, and a greedy answer
drifts with them), the embedder is the float32 one (the int8 presets differ by CPU kind, and the
scores on screen with them), paths are shown relative to a fixed layout (docs/ next to data/), no
timings are on screen, the cursor does not blink and no toast is left over.
Regenerate with `pytest tests/tui --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.conftest import QUESTION, ask, make_settings, wait_idle
from tui.app import LocalGPTApp


def answered(question: str) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await ask(pilot, question)
        await wait_idle(pilot)
        app = pilot.app
        assert isinstance(app, LocalGPTApp)
        app.main.prompt.cursor_blink = False
        app.clear_notifications()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_main_screen_after_one_answer(snap_compare: Any, float_tui_data: Path, size: tuple[int, int]) -> None:
    # The defaults otherwise: `auto` quotes with the bundled 135M model, six passages.
    settings = make_settings(float_tui_data, answer__mode="auto", retrieval__k=6, embeddings__backend="onnx")
    app = LocalGPTApp(settings)
    assert snap_compare(app, terminal_size=size, run_before=answered(QUESTION))
