"""`localgpt sources` lists what is indexed; `localgpt forget` takes files or folders out of the index."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from chromadb.api.client import SharedSystemClient

from localgpt.errors import ExitCode
from localgpt.index.store import Store
from localgpt.rag.resources import Resources
from localgpt.settings.config import load_settings
from tests.conftest import EXAMPLES, run_cli


def read_index(data_dir: Path) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """(chunk id -> source, manifest path -> chunk ids), read in-process."""
    res = Resources(load_settings(None, {"paths.data_dir": str(data_dir)}).settings)
    try:
        got = Store.open(res.settings).collection.get(include=["metadatas"])
        manifest = {path: rec.chunk_ids for path, rec in res.manifest.all().items()}
    finally:
        res.manifest.close()
        SharedSystemClient.clear_system_cache()
    chunks = {i: str(m["source"]) for i, m in zip(got["ids"], got["metadatas"], strict=True)}
    assert len(chunks) == len(got["ids"]), "duplicate chunk ids"
    assert sorted(cid for ids in manifest.values() for cid in ids) == sorted(chunks)
    return chunks, manifest


def sources_json(data_dir: Path) -> dict[str, Any]:
    proc = run_cli("--data-dir", str(data_dir), "sources", "--json")
    assert proc.returncode == ExitCode.OK, proc.stderr
    return json.loads(proc.stdout)


def forget(data_dir: Path, *paths: str) -> Any:
    return run_cli("--data-dir", str(data_dir), "forget", *paths)


def test_sources_and_forget(data_dir: Path, isolated: Path) -> None:
    # Inside the working directory, so the paths below are relative, as a user would type them.
    shutil.copytree(EXAMPLES, isolated / "docs")
    docs = (isolated / "docs").resolve()
    proc = run_cli("--data-dir", str(data_dir), "ingest", "docs", "--quiet")
    assert proc.returncode == ExitCode.OK, proc.stderr
    chunks, _ = read_index(data_dir)
    per_source = Counter(chunks.values())

    listed = sources_json(data_dir)
    assert listed["collection"] == "documents"
    rows = {row["source"]: row for row in listed["files"]}
    assert sorted(rows) == sorted(str(p) for p in docs.iterdir())
    assert len(rows) == 7
    assert {path: row["chunks"] for path, row in rows.items()} == dict(per_source)
    assert rows[str(docs / "aurora-k7-manual.pdf")]["pages"] == 4
    assert all(row["size"] > 0 and len(row["sha256"]) == 64 for row in rows.values())

    plain = run_cli("--data-dir", str(data_dir), "sources")
    assert plain.returncode == ExitCode.OK
    assert "docs/faq.txt" in plain.stdout and len(plain.stdout.splitlines()) == 7
    assert f"7 files, {len(chunks)} chunks" in plain.stderr

    # One file: exactly its chunks go, and the others keep theirs.
    faq = str(docs / "faq.txt")
    proc = forget(data_dir, "docs/faq.txt")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert proc.stdout == ""
    assert f"({per_source[faq]} chunks)" in proc.stderr
    after_one, manifest_one = read_index(data_dir)
    assert after_one == {i: s for i, s in chunks.items() if s != faq}
    assert faq not in manifest_one
    assert [row["source"] for row in sources_json(data_dir)["files"]] == sorted(set(rows) - {faq})

    # A forgotten file is new again to the next ingest; nothing else is touched.
    proc = run_cli("--data-dir", str(data_dir), "ingest", "docs", "--json")
    assert proc.returncode == ExitCode.OK, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["added"] == [faq] and summary["unchanged"] == 6
    assert read_index(data_dir)[0] == chunks  # the same ids as before: they are stable

    # Never indexed, or does not exist: a usage error, and the index is untouched.
    (isolated / "stray.txt").write_text("not indexed\n", encoding="utf-8")
    for path in ("stray.txt", "no/such/folder"):
        proc = forget(data_dir, path)
        assert proc.returncode == ExitCode.CONFIG, proc.stderr
        assert "nothing indexed under" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert read_index(data_dir)[0] == chunks

    # A folder: everything under it goes.
    proc = forget(data_dir, "docs")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert proc.stderr.count("forgot ") == 7
    after_all, manifest_all = read_index(data_dir)
    assert after_all == {} and manifest_all == {}
    assert sources_json(data_dir)["files"] == []
    empty = run_cli("--data-dir", str(data_dir), "sources")
    assert empty.returncode == ExitCode.NO_INDEX
    assert "empty" in empty.stderr

    proc = forget(data_dir, "docs")
    assert proc.returncode == ExitCode.CONFIG
