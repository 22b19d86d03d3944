"""`ask` opens the store in a forked child (localgpt/rag/store_child.py): same answers, same errors.

Fresh interpreters throughout (not the test zygote, which has chromadb imported and so never
forks a child), over the real Chroma index of examples/docs and the bundled embedder. The one
injected failure is a child killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from localgpt.errors import ExitCode

WATER = "How much water does the Aurora K7 water tank hold?"


def fresh_ask(
    data: Path, *args: str, child: bool, importtime: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOCALGPT_STORE__OPEN_IN_CHILD": "true" if child else "false"}
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run(
        [sys.executable, *flags, "-m", "localgpt", "--data-dir", str(data), "ask", *args],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip


def imported(stderr: str) -> set[str]:
    return {line.split("|")[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_ask_answers_alike_with_the_store_in_a_child_and_never_imports_chroma(indexed_data_dir: Path) -> None:
    forked = fresh_ask(indexed_data_dir, "--json", WATER, child=True, importtime=True)
    here = fresh_ask(indexed_data_dir, "--json", WATER, child=False, importtime=True)
    assert forked.returncode == here.returncode == ExitCode.OK, forked.stderr[-2000:]
    a, b = json.loads(forked.stdout), json.loads(here.stdout)
    for payload in (a, b):
        del payload["timings"]
    assert a == b and "1.8 litres" in a["answer"]
    # The asking process left Chroma and BM25 to the child (whose output goes nowhere).
    assert not {"chromadb", "bm25s"} & imported(forked.stderr)
    assert {"chromadb", "bm25s"} <= imported(here.stderr)


def test_text_mode_prints_the_same_either_way(indexed_data_dir: Path) -> None:
    forked = fresh_ask(indexed_data_dir, WATER, child=True)
    here = fresh_ask(indexed_data_dir, WATER, child=False)
    assert (forked.returncode, forked.stdout, forked.stderr) == (here.returncode, here.stdout, here.stderr)


def test_the_childs_error_is_raised_unchanged_with_its_exit_code(indexed_data_dir: Path) -> None:
    forked = fresh_ask(indexed_data_dir, "--collection", "nothing-here", WATER, child=True)
    here = fresh_ask(indexed_data_dir, "--collection", "nothing-here", WATER, child=False)
    assert forked.returncode == here.returncode == ExitCode.NO_INDEX
    assert forked.stderr == here.stderr
    assert "collection 'nothing-here' does not exist" in forked.stderr


KILLED = r"""
import os, signal, sys, json
from localgpt.settings.config import Settings
from localgpt.rag.store_child import StoreChild
from localgpt.rag.resources import Resources
from localgpt.rag.answer import RAG

settings = Settings(paths={"data_dir": sys.argv[1]})
when = sys.argv[2]
child = StoreChild.start(settings)
assert child is not None, "no child was forked"
if when == "before-ready":
    os.kill(child.pid, signal.SIGKILL)
res = Resources(settings, store_child=child)
store = res.store()
if when == "after-ready":
    os.kill(child.pid, signal.SIGKILL)
found = [s.source.rsplit("/", 1)[-1] + f"#{s.page}" for s in RAG(res).retrieve(sys.argv[3])]
rebuilt = sum(1 for _ in store.iter_all())  # not served by the child: opened here
child.close()
print(json.dumps({"found": found, "chunks": rebuilt, "store": type(store).__name__,
                  "chroma_here": "chromadb" in sys.modules}))
"""


def test_a_killed_child_leaves_the_question_to_this_process(indexed_data_dir: Path) -> None:
    results = {}
    for when in ("before-ready", "after-ready", "never"):
        proc = subprocess.run(
            [sys.executable, "-c", KILLED, str(indexed_data_dir), when, WATER],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        results[when] = json.loads(proc.stdout)
    # Killed before it was ready: the store opened here. After: its reads fell back to here.
    assert results["before-ready"]["store"] == "Store"
    assert results["after-ready"]["store"] == results["never"]["store"] == "RemoteStore"
    assert results["before-ready"]["found"] == results["after-ready"]["found"] == results["never"]["found"]
    assert "aurora-k7-manual.pdf#2" in results["never"]["found"]
    assert results["before-ready"]["chunks"] == results["never"]["chunks"] > 0
    assert all(r["chroma_here"] for r in results.values())  # iter_all opened the store here


STOPPED = r"""
import os, signal, sys, time
from localgpt.settings.config import Settings
from localgpt.rag.store_child import StoreChild

child = StoreChild.start(Settings(paths={"data_dir": sys.argv[1]}))
assert child is not None
os.kill(child.pid, signal.SIGSTOP)  # stuck: it will never see its pipe close
started = time.monotonic()
child.close()
try:
    os.kill(child.pid, 0)
    print("still there")
except ProcessLookupError:
    print(f"reaped after {time.monotonic() - started:.1f} s")
"""


def test_closing_a_stuck_child_kills_and_reaps_it(indexed_data_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", STOPPED, str(indexed_data_dir)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("reaped after"), proc.stdout
