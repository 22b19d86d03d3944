"""The command line's outer shell: help, version, usage errors and their exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from localgpt.cli import cli, main
from localgpt.errors import ExitCode
from tests.conftest import run_cli


def test_help_lists_the_commands() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert proc.stdout.startswith("Usage: localgpt")
    assert "Commands:" in proc.stdout
    for name in cli.commands:
        assert name in proc.stdout
    assert {"config", "ingest"} <= set(cli.commands)
    for option in ("--config", "--data-dir", "--debug", "--version"):
        assert option in proc.stdout


def test_short_help_option() -> None:
    proc = run_cli("-h")
    assert proc.returncode == 0
    assert "Commands:" in proc.stdout


@pytest.mark.parametrize("name", ["config", "ingest"])
def test_command_help(name: str) -> None:
    proc = run_cli(name, "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith(f"Usage: localgpt {name}")
    assert proc.stderr == ""


def test_unknown_command_exits_2() -> None:
    proc = run_cli("frobnicate")
    assert proc.returncode == ExitCode.CONFIG == 2
    assert proc.stdout == ""
    assert "No such command 'frobnicate'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_option_exits_2() -> None:
    proc = run_cli("--frobnicate", "config")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "--frobnicate" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_command_option_exits_2() -> None:
    proc = run_cli("config", "--yaml")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "--yaml" in proc.stderr


def test_python_m_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert proc.stdout.strip() == f"localgpt, version {version('localgpt')}"


def test_console_script_runs() -> None:
    script = Path(sys.executable).parent / "localgpt"
    if not script.exists():
        pytest.skip("the localgpt console script is not installed next to this interpreter")
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert version("localgpt") in proc.stdout


def test_config_text_output() -> None:
    proc = run_cli("config")
    assert proc.returncode == 0
    assert proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("# config file:")
    assert any(line.startswith("llm.n_ctx") and line.endswith("# default") for line in lines)


def test_config_json_is_one_json_object() -> None:
    proc = run_cli("config", "--json")
    assert proc.returncode == 0
    payload = json.loads(proc.stdout)
    assert set(payload) == {"config_file", "settings"}
    assert payload["settings"]["llm.n_ctx"] == {"value": 4096, "origin": "default"}


def test_main_returns_exit_codes_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    # main() hands back the exit code rather than calling sys.exit, so it can be embedded.
    assert main(["--help"]) == 0
    assert "Usage: localgpt" in capsys.readouterr().out
    assert main(["frobnicate"]) == 2
    assert "No such command" in capsys.readouterr().err
    assert main(["--config", "/nonexistent/localgpt.toml", "config"]) == 2
    assert "config file not found" in capsys.readouterr().err
