"""Snapshots of the main screen after one answered question, at the smallest and a roomy size.

Deterministic by construction: greedy decoding with a fixed seed and thread count, no GPU, paths
shown relative to a fixed layout (docs/ next to data/), no timings on screen, the cursor not
blinking and no toast left over. Regenerate with `pytest tests/tui --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.conftest import QUESTION, ask, make_settings, wait_idle
from tui.app import LocalGPTApp

pytestmark = pytest.mark.llm


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
def test_main_screen_after_one_answer(snap_compare: Any, tui_data: Path, size: tuple[int, int]) -> None:
    app = LocalGPTApp(make_settings(tui_data))
    assert snap_compare(app, terminal_size=size, run_before=answered(QUESTION))
