"""What several test modules share: small builders, so modules never import from each other."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from chromadb.api.client import SharedSystemClient
from langchain_core.documents import Document

from localgpt.errors import ExitCode
from localgpt.index.manifest import FileRecord
from localgpt.index.store import Store
from localgpt.rag.resources import Resources
from localgpt.settings.config import load_settings
from tests.conftest import run_cli

SERVER_STARTUP_S = 120


def chunk(source: str, text: str, score: float, page: int | None = None, **meta: Any) -> Document:
    """A retrieved chunk as the retriever returns it."""
    return Document(page_content=text, metadata={"source": source, "page": page, "score": score, **meta})


def python_docs_corpus(dest: Path, copies: int = 1) -> Path:
    """Real English documentation on every machine: the 79 topics of the Python reference that
    CPython ships for `help()` (pydoc_data, about 465 kB), one text file each, `copies` times over
    (copies differ by a header line, so none is skipped as a duplicate)."""
    from pydoc_data.topics import topics

    dest.mkdir(parents=True, exist_ok=True)
    for copy in range(copies):
        for name, text in topics.items():
            (dest / f"{name}-{copy}.txt").write_text(f"Python reference ({copy}): {name}\n\n{text}")
    return dest


@dataclass
class Index:
    """What the collection and the manifest hold, read in-process."""

    metas: dict[str, dict[str, Any]]  # chunk id -> metadata
    texts: dict[str, str]  # chunk id -> text
    manifest: dict[str, FileRecord]
    collection_meta: dict[str, Any]

    @property
    def ids(self) -> list[str]:
        return sorted(self.metas)

    def ids_of(self, source: Path | str) -> list[str]:
        return sorted(i for i, meta in self.metas.items() if meta.get("source") == str(source))

    def per_source(self) -> Counter[str]:
        return Counter(str(meta["source"]) for meta in self.metas.values())


def read_index(data_dir: Path, collection: str | None = None) -> Index:
    overrides = {"paths.data_dir": str(data_dir), "store.collection": collection}
    res = Resources(load_settings(None, overrides).settings)
    try:
        store = Store.open(res.settings)  # no embedder check: a test may have faked a mismatch
        got = store.collection.get(include=["metadatas", "documents"])
        manifest = res.manifest.all()
        collection_meta = dict(store.collection.metadata or {})
    finally:
        res.manifest.close()
        # A later read must see what the next subprocess wrote, not this process's cached segments.
        SharedSystemClient.clear_system_cache()
    ids = got["ids"]
    assert len(ids) == len(set(ids)), "duplicate chunk ids in the collection"
    return Index(
        metas={i: dict(m or {}) for i, m in zip(ids, got["metadatas"] or [], strict=True)},
        texts={i: t or "" for i, t in zip(ids, got["documents"] or [], strict=True)},
        manifest=manifest,
        collection_meta=collection_meta,
    )


def assert_consistent(index: Index) -> None:
    """Manifest and collection agree exactly: every chunk belongs to one committed file."""
    manifest_ids = [cid for rec in index.manifest.values() for cid in rec.chunk_ids]
    assert len(manifest_ids) == len(set(manifest_ids)), "a chunk id is listed twice in the manifest"
    assert sorted(manifest_ids) == index.ids
    for path, rec in index.manifest.items():
        assert index.ids_of(path) == sorted(rec.chunk_ids), path


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALGPT_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local"))
    return env


def build_index(root: Path, embedder_cache: Path, *folders: Path) -> Path:
    """A data dir under `root` holding a real index of `folders` (for module-scoped fixtures)."""
    data = root / "data"
    data.mkdir()
    (data / "embedders").symlink_to(embedder_cache, target_is_directory=True)
    home = root / "home"
    home.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "localgpt", "--data-dir", str(data), "ingest", *map(str, folders), "-q"],
        capture_output=True, text=True, env=clean_env(home), cwd=root, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return data


def copy_index(source: Path, target: Path) -> Path:
    """Copy a data dir's contents into `target` (which already links the shared embedder export)."""
    for item in source.iterdir():
        if item.name == "embedders":
            continue
        if item.is_dir():
            shutil.copytree(item, target / item.name, symlinks=True)
        else:
            shutil.copy2(item, target / item.name)
    return target


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the server exited ({proc.returncode}) while starting:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    pytest.fail(f"the server did not answer {url} within {SERVER_STARTUP_S} s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def ingest(data_dir: Path, *args: str, expect: int = ExitCode.OK) -> dict[str, Any]:
    """Run `localgpt ingest ... --json`; check the exit code, return the summary."""
    proc = run_cli("--data-dir", str(data_dir), "ingest", *args, "--json")
    assert proc.returncode == expect, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    summary = json.loads(proc.stdout)
    assert summary["exit_code"] == expect
    return summary


@contextlib.contextmanager
def chroma_run(base: Path) -> Iterator[str]:
    """A real `chroma run` server on 127.0.0.1 storing under `base`; its URL, stopped on exit."""
    beside = Path(sys.executable).with_name("chroma")
    cli = str(beside) if beside.exists() else shutil.which("chroma")
    if cli is None:
        pytest.skip("the `chroma` CLI is not installed")
    port = free_port()
    log = base / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [cli, "run", "--path", str(base / "db"), "--port", str(port), "--host", "127.0.0.1"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/api/v2/heartbeat", proc, log)
        yield url
    finally:
        stop(proc)
