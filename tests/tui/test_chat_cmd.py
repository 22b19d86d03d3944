"""`localgpt chat` on the command line: its options, and a bad flag refused before the app starts."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli


def test_chat_help_names_its_options() -> None:
    proc = run_cli("chat", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--collection" in proc.stdout and "--model" in proc.stdout
    assert proc.stderr == ""


def test_bad_collection_name_is_a_config_error(tmp_path: Path) -> None:
    proc = run_cli("--data-dir", str(tmp_path / "data"), "chat", "--collection", "no spaces!")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("localgpt: error: bad value for 'store.collection'")


def test_chat_without_a_terminal_is_refused_in_one_line(tmp_path: Path) -> None:
    # Pipes on stdin and stdout: before, the app painted escape codes into the pipe and hung.
    proc = run_cli("--data-dir", str(tmp_path / "data"), "chat", input="", timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        "localgpt: error: `localgpt chat` needs a terminal on stdin and stdout; "
        "in scripts use `localgpt ask`\n"
    )
