"""Readers while a writer runs: `ask` answers during an ingest, a second ingest refuses or waits.

The collection already holds examples/docs when a big ingest (the Python reference, 79 topics)
starts on it; `ask` is run again and again until the ingest ends. Every answer must be a normal
one (exit 0 or 3), with no "database is locked" and no traceback, and afterwards the manifest and
the collection must agree.

The keyword index is the one file every `ask` may rewrite: its own test below runs two writers
and a reader against one folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from localgpt.errors import ExitCode
from tests.conftest import EXAMPLES, ROOT, run_cli
from tests.helpers import assert_consistent, copy_index, python_docs_corpus, read_index

QUESTIONS = ("How much water does the Aurora K7 water tank hold?", "What is the capital of Mongolia?")
FAST = {"LOCALGPT_LLM__MAX_TOKENS": "16"}
FORBIDDEN = ("locked", "Traceback", "internal error", "error:")


@dataclass
class Asked:
    exit_code: int
    stderr: str
    during_ingest: bool  # it started and ended while the ingest ran


@pytest.fixture
def pristine(examples_index: Path) -> Path:
    return examples_index


def lock_holder(data_dir: Path) -> str:
    lock = data_dir / "locks" / "documents.lock"
    return lock.read_text().strip() if lock.exists() else ""


@pytest.mark.slow
def niceness(pid: int) -> int:
    """The process's nice value: /proc/PID/stat's 19th field (the name before it may hold spaces)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_ask_answers_while_an_ingest_runs(pristine: Path, data_dir: Path, tmp_path: Path) -> None:
    index = copy_index(pristine, data_dir)
    corpus = python_docs_corpus(tmp_path / "python-docs")  # ~0.45 MB: half a minute of ingest or more
    out, err = tmp_path / "ingest.json", tmp_path / "ingest.log"
    with out.open("wb") as out_file, err.open("wb") as err_file:
        ingest = subprocess.Popen(
            [sys.executable, "-m", "localgpt", "--data-dir", str(index), "ingest", str(corpus), "--json"],
            stdout=out_file, stderr=err_file,
        )  # fmt: skip
    waiter: subprocess.Popen[str] | None = None
    asked: list[Asked] = []
    try:
        deadline = time.monotonic() + 300
        while lock_holder(index) != str(ingest.pid):
            assert ingest.poll() is None, err.read_text()
            assert time.monotonic() < deadline, "the ingest never took its lock"
            time.sleep(0.1)
        # It runs at [ingest] nice = 10 (or this test's own niceness, if higher), so the questions
        # below get the cores first.
        assert niceness(ingest.pid) == max(10, os.getpriority(os.PRIO_PROCESS, 0))

        # A second writer is refused at once, or waits its turn with --wait.
        refused = run_cli("--data-dir", str(index), "ingest", str(EXAMPLES), "-q")
        assert refused.returncode == ExitCode.BUSY, refused.stderr
        assert "another ingest" in refused.stderr and "--wait" in refused.stderr
        waiter = subprocess.Popen(
            [sys.executable, "-m", "localgpt", "--data-dir", str(index), "ingest", str(EXAMPLES),
             "--json", "--wait", "1800"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

        while ingest.poll() is None:
            question = QUESTIONS[len(asked) % 2]
            answer = run_cli("--data-dir", str(index), "ask", question, env=FAST)
            asked.append(Asked(answer.returncode, answer.stderr, ingest.poll() is None))
            assert answer.returncode in (ExitCode.OK, ExitCode.ABSTAINED), answer.stderr
            assert not [word for word in FORBIDDEN if word in answer.stderr], answer.stderr
            if answer.returncode == ExitCode.OK:
                assert answer.stdout.strip() and "[1] " in answer.stderr
        assert ingest.wait() == ExitCode.OK, err.read_text()
        stdout, stderr = waiter.communicate(timeout=1800)
    finally:
        for running in (ingest, waiter):
            if running is not None and running.poll() is None:
                running.kill()
                running.wait()

    during = [a for a in asked if a.during_ingest]
    print(f"\n{len(asked)} asks, {len(during)} of them wholly during the ingest; exit codes "
          f"{sorted({a.exit_code for a in asked})}")  # fmt: skip
    assert len(during) >= 2, "the ingest ended too soon for this test to mean anything"
    assert ExitCode.OK in {a.exit_code for a in during}, "no answer came while the ingest ran"

    summary = json.loads(out.read_text())
    pages = [p for p in corpus.rglob("*") if p.is_file()]
    assert len(summary["added"]) == len(pages) and summary["skipped"] == []
    assert waiter.returncode == ExitCode.OK, stderr
    waited = json.loads(stdout)
    # It started while the first ran and found examples/docs untouched: it waited, then had no work.
    assert waited["unchanged"] == 7 and waited["added"] == waited["removed"] == []
    assert waited["files_total"] == 7 + len(summary["added"])

    final = read_index(index)
    assert_consistent(final)
    assert len(final.ids) == waited["chunks_total"]


# --- the keyword index under concurrent saves -------------------------------------------------------

KEYWORD_ROLE = r"""
import json, sys, time
from pathlib import Path
from localgpt.index.keyword import KeywordIndex

role, folder, seconds = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + seconds
counts = {"saved": 0, "errors": 0, "loaded": 0, "missing": 0, "bad": 0}
if role.startswith("writer"):
    n = int(role[-1])
    entries = [(f"w{n}-{i}", f"chunk {i} from writer {n} about pumps", {"source": f"/w{n}.txt"})
               for i in range(100 + 250 * n)]
    index = KeywordIndex.build(entries, n)
    while time.monotonic() < end:
        try:
            index.save(folder)
            counts["saved"] += 1
        except OSError:
            counts["errors"] += 1
else:
    while time.monotonic() < end:
        try:
            index = KeywordIndex.load(folder)
            if index is None:
                counts["missing"] += 1
                continue
            prefix = index.ids[0].split("-")[0]
            hits = index.search("pumps writer", 500)
            # One writer's ids only, and every hit one of them: never a mix of two saves.
            assert all(i.startswith(prefix + "-") for i in index.ids)
            assert {i for i, _ in hits} <= set(index.ids)
            counts["loaded"] += 1
        except Exception as exc:
            counts["bad"] += 1
            print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
print(json.dumps(counts))
"""


def test_keyword_index_survives_concurrent_saves_and_loads(tmp_path: Path) -> None:
    folder = tmp_path / "keyword" / "documents"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    roles = ("writer1", "writer2", "reader")
    argv = [sys.executable, "-c", KEYWORD_ROLE]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, "env": env}
    procs = [subprocess.Popen([*argv, role, str(folder), "8"], **pipes) for role in roles]  # type: ignore[call-overload]
    results = {}
    for role, proc in zip(roles, procs, strict=True):
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
        results[role] = json.loads(stdout)
    print(f"\n{results}")
    assert results["reader"]["bad"] == 0
    assert results["reader"]["loaded"] > 0
    assert results["writer1"]["errors"] == results["writer2"]["errors"] == 0
    assert results["writer1"]["saved"] > 0 and results["writer2"]["saved"] > 0
    # What is left is one whole version and the pointer to it.
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith("v-")) == ["CURRENT"]
