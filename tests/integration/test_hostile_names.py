"""File names that attack the terminal, or are not UTF-8, through the real CLI and the TUI's labels.

A name may hold ESC/OSC sequences (retitle the window, clear the screen) and newlines (forge
output lines). Everything printed for people shows them escaped; JSON keeps the true name. A name
in Latin-1 bytes is indexed, and JSON stays valid UTF-8.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from localgpt.errors import ExitCode
from localgpt.rag.answer import Source
from tests.integration.test_ingest_sync import assert_consistent, read_index

HOSTILE = "evil\x1b]0;PWNED\x07\x1b[2J\nsecond line [red]x.txt"
HOSTILE_SHOWN = "evil\\x1b]0;PWNED\\x07\\x1b[2J\\nsecond line [red]x.txt"
LATIN1 = b"caf\xe9 cr\xe8me.txt"
LATIN1_INDEXED = "caf\\xe9 cr\\xe8me.txt"


def localgpt(cwd: Path, *args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "localgpt", *args], capture_output=True, cwd=cwd, timeout=600
    )


def clean(output: bytes) -> str:
    """Output for people: valid UTF-8, no control character but the line ends."""
    text = output.decode("utf-8")
    assert not [c for c in text if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) < 0xA0], text
    return text


@pytest.fixture
def hostile_docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / HOSTILE).write_text("The hostile note describes the Quokka valve of the Zephyr pump.\n")
    with open(os.path.join(os.fsencode(docs), LATIN1), "wb") as fh:
        fh.write("Le caf\xe9 cr\xe8me du Zanzibar grinder est moulu fin.\n".encode())
    (docs / "plain.md").write_text("# Plain\n\nAn ordinary note about the Boreal kettle.\n")
    return docs


def test_hostile_and_latin1_names(data_dir: Path, hostile_docs: Path, tmp_path: Path) -> None:
    cwd, data = tmp_path, str(data_dir)
    planned = localgpt(cwd, "--data-dir", data, "ingest", "docs", "--dry-run", "--json")
    assert planned.returncode == ExitCode.OK, planned.stderr
    plan = json.loads(planned.stdout.decode("utf-8"))  # strict: valid UTF-8
    assert sorted(plan["added"]) == sorted(
        str(hostile_docs / name) for name in (HOSTILE, LATIN1_INDEXED, "plain.md")
    )  # JSON keeps the true name; the undecodable one escaped

    ingested = localgpt(cwd, "--data-dir", data, "ingest", "docs")
    assert ingested.returncode == ExitCode.OK, ingested.stderr
    progress = clean(ingested.stderr)
    assert f"added: docs/{HOSTILE_SHOWN} (1 chunks)" in progress
    assert f"added: docs/{LATIN1_INDEXED} (1 chunks)" in progress

    index = read_index(data_dir)
    assert_consistent(index)
    assert set(index.manifest) == {str(hostile_docs / n) for n in (HOSTILE, LATIN1_INDEXED, "plain.md")}
    assert any("Zanzibar grinder" in text for text in index.texts.values())

    again = localgpt(cwd, "--data-dir", data, "ingest", "docs", "--json")
    assert json.loads(again.stdout.decode("utf-8"))["unchanged"] == 3  # the escaped name is stable

    listed = localgpt(cwd, "--data-dir", data, "sources")
    assert listed.returncode == ExitCode.OK
    lines = clean(listed.stdout).splitlines()
    assert len(lines) == 3  # one line per file: the newline in the name does not split it
    assert any(line.endswith(f"docs/{HOSTILE_SHOWN}") for line in lines)
    assert any(line.endswith(f"docs/{LATIN1_INDEXED}") for line in lines)
    as_json = json.loads(localgpt(cwd, "--data-dir", data, "sources", "--json").stdout.decode("utf-8"))
    assert str(hostile_docs / HOSTILE) in {row["source"] for row in as_json["files"]}

    forgot = localgpt(cwd, "--data-dir", data, "forget", f"docs/{HOSTILE}")
    assert forgot.returncode == ExitCode.OK, forgot.stderr
    assert f"forgot docs/{HOSTILE_SHOWN} (1 chunks)" in clean(forgot.stderr)
    # The Latin-1 file is forgotten by its real (undecodable) name.
    forgot = localgpt(cwd, "--data-dir", data, "forget", b"docs/" + LATIN1)
    assert forgot.returncode == ExitCode.OK, forgot.stderr
    assert f"forgot docs/{LATIN1_INDEXED}" in clean(forgot.stderr)

    missing = localgpt(cwd, "--data-dir", data, "forget", "docs/\x1b[2Jgone.txt")
    assert missing.returncode == ExitCode.CONFIG
    assert "\\x1b[2Jgone.txt" in clean(missing.stderr)


def test_the_tui_labels_escape_names(tmp_path: Path) -> None:
    from tui.widgets.sources import describe  # what the sources list shows, one option per source

    source = Source(1, str(tmp_path / HOSTILE), 2, 0.71, "id", "The Quokka valve.")
    label = describe(source).plain
    name_line = label.split("\n")[0]
    assert HOSTILE_SHOWN in name_line and "\x1b" not in label


@pytest.mark.llm
def test_asks_source_list_escapes_names(data_dir: Path, hostile_docs: Path, tmp_path: Path) -> None:
    data = str(data_dir)
    assert localgpt(tmp_path, "--data-dir", data, "ingest", "docs", "-q").returncode == ExitCode.OK
    proc = subprocess.run(
        [sys.executable, "-m", "localgpt", "--data-dir", data, "ask",
         "What does the hostile note describe about the Quokka valve of the Zephyr pump?"],
        capture_output=True, cwd=tmp_path, timeout=600,
        env={**os.environ, "LOCALGPT_LLM__MAX_TOKENS": "24"},
    )  # fmt: skip
    assert proc.returncode == ExitCode.OK, proc.stderr
    sources = clean(proc.stderr)
    assert f"] docs/{HOSTILE_SHOWN}  (score" in sources  # one line, escaped
