"""`localgpt eval` end to end: the real CLI, Chroma, embedder and SmolLM2 over examples/docs.

examples/questions.jsonl is a small question set in the dev set's format: six answerable
questions, one per file kind (one in Chinese), and two off-topic ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localgpt.errors import ExitCode
from localgpt.evaluation.metrics import contains_answer, load_questions
from localgpt.rag.prompt import ABSTAIN_TEXT
from tests.conftest import EXAMPLES, run_cli

QUESTIONS = EXAMPLES.parent / "questions.jsonl"
SHORT = {"LOCALGPT_LLM__MAX_TOKENS": "48", "LOCALGPT_LLM__TEMPERATURE": "0"}


def eval_json(data_dir: Path, *args: str) -> dict:
    proc = run_cli("--data-dir", str(data_dir), "eval", str(QUESTIONS), "--json", *args, env=SHORT)
    assert proc.returncode == ExitCode.OK, proc.stderr
    return json.loads(proc.stdout)


def test_retrieval_only_on_a_throwaway_corpus(data_dir: Path) -> None:
    report = eval_json(data_dir, "--corpus", str(EXAMPLES), "--retrieval-only")
    assert (report["questions"], report["answerable"], report["unanswerable"]) == (8, 6, 2)
    assert report["mode"] == "retrieval-only" and report["k"] == 6
    # Six distinct facts in six small files: each one's chunk is retrieved.
    assert report["retrieval"]["hit@6"] == 1.0
    assert 0.5 <= report["retrieval"]["mrr"] <= 1.0
    assert report["retrieval"]["hit@1"] <= report["retrieval"]["hit@6"]
    # The off-topic questions score under the abstention threshold, so they are refused.
    assert report["abstention"]["recall"] == 1.0
    assert report["abstention"]["false_abstention_rate"] == 0.0  # answerable best scores >= 0.5
    assert "answer" not in report and "citation_accuracy" not in report
    assert set(report["by_kind"]) == {"numeric", "factoid", "chinese", "unanswerable"}
    assert report["by_kind"]["unanswerable"]["abstained"] == 1.0
    assert report["latency_ms"]["retrieval"]["p50"] > 0
    # The corpus went into a throwaway collection: the data dir holds no index of its own.
    assert not (data_dir / "chroma").exists()
    assert not (data_dir / "manifest.sqlite").exists()


@pytest.mark.llm
def test_answers_are_scored_and_match_the_details(indexed_data_dir: Path, tmp_path: Path) -> None:
    details = tmp_path / "details.jsonl"
    report = eval_json(indexed_data_dir, "--details", str(details))
    assert report["mode"] == "answer"
    rows = [json.loads(line) for line in details.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [q.id for q in load_questions(QUESTIONS)]

    # The accuracy in the report is the share of answerable questions whose answer contains
    # the gold answer or an alias, recomputed here from the per-question answers.
    questions = {q.id: q for q in load_questions(QUESTIONS)}
    answerable = [r for r in rows if questions[r["id"]].answerable]
    correct = sum(
        contains_answer(r["answer"], [questions[r["id"]].answer or "", *questions[r["id"]].aliases])
        for r in answerable
    )
    assert report["answer"]["accuracy"] == round(correct / len(answerable), 4)
    by_id = {r["id"]: r for r in rows}
    assert "1.8" in by_id["k7-tank"]["answer"]  # the demo question, answered from page 2
    tank_sources = by_id["k7-tank"]["sources"]
    assert any(s["source"].endswith("aurora-k7-manual.pdf") and s["page"] == 2 for s in tank_sources)
    # Off-topic questions are refused before the model runs, with the fixed text.
    for qid in ("off-capital", "off-worldcup"):
        assert by_id[qid]["abstained"] and by_id[qid]["answer"] == ABSTAIN_TEXT
    assert report["abstention"]["recall"] == 1.0
    assert report["citation_accuracy"] is not None and 0.0 <= report["citation_accuracy"] <= 1.0
    total = report["latency_ms"]["total"]
    assert 0 < total["p50"] <= total["p90"] <= total["p95"]


def test_table_on_stdout(indexed_data_dir: Path) -> None:
    proc = run_cli(
        "--data-dir", str(indexed_data_dir), "eval", str(QUESTIONS), "--retrieval-only", "--limit", "3"
    )
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert proc.stdout.startswith("3 questions, k=6, retrieval-only")
    for label in ("retrieval hit@1", "retrieval hit@6", "retrieval mrr", "abstention recall", "by kind"):
        assert label in proc.stdout


def test_a_malformed_question_file_is_a_usage_error(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "fine"}\n{"answer": "no question"}\n', encoding="utf-8")
    proc = run_cli("--data-dir", str(data_dir), "eval", str(bad))
    assert proc.returncode == ExitCode.CONFIG
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.jsonl:2" in lines[0] and "Traceback" not in proc.stderr
