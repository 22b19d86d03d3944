"""Keys where a person types: a sentence after a preview, Ctrl+C, F5 on a bad path, a small terminal.

Real Pilot keystrokes against the real app, model and index. The one thing replaced is the
function that starts the pager or editor: a recorder stands in for it, so that a stray launch is
counted instead of taking over the terminal.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import pytest
from textual.widgets import ProgressBar
from textual.widgets._footer import FooterKey

import tui.external
from tests.tui.conftest import QUESTION, TokenGate, ask, make_settings, wait_idle, wait_until
from tui.app import LocalGPTApp
from tui.screens.ingest import IngestScreen
from tui.screens.preview import SourcePreview
from tui.widgets.sources import SourceList

pytestmark = pytest.mark.anyio

# Letters bound somewhere in the app ("o", "e", "q", "?") and spaces, as a person types them.
SENTENCE = "Does the descaling programme work on open tanks? Please explain each step once more."


@pytest.fixture
def launches(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every program the app would start (failure injection: nothing is started for real)."""
    calls: list[list[str]] = []
    monkeypatch.setattr(tui.external, "launch", calls.append)
    return calls


@pytest.mark.llm
async def test_a_sentence_typed_after_a_preview_is_the_next_question(
    tui_data: Path, launches: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = LocalGPTApp(make_settings(tui_data, llm__max_tokens=8))
    monkeypatch.setattr(app, "suspend", nullcontext)  # the headless driver has no terminal to lend
    async with app.run_test(size=(80, 24)) as pilot:
        await ask(pilot, QUESTION)
        await wait_idle(pilot)
        source_list = app.main.query_one(SourceList)
        assert source_list.sources

        await pilot.press("f2", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, SourcePreview), what="the preview")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.main, what="the chat screen")
        assert source_list.has_focus  # back where the user was

        await pilot.press(*SENTENCE)
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert launches == []  # before the fix: "o" on the list opened $PAGER, once per "o"
        assert app.screen is app.main  # and "?" opened the help
        assert app.main.prompt.value == SENTENCE and app.main.prompt.has_focus
        assert app.busy_turn is None

        # The preview's own "o" still opens the file: the recorder does see a launch.
        await pilot.press("f2", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, SourcePreview), what="the preview")
        await pilot.press("o")
        await wait_until(pilot, lambda: len(launches) == 1, 30, "the pager")
        await app.workers.wait_for_complete()
        assert Path(launches[0][-1]).name.startswith(Path(source_list.sources[0].source).name)


async def test_ctrl_c_when_idle_quits_on_the_second_press(tui_data: Path) -> None:
    app = LocalGPTApp(make_settings(tui_data))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running
        assert any("Ctrl+C again" in n.message for n in app._notifications)
        await pilot.press("ctrl+c")
        await wait_until(pilot, lambda: not app.is_running, 10, "the app to quit")


@pytest.mark.llm
async def test_ctrl_c_while_answering_stops_the_answer_and_stays(
    tui_data: Path, token_gate: TokenGate
) -> None:
    app = LocalGPTApp(make_settings(tui_data, llm__max_tokens=256))
    async with app.run_test(size=(80, 24)) as pilot:
        await ask(pilot, QUESTION)
        await wait_until(pilot, token_gate.held.is_set, what="the first tokens")
        await pilot.press("ctrl+c")
        assert app.main.status.state == "cancelling…"
        token_gate.released.set()
        await wait_idle(pilot)
        assert app.is_running
        assert app.main.conversation.turns[-1].record.cancelled
        assert app.main.prompt.value == QUESTION  # put back, to edit and send again


async def test_f5_on_a_missing_folder_says_so_in_the_dialog(tui_data: Path, tmp_path: Path) -> None:
    app = LocalGPTApp(make_settings(tui_data))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f5")
        await wait_until(pilot, lambda: isinstance(app.screen, IngestScreen), what="the ingest screen")
        screen = app.screen
        assert isinstance(screen, IngestScreen)
        missing = tmp_path / "no-such-folder"
        await pilot.press(*str(missing), "enter")
        await pilot.pause()
        plan = screen.query_one("#ingest-plan")
        assert str(plan.render()) == f"no such file or folder: {missing}" and plan.has_class("-error")
        assert not screen.query_one(ProgressBar).display  # no bar pulsing as if at work
        assert not screen.running and app.screen is screen
        assert not [n for n in app._notifications if "no such file" in n.message]  # not behind it
        await wait_idle(pilot)


async def test_at_60x18_the_footer_shows_every_f_key(tui_data: Path) -> None:
    app = LocalGPTApp(make_settings(tui_data))
    async with app.run_test(size=(60, 18)) as pilot:
        await pilot.pause()
        keys = {k.key: k.region for k in app.main.query(FooterKey)}
        for key in ("f1", "f2", "f3", "f4", "f5"):
            assert key in keys and keys[key].right <= 60, (key, keys.get(key))
            # Before: the palette key, docked right, covered F4 and pushed F5 off the screen.
            assert not any(keys[key].overlaps(r) for k, r in keys.items() if k != key), key
        await wait_idle(pilot)


async def test_startup_warnings_show_in_the_app(tui_data: Path, tmp_path: Path) -> None:
    # What `localgpt chat` also prints on stderr, e.g. a configured models_dir that isn't there.
    warning = f"[paths] models_dir {tmp_path / 'nonexistent'} does not exist"
    app = LocalGPTApp(make_settings(tui_data), [warning])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert [n.message for n in app._notifications if n.severity == "warning"][:1] == [warning]
        await wait_idle(pilot)
