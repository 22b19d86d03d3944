"""`localgpt ask` as a contract for shell scripts: stdout, stderr and exit codes, checked separately.

Real parts throughout: the bundled SmolLM2 GGUF, real Chroma over a copy of examples/docs (ingested
once per session) and the bundled embedder. Answers are kept short (max_tokens 48).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from localgpt.errors import ExitCode
from localgpt.rag.prompt import ABSTAIN_TEXT
from tests.conftest import default_sigint, run_cli

pytestmark = pytest.mark.llm

WATER = "How much water does the Aurora K7 water tank hold?"
OFF_TOPIC = "What is the capital of Australia?"
WARRANTY = "How long is the warranty on the Aurora K7?"
GASKET = "How much does the brew group gasket cost, and what is its part number?"
SHORT = {"LOCALGPT_LLM__MAX_TOKENS": "48"}
# The LLM's streaming contract: generated, every token shown as it comes (no grounding gate).
# Three passages, not six: half the prompt for the model to read, and the same path.
GENERATE = {
    "LOCALGPT_ANSWER__MODE": "generate",
    "LOCALGPT_ANSWER__UNSUPPORTED": "keep",
    "LOCALGPT_RETRIEVAL__K": "3",
}
EVIDENCE_LINE = re.compile(r'^  \[\d+\] .+, chars \d+-\d+: ".+"$')  # '  [1] x.pdf p.2, chars 78-110: "…"'
SOURCE_LINE = re.compile(r"^\[\d+\] .+  \(score \d+\.\d\d\)$")  # "[1] docs/x.pdf p.2  (score 0.51)"

SOURCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["n", "source", "page", "score", "chunk_id", "text"],
    "properties": {
        "n": {"type": "integer", "minimum": 1},
        "source": {"type": "string", "minLength": 1},
        "page": {"type": ["integer", "null"], "minimum": 1},
        "score": {"type": "number"},
        "chunk_id": {"type": "string", "minLength": 1},
        "text": {"type": "string", "minLength": 1},
    },
}
ANSWER_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["question", "answer", "abstained", "sources", "model", "timings", "tokens"],
    "properties": {
        "question": {"type": "string", "minLength": 1},
        "answer": {"type": "string"},
        "abstained": {"type": "boolean"},
        "sources": {"type": "array", "items": SOURCE_SCHEMA},
        "model": {"type": "string", "minLength": 1},
        "timings": {
            "type": "object",
            "required": ["retrieval_ms", "first_token_ms", "total_ms"],
            "properties": {
                key: {"type": "number", "minimum": 0}
                for key in ("retrieval_ms", "first_token_ms", "total_ms")
            },
        },
        "tokens": {
            "type": "object",
            "required": ["prompt", "completion"],
            "properties": {
                "prompt": {"type": "integer", "minimum": 0},
                "completion": {"type": "integer", "minimum": 0},
            },
        },
    },
}


def check_answer(payload: dict[str, Any]) -> dict[str, Any]:
    """Schema-valid, and the parts the schema can't say: numbered 1..n, and coherent timings."""
    jsonschema.validate(payload, ANSWER_SCHEMA)
    assert [s["n"] for s in payload["sources"]] == list(range(1, len(payload["sources"]) + 1))
    timings = payload["timings"]
    assert timings["retrieval_ms"] <= timings["total_ms"]
    assert timings["first_token_ms"] <= timings["total_ms"]
    return payload


def ask(data: Path, *args: str, env: dict[str, str] | None = None, input: str | None = None) -> Any:
    return run_cli("--data-dir", str(data), "ask", *args, env={**SHORT, **(env or {})}, input=input)


