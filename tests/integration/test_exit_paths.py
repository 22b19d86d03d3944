"""Exit codes in the right category: a closed pipe is quiet, a full disk under the embedder cache is
a storage error (10) that leaves no half-written export behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from localgpt.errors import ExitCode
from tests.conftest import EXAMPLES, ROOT


def to_closed_pipe(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with stdout on a real pipe whose reader has already gone (`... | head -1` once
    head has exited): the first write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "localgpt", *args],
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=600,
        )  # fmt: skip
    finally:
        os.close(write_end)


def test_output_to_a_closed_pipe_exits_quietly(indexed_data_dir: Path) -> None:
    data = str(indexed_data_dir)
    for args in (
        ("sources",),
        ("sources", "--json"),
        ("ask", "--json", "qwzx plmk vrtz"),  # abstains: no model needed
        ("ingest", "--json", str(indexed_data_dir.parent / "docs")),  # unchanged: writes nothing
    ):
        proc = to_closed_pipe("--data-dir", data, *args)
        assert proc.returncode == ExitCode.OK, (args, proc.returncode, proc.stderr)
        assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, args
        assert "error" not in proc.stderr, (args, proc.stderr)


FULL_DISK_DRIVER = r"""
import errno, os, sys
from sentence_transformers import SentenceTransformer

def save_pretrained(self, path, *args, **kwargs):
    # What a disk filling up mid-export looks like: part of the files written, then ENOSPC.
    os.makedirs(os.path.join(path, "onnx"), exist_ok=True)
    with open(os.path.join(path, "onnx", "model.onnx"), "wb") as fh:
        fh.write(bytes(2 << 20))
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.path.join(path, "onnx", "model.onnx"))

SentenceTransformer.save_pretrained = save_pretrained
from localgpt.cli import main

sys.exit(main(sys.argv[1:]))
"""


def test_a_full_disk_while_caching_the_embedder_is_exit_10(tmp_path: Path) -> None:
    data = tmp_path / "data"  # no shared embedder cache: this run must export its own
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "note.md").write_text((EXAMPLES / "warranty.md").read_text())
    proc = subprocess.run(
        [sys.executable, "-c", FULL_DISK_DRIVER, "--data-dir", str(data), "ingest", str(docs)],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == ExitCode.STORAGE, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("localgpt: error: cannot cache the embedder export: the disk holding ")
    assert "is full" in last and "Traceback" not in proc.stderr
    assert list((data / "embedders").iterdir()) == []  # no temp folder left behind
