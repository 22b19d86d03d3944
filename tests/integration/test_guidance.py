"""Guidance that used to be missing or wrong (issue 16, problem 8), each through the real CLI.

A --source glob that matches nothing, a --k that gets capped, a configured models_dir that isn't
there, a file emptied to 0 bytes, and a three-part question. Real parts: Chroma over a copy of
examples/docs, the bundled embedder and SmolLM2 (short answers).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localgpt.errors import ExitCode
from localgpt.rag.answer import RAG
from localgpt.rag.resources import Resources
from localgpt.rag.subqueries import split_question
from localgpt.settings.config import Settings
from tests.conftest import run_cli

SHORT = {"LOCALGPT_LLM__MAX_TOKENS": "24"}
WATER = "How much water does the Aurora K7 water tank hold?"
THREE_PARTS = (
    "Please tell me about the warranty period and the descaling interval and the water tank capacity."
)


def notes(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("localgpt: ")]


def test_a_source_glob_matching_no_file_says_so(indexed_data_dir: Path) -> None:
    args = ("--data-dir", str(indexed_data_dir), "ask", "--source", "*.nomatch")
    proc = run_cli(*args, "--json", WATER, env=SHORT)
    assert proc.returncode == ExitCode.ABSTAINED, proc.stderr
    payload = json.loads(proc.stdout)
    said = "--source '*.nomatch' matched none of the 7 indexed files, so nothing was searched"
    assert payload["abstained"] is True and payload["sources"] == []
    assert len(payload["notices"]) == 1 and payload["notices"][0].startswith(said)
    assert notes(proc.stderr) == [f"localgpt: note: {payload['notices'][0]}"]

    proc = run_cli(*args, WATER, env=SHORT)  # as text: the same line on stderr
    assert proc.returncode == ExitCode.ABSTAINED
    assert any(line.startswith(f"localgpt: note: {said}") for line in proc.stderr.splitlines())

    # A glob that matches stays quiet.
    proc = run_cli(
        "--data-dir", str(indexed_data_dir), "ask", "--source", "*.pdf", "--json", WATER, env=SHORT
    )
    assert json.loads(proc.stdout)["notices"] == []


@pytest.mark.llm
def test_a_capped_k_is_reported(indexed_data_dir: Path) -> None:
    proc = run_cli("--data-dir", str(indexed_data_dir), "ask", "--k", "100", "--json", WATER, env=SHORT)
    assert proc.returncode == ExitCode.OK, proc.stderr
    payload = json.loads(proc.stdout)
    used = len(payload["sources"])
    assert 0 < used < 100
    assert payload["notices"] == [
        f"--k 100: {used} chunks were used, not 100 (each search fetches at most [retrieval] fetch_k = 24 "
        "candidates; the prompt holds what fits in [llm] n_ctx = 4096 tokens)"
    ]
    assert f"localgpt: note: {payload['notices'][0]}" in proc.stderr.splitlines()

    # Within the cap: no notice.
    proc = run_cli("--data-dir", str(indexed_data_dir), "ask", "--k", "2", "--json", WATER, env=SHORT)
    assert json.loads(proc.stdout)["notices"] == []


@pytest.mark.llm
def test_a_missing_models_dir_warns_instead_of_falling_back_silently(
    indexed_data_dir: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "nonexistent"
    env = {**SHORT, "LOCALGPT_PATHS__MODELS_DIR": str(missing)}
    warning = f"[paths] models_dir {missing} does not exist"

    proc = run_cli("--data-dir", str(indexed_data_dir), "ask", WATER, env=env)
    assert proc.returncode == ExitCode.OK, proc.stderr  # the bundled model still answers
    assert any(line.startswith(f"localgpt: warning: {warning}") for line in proc.stderr.splitlines())

    proc = run_cli("--data-dir", str(indexed_data_dir), "doctor", "--json", env=env)
    report = json.loads(proc.stdout)
    check = next(c for c in report["checks"] if c["section"] == "model" and c["name"] == "models_dir")
    assert check["status"] == "warn" and check["detail"].startswith(warning)

    # Not configured (a fresh install with no models folder): nothing to warn about.
    proc = run_cli("--data-dir", str(indexed_data_dir), "doctor", "--json", env=SHORT)
    assert not [c for c in json.loads(proc.stdout)["checks"] if c["name"] == "models_dir"]


def test_a_file_emptied_to_zero_bytes_leaves_the_index(data_dir: Path, docs: Path) -> None:
    proc = run_cli("--data-dir", str(data_dir), "ingest", str(docs), "--json")
    assert proc.returncode == ExitCode.OK, proc.stderr
    faq = docs / "faq.txt"
    before = Resources(Settings(paths={"data_dir": str(data_dir)})).manifest.get(str(faq))
    assert before is not None and before.chunk_ids
    faq.write_bytes(b"")

    proc = run_cli("--data-dir", str(data_dir), "ingest", str(docs), "--json")
    summary = json.loads(proc.stdout)
    assert summary["removed"] == [str(faq)]
    reason = f"empty file (its {len(before.chunk_ids)} old chunks were removed)"
    assert summary["skipped"] == [{"path": str(faq), "reason": reason}]
    assert proc.returncode == ExitCode.INGEST_PARTIAL  # as for any empty file: listed, with its reason
    resources = Resources(Settings(paths={"data_dir": str(data_dir)}))
    assert resources.manifest.get(str(faq)) is None
    assert not resources.store().ids_where({"source": str(faq)})


def test_a_three_part_question_is_split_into_its_parts() -> None:
    assert split_question(THREE_PARTS) == [
        "the warranty period",
        "the descaling interval",
        "the water tank capacity",
    ]
    assert split_question("How long is the warranty and how do I register?") == [
        "How long is the warranty",
        "how do I register",
    ]
    for whole in (
        WATER,
        "What is the difference between the K5 and the K7?",  # "the K7" is no question
        "How much does the brew group gasket cost, and what is its part number?",  # "its" needs part 1
        "salt and pepper",
        # From the dev eval set: "and" inside one question, and quoted text.
        "How many date and time functions does SQLite support?",
        "Which character must not appear in Mercurial bookmark, tag, and branch names?",
        'Which SQLite C API function is documented under the heading "Identify and handle IN constraints"?',
        "Which manual is recommended to people whose first language isn't English and who don't know music?",
    ):
        assert split_question(whole) == [whole]


@pytest.mark.llm
def test_a_three_part_question_gets_sources_for_each_part(indexed_data_dir: Path) -> None:
    rag = RAG(Resources(Settings(paths={"data_dir": str(indexed_data_dir)})))
    texts = [s.text for s in rag.retrieve(THREE_PARTS)]
    assert any("27 months" in t for t in texts)  # the warranty period
    assert any("every 6 weeks" in t for t in texts)  # the descaling interval
    assert any("1.8" in t for t in texts)  # the water tank

    proc = run_cli("--data-dir", str(indexed_data_dir), "ask", "--json", THREE_PARTS, env=SHORT)
    assert proc.returncode == ExitCode.OK, proc.stderr  # before: refused (exit 3), no sources
    payload = json.loads(proc.stdout)
    assert payload["abstained"] is False
    files = {Path(s["source"]).name for s in payload["sources"]}
    assert {"warranty.md", "aurora-k7-manual.pdf"} <= files