def assert_clean(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "exceed context window" not in stderr.lower()


def assert_one_line_error(proc: Any, code: ExitCode) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("localgpt: error: ")
    return lines[0]


def test_answerable_question_streams_only_the_answer(indexed_data_dir: Path) -> None:
    """The defaults (the bundled SmolLM2, so `auto` quotes the sources): the demo question."""
    proc = ask(indexed_data_dir, WATER)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert_clean(proc.stderr)

    # stdout: the answer and nothing else: the manual's sentence, cited.
    answer = proc.stdout.strip()
    heading, sentence = "2\\. Filling and First Use: ", "The water tank holds 1\\.8 litres\\. "
    assert re.fullmatch(heading + sentence + r"It is [^\[]+\. \[\d\]", answer), answer
    assert "localgpt:" not in proc.stdout
    assert not any(SOURCE_LINE.match(line) for line in proc.stdout.splitlines())

    # stderr: the sources, numbered, with path, page and score; then the evidence quotes.
    lines = proc.stderr.strip().splitlines()
    sources = [line for line in lines if SOURCE_LINE.match(line)]
    assert sources, proc.stderr
    assert all(line.startswith(f"[{n}] ") for n, line in enumerate(sources, 1))
    cited = answer[-2]  # the source the quote comes from: the manual's page 2
    page2 = [line for line in sources if "aurora-k7-manual.pdf p.2  (score " in line]
    assert page2 and page2[0].startswith(f"[{cited}] "), proc.stderr
    rest = [line for line in lines if line not in sources]
    assert rest[0] == "evidence:", proc.stderr
    quotes = [line for line in rest[1:] if EVIDENCE_LINE.match(line)]
    assert quotes == [line for line in rest[1:] if not line.startswith("localgpt: note: ")], proc.stderr
    assert "aurora-k7-manual.pdf p.2, chars " in quotes[0] and '"2. Filling and First Use"' in quotes[0]
    assert '"The water tank holds 1.8 litres."' in quotes[1]

    # The same question from stdin, as JSON: the schema holds, and its answer is exactly what the
    # text mode printed: stdout held the answer, the whole answer and nothing else.
    proc = ask(indexed_data_dir, "-", "--json", input=WATER + "\n")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert_clean(proc.stderr)
    assert len(proc.stdout.strip().splitlines()) == 1  # one JSON object, nothing else on stdout
    payload = check_answer(json.loads(proc.stdout))
    assert payload["answer"] == answer
    assert payload["question"] == WATER
    assert payload["abstained"] is False
    assert payload["mode"] == "extract"
    assert payload["model"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    for line, src in zip(sources, payload["sources"], strict=True):  # the same sources, both ways
        assert line.startswith(f"[{src['n']}] ") and Path(src["source"]).name in line
        assert f" p.{src['page']}  (score" in line if src["page"] else " p." not in line
    # Each evidence quote is verbatim in the chunk it cites, at the offsets given.
    by_n = {s["n"]: s for s in payload["sources"]}
    assert payload["evidence"], payload
    for quote in payload["evidence"]:
        cited = by_n[quote["n"]]
        assert cited["text"][quote["start"] : quote["end"]] == quote["quote"]
        assert (quote["source"], quote["page"], quote["chunk_id"]) == (
            cited["source"], cited["page"], cited["chunk_id"]
        )  # fmt: skip
    assert Path(payload["evidence"][0]["source"]).name == "aurora-k7-manual.pdf"
    assert payload["evidence"][0]["page"] == 2
    assert [c["supported"] for c in payload["citations"]] == [True, True, True]  # heading and two sentences
    assert payload["dropped"] == []
    assert payload["tokens"] == {"prompt": 0, "completion": 0}  # quoted: no LLM ran


def test_generated_answer_streams_only_the_answer(indexed_data_dir: Path) -> None:
    """Generate mode with every sentence kept: tokens stream to stdout, sources to stderr."""
    proc = ask(indexed_data_dir, WATER, env=GENERATE)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert_clean(proc.stderr)
    answer = proc.stdout.strip()
    assert answer and ABSTAIN_TEXT not in answer
    assert not any(SOURCE_LINE.match(line) for line in proc.stdout.splitlines())
    payload = check_answer(json.loads(ask(indexed_data_dir, WATER, "--json", env=GENERATE).stdout))
    assert payload["answer"] == answer  # same seed, same answer
    assert payload["mode"] == "generate"
    assert 0 < payload["tokens"]["completion"] <= 48
    assert payload["tokens"]["prompt"] > 0
    assert len(payload["citations"]) >= 1 and payload["dropped"] == []  # "keep" drops nothing


def test_off_topic_question_abstains_without_the_llm(indexed_data_dir: Path) -> None:
    proc = ask(indexed_data_dir, OFF_TOPIC)
    assert proc.returncode == ExitCode.ABSTAINED, proc.stderr
    assert proc.stdout == ABSTAIN_TEXT + "\n"
    assert_clean(proc.stderr)
    assert not any(line.startswith("[") for line in proc.stderr.splitlines())

    proc = ask(indexed_data_dir, OFF_TOPIC, "--json")
    assert proc.returncode == ExitCode.ABSTAINED, proc.stderr
    payload = check_answer(json.loads(proc.stdout))
    assert payload["answer"] == "I couldn't find this in your documents."
    assert payload["abstained"] is True
    assert payload["sources"] == []
    assert payload["tokens"] == {"prompt": 0, "completion": 0}  # the LLM was never called


def test_batch_writes_one_json_line_per_question_in_order(indexed_data_dir: Path) -> None:
    questions = [WATER, OFF_TOPIC, WARRANTY]
    proc = ask(indexed_data_dir, "--batch", "--k", "2", input="\n".join(questions) + "\n\n")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert_clean(proc.stderr)
    lines = proc.stdout.splitlines()
    assert len(lines) == 3, proc.stdout
    payloads = [check_answer(json.loads(line)) for line in lines]
    assert [p["question"] for p in payloads] == questions
    assert [p["abstained"] for p in payloads] == [False, True, False]
    assert all(len(p["sources"]) <= 2 for p in payloads)  # --k 2
    assert any(s["page"] == 2 for s in payloads[0]["sources"])
    assert any(Path(s["source"]).name == "warranty.md" for s in payloads[2]["sources"])
    assert payloads[1]["tokens"]["completion"] == 0


def test_source_glob_restricts_every_source(indexed_data_dir: Path) -> None:
    proc = ask(indexed_data_dir, GASKET, "--source", "*.csv", "--json")
    assert proc.returncode in (ExitCode.OK, ExitCode.ABSTAINED), proc.stderr
    payload = check_answer(json.loads(proc.stdout))
    assert payload["sources"], "the gasket is in spare-parts.csv: something must be retrieved"
    assert {Path(s["source"]).name for s in payload["sources"]} == {"spare-parts.csv"}
    assert any("LA-K7-114" in s["text"] for s in payload["sources"])


def test_budget_at_n_ctx_512_with_many_chunks(indexed_data_dir: Path) -> None:
    proc = ask(indexed_data_dir, WATER, "--k", "20", "--json", env={"LOCALGPT_LLM__N_CTX": "512", **GENERATE})
    assert proc.returncode in (ExitCode.OK, ExitCode.ABSTAINED), proc.stderr
    assert_clean(proc.stderr)
    payload = check_answer(json.loads(proc.stdout))
    tokens = payload["tokens"]
    assert tokens["prompt"] + 48 <= 512
    assert tokens["prompt"] + tokens["completion"] <= 512
    # 20 chunks of up to 200 tokens can't fit in 512: only what fitted is listed as a source.
    assert 1 <= len(payload["sources"]) < 20


def test_no_index_exits_4(data_dir: Path) -> None:
    proc = ask(data_dir, WATER)
    line = assert_one_line_error(proc, ExitCode.NO_INDEX)
    assert "localgpt ingest" in line


def test_missing_model_exits_5(indexed_data_dir: Path) -> None:
    proc = ask(indexed_data_dir, WATER, "--model", "/nonexistent.gguf")
    line = assert_one_line_error(proc, ExitCode.MODEL)
    assert "/nonexistent.gguf" in line
    assert "localgpt models pull" in line


def test_non_gguf_model_exits_5(indexed_data_dir: Path, tmp_path: Path) -> None:
    fake = tmp_path / "fake.gguf"
    fake.write_text("this is not a model\n" * 100)
    proc = ask(indexed_data_dir, WATER, "--model", str(fake))
    line = assert_one_line_error(proc, ExitCode.MODEL)
    assert str(fake) in line


def test_config_error_exits_2(indexed_data_dir: Path) -> None:
    proc = ask(indexed_data_dir, WATER, env={"LOCALGPT_LLM__N_CTX": "abc"})
    line = assert_one_line_error(proc, ExitCode.CONFIG)
    assert "llm.n_ctx" in line


def test_empty_question_is_a_usage_error(indexed_data_dir: Path) -> None:
    proc = ask(indexed_data_dir, "-", input="   \n")
    assert_one_line_error(proc, ExitCode.CONFIG)


def test_traceback_only_with_debug(data_dir: Path) -> None:
    plain = ask(data_dir, WATER)
    assert plain.returncode == ExitCode.NO_INDEX
    assert "Traceback" not in plain.stderr
    debug = run_cli("--debug", "--data-dir", str(data_dir), "ask", WATER, env=SHORT)
    assert debug.returncode != ExitCode.OK
    assert "Traceback" in debug.stderr
    assert "NoIndexError" in debug.stderr
    assert debug.stdout == ""


def _popen_ask(data: Path, question: str, max_tokens: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LOCALGPT_LLM__MAX_TOKENS": str(max_tokens), **GENERATE}
    return subprocess.Popen(
        [sys.executable, "-m", "localgpt", "--data-dir", str(data), "ask", question],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=default_sigint,
    )


def _interrupt(proc: subprocess.Popen[bytes]) -> tuple[str, str]:
    assert proc.poll() is None, "ask finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return out.decode(errors="replace"), err.decode(errors="replace")


def test_sigint_while_streaming_exits_130(indexed_data_dir: Path) -> None:
    question = "Describe every cleaning, descaling and error code step for the Aurora K7 in full detail."
    proc = _popen_ask(indexed_data_dir, question, max_tokens=384)
    try:
        assert proc.stdout is not None
        first = os.read(proc.stdout.fileno(), 64)  # blocks until the answer starts streaming
        assert first, proc.stderr.read().decode() if proc.stderr else ""
        _, err = _interrupt(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "localgpt: interrupted"
    assert not any(line.startswith("[1] ") for line in err.splitlines())  # no sources: no answer


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see what is loaded")
def test_sigint_while_loading_exits_130(indexed_data_dir: Path) -> None:
    proc = _popen_ask(indexed_data_dir, WATER, max_tokens=48)
    maps = Path(f"/proc/{proc.pid}/maps")
    try:
        # Wait until the command is running (the embedder's runtime is loaded), then interrupt.
        deadline = time.monotonic() + 300
        while "onnxruntime" not in maps.read_text() and proc.poll() is None:
            assert time.monotonic() < deadline, "ask never started embedding"
            time.sleep(0.05)
        out, err = _interrupt(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == "localgpt: interrupted"
    assert out == ""
