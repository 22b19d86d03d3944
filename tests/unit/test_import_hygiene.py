"""The CLI starts light and offline, and the headless core never imports the TUI.

Each check runs in a fresh subprocess, since this test process has long since imported everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from localgpt.offline import enforce_offline

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HEAVY = (
    "torch",
    "sentence_transformers",
    "chromadb",
    "llama_cpp",
    "textual",
    "transformers",
    "langchain_core",
    "langchain",
    "langchain_chroma",
    "langchain_huggingface",
    "onnxruntime",
    "huggingface_hub",
    # The sibling packages load lazily, inside the command that needs them.
    "ingest",
    "tui",
)


def modules_after(code: str, env: dict[str, str] | None = None) -> dict[str, object]:
    """Run `code` in a fresh interpreter; it must set `result`. Returns {"modules", "result"}."""
    script = textwrap.dedent(
        """
        import contextlib, io, json, sys
        result = None
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        {body}
        print(json.dumps({{"modules": sorted(sys.modules), "result": result}}))
        """
    ).format(body=textwrap.indent(textwrap.dedent(code), "    "))
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def heavy_in(modules: object) -> list[str]:
    assert isinstance(modules, list)
    return sorted({name for name in modules if name.split(".")[0] in HEAVY})


def run_main(*argv: str) -> str:
    return textwrap.dedent(
        f"""
        from localgpt.cli import main
        try:
            result = main({list(argv)!r})
        except SystemExit as exc:
            result = exc.code
        """
    )


@pytest.mark.parametrize(
    "argv",
    [("--help",), ("config",), ("config", "--json"), ("--version",), ("ingest", "--help")],
    ids=lambda argv: " ".join(argv),
)
def test_light_commands_load_no_heavy_library(argv: tuple[str, ...]) -> None:
    out = modules_after(run_main(*argv))
    assert out["result"] == 0
    assert heavy_in(out["modules"]) == []


def test_plain_import_of_the_cli_is_light() -> None:
    out = modules_after("import localgpt.cli\nresult = 0")
    assert "localgpt.cli" in out["modules"]
    assert heavy_in(out["modules"]) == []


def test_the_core_package_never_imports_textual() -> None:
    # Import every module under localgpt/ (but not `localgpt.__main__`, which runs the CLI and exits).
    out = modules_after(
        """
        import importlib, pkgutil, localgpt
        result = []
        for info in pkgutil.walk_packages(localgpt.__path__, "localgpt."):
            if info.name != "localgpt.__main__":
                importlib.import_module(info.name)
                result.append(info.name)
        """
    )
    imported = out["result"]
    assert isinstance(imported, list)
    # The walk really did reach the modules, heavy ones included.
    assert {"localgpt.settings.config", "localgpt.cli", "localgpt.cli.app", "localgpt.models.files"} <= set(
        imported
    )
    assert "textual" not in out["modules"]
    assert not [name for name in out["modules"] if name.startswith(("textual.", "tui"))]


def test_enforce_offline_sets_the_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    # A user's shell may say otherwise: the switches are forced, not defaulted.
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "True")
    returned = enforce_offline()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert os.environ["ANONYMIZED_TELEMETRY"] == "False"
    assert returned["HF_HUB_OFFLINE"] == "1"


def test_the_cli_goes_offline_before_any_command() -> None:
    out = modules_after(
        run_main("config") + "\nimport os\nresult = [os.environ.get(k) for k in "
        "('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'ANONYMIZED_TELEMETRY')]",
        env={"HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0", "ANONYMIZED_TELEMETRY": "True"},
    )
    assert out["result"] == ["1", "1", "False"]


def test_the_layer_contract_holds() -> None:
    """cli -> tui -> ingest -> rag -> index, llm, embed -> models -> settings; the core never imports
    textual (pyproject.toml [tool.importlinter]). A wrong-way import anywhere fails this."""
    lint = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    proc = subprocess.run([lint], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Contracts: 2 kept, 0 broken." in proc.stdout
