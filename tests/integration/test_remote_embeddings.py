"""`[embeddings] backend = "openai"`: ingest and search embedding through a real `localgpt serve`
on 127.0.0.1, against the same commands embedding in-process.

One module server (with an API key, so a wrong token can be tried) serves /v1/embeddings from
the bundled MiniLM; it needs no index and no model of its own for that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from localgpt.errors import ExitCode
from localgpt.index.store import Store
from localgpt.settings.config import load_settings
from tests.conftest import EXAMPLES, run_cli
from tests.helpers import build_index, clean_env, free_port, read_index, stop

KEY = "team-secret"
QUESTIONS = (
    "How much water does the Aurora K7 water tank hold?",
    "Which water filter should I use?",
    "How much does a double filter basket cost?",
    "How long is the warranty?",
)


@pytest.fixture(scope="module")
def embed_server(tmp_path_factory: pytest.TempPathFactory, embedder_cache: Path) -> Iterator[str]:
    """The /v1 URL of a real `localgpt serve` with an empty data dir."""
    root = tmp_path_factory.mktemp("gpu-box")
    data = root / "data"
    data.mkdir()
    (data / "embedders").symlink_to(embedder_cache, target_is_directory=True)
    log = root / "serve.log"
    env = {**clean_env(root / "home"), "OMP_WAIT_POLICY": "PASSIVE"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "localgpt", "--data-dir", str(data),
             "serve", "--port", "0", "--api-key", KEY],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (data / "server.json").is_file():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        url = json.loads((data / "server.json").read_text())["url"]
        while not _embedder_loaded(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the server did not load:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield f"{url}/v1"
    finally:
        stop(proc)


def _embedder_loaded(url: str) -> bool:
    try:
        health = httpx.get(f"{url}/health", headers={"Authorization": f"Bearer {KEY}"}, timeout=5).json()
    except httpx.HTTPError:
        return False
    return health.get("status") in ("ready", "failed")  # "failed": no chat model; embeddings still work


def remote_env(base_url: str, key: str = KEY) -> dict[str, str]:
    return {
        "LOCALGPT_EMBEDDINGS__BACKEND": "openai",
        "LOCALGPT_EMBEDDINGS__BASE_URL": base_url,
        "LOCALGPT_EMBEDDINGS__API_KEY": key,
        "LOCALGPT_RETRIEVAL__MODE": "vector",  # the embeddings alone decide the ranking
    }


def search(data: Path, question: str, env: dict[str, str] | None = None) -> list[tuple[str, Any, float]]:
    proc = run_cli("--data-dir", str(data), "search", question, "--json", "-k", "4",
                   env={"LOCALGPT_RETRIEVAL__MODE": "vector", **(env or {})})  # fmt: skip
    # 3: vector scores alone may fall under the abstain threshold; the ranking is printed all the same.
    assert proc.returncode in (ExitCode.OK, ExitCode.ABSTAINED), proc.stderr
    sources = json.loads(proc.stdout)["sources"]
    return [(s["source"], s.get("page"), round(float(s["score"]), 3)) for s in sources]


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory, embedder_cache: Path) -> Path:
    return build_index(tmp_path_factory.mktemp("laptop-local"), embedder_cache, EXAMPLES)


def test_remote_ingest_gives_the_same_chunks_and_top_4_as_in_process(
    embed_server: str, in_process: Path, data_dir: Path
) -> None:
    proc = run_cli("--data-dir", str(data_dir), "ingest", str(EXAMPLES), "-q", env=remote_env(embed_server))
    assert proc.returncode == ExitCode.OK, proc.stderr
    local, remote = read_index(in_process), read_index(data_dir)
    assert remote.texts == local.texts  # the local copy of the tokenizer counts: the same chunks
    assert remote.collection_meta["embedder"] == local.collection_meta["embedder"] == "all-MiniLM-L6-v2"
    assert remote.collection_meta["dimension"] == local.collection_meta["dimension"] == 384
    for question in QUESTIONS:
        expected = search(in_process, question)
        assert len(expected) == 4
        assert search(data_dir, question, remote_env(embed_server)) == expected, question
        # The same model under the same name: an in-process index takes remote questions too.
        assert search(in_process, question, remote_env(embed_server)) == expected, question


def test_a_model_only_the_server_has_is_counted_by_the_estimate(embed_server: str, data_dir: Path) -> None:
    env = {
        **remote_env(embed_server),
        "LOCALGPT_EMBEDDINGS__MODEL": "localgpt",
    }  # no local model of that name
    proc = run_cli("--data-dir", str(data_dir), "ingest", str(EXAMPLES), "-q", env=env)
    assert proc.returncode == ExitCode.OK, proc.stderr
    index = read_index(data_dir)
    assert index.collection_meta["embedder"] == "all-MiniLM-L6-v2"
    # bytes / 2 over-counts English about twice: every chunk stays well inside 254 real tokens.
    assert max(len(t.encode()) for t in index.texts.values()) <= 2 * 254
    assert search(data_dir, QUESTIONS[0], env)[0][0].endswith("aurora-k7-manual.pdf")


def test_wrong_token_is_one_line_exit_5_and_nothing_is_lost(embed_server: str, in_process: Path) -> None:
    before = read_index(in_process)
    proc = run_cli("--data-dir", str(in_process), "ingest", str(EXAMPLES),
                   env=remote_env(embed_server, key="wrong"))  # fmt: skip
    assert proc.returncode == ExitCode.MODEL, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "refused the token" in proc.stderr
    assert read_index(in_process).texts == before.texts


def test_server_down_is_one_line_exit_11_and_nothing_is_lost(in_process: Path) -> None:
    before = read_index(in_process)
    env = remote_env(f"http://127.0.0.1:{free_port()}/v1")
    for command in (("ingest", str(EXAMPLES)), ("search", QUESTIONS[0])):
        proc = run_cli("--data-dir", str(in_process), *command, env=env)
        assert proc.returncode == ExitCode.NETWORK, proc.stderr
        assert proc.stderr.strip().count("\n") == 0 and "cannot reach the embedding server" in proc.stderr
    assert read_index(in_process).texts == before.texts


def test_dimension_mismatch_is_exit_8(embed_server: str, data_dir: Path) -> None:
    # A collection some machine filled with another 768-d model that was also named MiniLM.
    settings = load_settings(None, {"paths.data_dir": str(data_dir)}).settings
    Store.open(settings, "all-MiniLM-L6-v2", 768, create=True)
    proc = run_cli("--data-dir", str(data_dir), "ingest", str(EXAMPLES), env=remote_env(embed_server))
    assert proc.returncode == ExitCode.INDEX_MISMATCH, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "384-d" in proc.stderr and "768-d" in proc.stderr
    assert os.path.isdir(data_dir / "chroma")
