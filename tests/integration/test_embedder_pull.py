"""`localgpt models pull/use` for a sentence-transformers embedder, against a stand-in hub.

The hub is the real HTTP server of test_models_pull.py on 127.0.0.1 (HF_ENDPOINT). It answers the
model API (`/api/models/{repo}/revision/{rev}?blobs=true`: the commit and each file's published
hash, LFS sha256 for the weights, git blob sha1 for the rest) and serves the files of a real
sentence-transformers folder: the bundled all-MiniLM-L6-v2, standing in for multilingual-e5-small.
Its catalogue entry carries e5's prefixes, so the test can see them applied.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from localgpt.errors import ExitCode
from localgpt.models.files import BUNDLED_EMBEDDER_NAME, resolve_embedder
from localgpt.models.pull_embedder import git_blob_sha1
from tests.conftest import run_cli
from tests.hub import Hub, serving

REPO = "test-org/multilingual-stand-in"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
NAME = "test-e5"
LFS = ("model.safetensors",)


def _bundled_folder() -> Path:
    return Path(resolve_embedder("auto")[1])


def _listing(folder: Path) -> dict[str, object]:
    siblings = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        data = path.read_bytes()
        sibling: dict[str, object] = {"rfilename": rel, "size": len(data)}
        if rel in LFS:
            sibling["blobId"] = "f" * 40  # the pointer file's id, not the contents'
            sibling["lfs"] = {
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                "pointerSize": 134,
            }
        else:
            sibling["blobId"] = git_blob_sha1(path)
        siblings.append(sibling)
    return {"id": REPO, "sha": COMMIT, "siblings": siblings}


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    folder = _bundled_folder()
    state = Hub(files={})
    api = f"/api/models/{REPO}/revision/main?blobs=true"
    state.files[api] = json.dumps(_listing(folder)).encode()
    for path in folder.rglob("*"):
        if path.is_file():
            state.serve(REPO, path.relative_to(folder).as_posix(), path.read_bytes(), revision=COMMIT)
    with serving(state, monkeypatch) as served:
        yield served


@pytest.fixture
def project(isolated: Path) -> Path:
    (isolated / "config.toml").write_text(
        '[paths]\ndata_dir = "data"\nmodels_dir = "models"\n\n'
        '[embeddings]\n# which embedder\nmodel = "auto"\n'
    )
    models = isolated / "models"
    models.mkdir()
    entry = {
        "name": NAME,
        "kind": "embedder",
        "repo": REPO,
        "file": "model.safetensors",
        "query_prefix": "query: ",
        "passage_prefix": "passage: ",
        "dimension": 384,
        "languages": "multilingual",
        "licence": "Apache-2.0",
    }
    (models / "catalogue.json").write_text(json.dumps({"models": [entry]}))
    docs = isolated / "docs"
    docs.mkdir()
    (docs / "zh.md").write_text(
        "# 预热\n\n咖啡机的预热时间为 45 秒。指示灯缓慢闪烁时不要打开水箱。\n", encoding="utf-8"
    )
    (docs / "en.md").write_text("# Tank\n\nThe water tank holds 1.8 litres.\n", encoding="utf-8")
    return isolated


@pytest.mark.slow
def test_pull_use_ingest_with_a_second_embedder(project: Path, hub: Hub) -> None:
    # An index built with the bundled embedder...
    first = run_cli("ingest", "docs", "--quiet")
    assert first.returncode == ExitCode.OK, first.stderr

    pulled = run_cli("models", "pull", NAME)
    assert pulled.returncode == ExitCode.OK, pulled.stderr
    assert pulled.stdout == ""
    folder = project / "models" / NAME
    assert f"saved {folder}" in pulled.stderr and "published hash" in pulled.stderr
    bundled = _bundled_folder()
    for name in ("model.safetensors", "tokenizer.json", "modules.json", "1_Pooling/config.json"):
        assert (folder / name).read_bytes() == (bundled / name).read_bytes()
    assert not (folder / "README.md").exists()  # only what sentence-transformers needs
    marker = json.loads((folder / "localgpt-pull.json").read_text())
    assert marker["commit"] == COMMIT and marker["repo"] == REPO
    assert (
        marker["files"]["model.safetensors"]
        == hashlib.sha256((bundled / "model.safetensors").read_bytes()).hexdigest()
    )
    fetched = [r["path"] for r in hub.requests]
    assert fetched[0] == f"/api/models/{REPO}/revision/main?blobs=true"
    assert all(p.startswith(f"/{REPO}/resolve/{COMMIT}/") for p in fetched[1:])  # one commit for all
    assert not (project / "models" / f".{NAME}.partial").exists()

    listed = json.loads(run_cli("models", "list", "--json").stdout)
    row = next(r for r in listed["catalogue"] if r["name"] == NAME)
    assert row["status"] == "downloaded" and row["active"] is False

    used = run_cli("models", "use", NAME)
    assert used.returncode == ExitCode.OK, used.stderr
    config = (project / "config.toml").read_text()
    assert tomllib.loads(config)["embeddings"]["model"] == NAME
    assert "# which embedder" in config  # comments kept
    assert "--rebuild" in used.stderr

    # ...refuses the other embedder's vectors, and says how to go on.
    refused = run_cli("ingest", "docs", "--quiet")
    assert refused.returncode == ExitCode.INDEX_MISMATCH, refused.stderr
    assert (
        "--rebuild" in refused.stderr and BUNDLED_EMBEDDER_NAME in refused.stderr and NAME in refused.stderr
    )

    rebuilt = run_cli("ingest", "docs", "--rebuild", "--quiet")
    assert rebuilt.returncode == ExitCode.OK, rebuilt.stderr
    exports = list((project / "data" / "embedders" / f"{NAME}-onnx" / "onnx").glob("model_*int8_*.onnx"))
    assert exports, "the pulled embedder gets the same cached int8 ONNX export as the bundled one"

    again = run_cli("models", "pull", NAME)
    assert again.returncode == ExitCode.OK and "already downloaded" in again.stderr

    removed = run_cli("models", "remove", NAME, "--yes")
    assert removed.returncode == ExitCode.OK, removed.stderr
    assert not folder.exists() and f"deleted {folder}" in removed.stderr


def test_prefixes_come_from_the_catalogue(project: Path, hub: Hub, embedder_cache: Path) -> None:
    from localgpt.embed.registry import load_embedder
    from localgpt.settings.config import EmbeddingsSettings

    assert run_cli("models", "pull", NAME).returncode == ExitCode.OK
    models_dir = project / "models"
    e5 = load_embedder(EmbeddingsSettings(model=NAME), embedder_cache, models_dir)
    plain = load_embedder(EmbeddingsSettings(model="auto"), embedder_cache, models_dir)
    assert (e5.name, e5.query_prefix, e5.passage_prefix) == (NAME, "query: ", "passage: ")
    assert (plain.query_prefix, plain.passage_prefix) == ("", "")
    question, passage = "预热要多久？", "预热时间为 45 秒。"
    # Same weights, so the pulled model's vectors are the bundled one's of the prefixed text.
    np.testing.assert_allclose(e5.embed_query(question), plain.embed_query("query: " + question), atol=1e-5)
    np.testing.assert_allclose(
        e5.embed_documents([passage])[0], plain.embed_query("passage: " + passage), atol=1e-5
    )
    assert not np.allclose(e5.embed_query(question), plain.embed_query(question), atol=1e-3)


def test_a_file_that_does_not_match_its_hash_is_not_kept(project: Path, hub: Hub) -> None:
    real = (_bundled_folder() / "tokenizer_config.json").read_bytes()
    hub.serve(REPO, "tokenizer_config.json", real.replace(b"true", b"tru3", 1), revision=COMMIT)  # same size
    proc = run_cli("models", "pull", NAME)
    assert proc.returncode == ExitCode.MODEL, proc.stderr
    assert "tokenizer_config.json does not match the hub's hash" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (project / "models" / NAME).exists()


def test_a_catalogue_embedder_that_is_not_pulled_names_the_pull_command(project: Path) -> None:
    proc = run_cli("--config", "config.toml", "ingest", "docs", env={"LOCALGPT_EMBEDDINGS__MODEL": NAME})
    assert proc.returncode == ExitCode.MODEL, proc.stderr
    assert f"localgpt models pull {NAME}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_models_use_refuses_an_embedder_that_is_not_pulled(project: Path) -> None:
    proc = run_cli("models", "use", NAME)
    assert proc.returncode == ExitCode.MODEL
    assert f"localgpt models pull {NAME}" in proc.stderr
    assert tomllib.loads((project / "config.toml").read_text())["embeddings"]["model"] == "auto"
