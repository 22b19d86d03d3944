"""Calibrate the relevance gate (localgpt/rag/relevance.py) per script, on tuning halves only.

    python bench/relevance_tune.py [--work DIR] [--dev DIR] [--dev-zh DIR]

Ingests ../shared/eval/dev (English) and ../shared/eval/dev-zh (Chinese, with English questions
about Chinese documents) with the shipped defaults (reused from --work when already there),
retrieves every question once, and computes the gate's features. Each set is split in halves by
kind and a hash of the question id (`halves.py`); bench/data/offtopic.jsonl (English and
Chinese) joins both tuning halves. Per script, the threshold and the cosine weight are chosen on
the tuning half only: the most unanswerable questions refused while at most `--max-refused` of
the answerable ones are.
The held-out halves are then reported for the old gate (mean of cosine and coverage, 0.35) and
the new one. Writes bench/results/relevance.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from benchlib import CONFIG, REPO, log, run_process, write_calibration
from halves import holdout_ids

EVAL = Path(os.environ.get("LOCALGPT_EVAL_DIR", "/work/shared/eval"))  # holds dev/ and dev-zh/
DEV, DEV_ZH = EVAL / "dev", EVAL / "dev-zh"
OFFTOPIC = REPO / "bench" / "data" / "offtopic.jsonl"
LEGACY_THRESHOLD = 0.35
WEIGHTS = (0.0, 0.25, 0.5)


def ingest(data: Path, corpus: Path) -> None:
    """Ingest, or bring an index kept in --work up to date (waiting for another ingest of it)."""
    log(f"ingesting {corpus} into {data}")
    argv = [sys.executable, "-m", "localgpt", "--config", CONFIG, "--data-dir", data, "ingest", corpus,
            "--quiet", "--json", "--wait", "3600"]  # fmt: skip
    run_process(argv, cwd=REPO).check((0, 6))


def features(data: Path, questions: list[Any]) -> list[dict[str, Any]]:
    """One retrieval per question (the answer path's own); what both gates need, from the same
    passages."""
    from localgpt.rag.answer import RAG
    from localgpt.rag.relevance import Passage, assess, question_terms
    from localgpt.rag.resources import Resources
    from localgpt.settings.config import load_settings

    settings = load_settings(CONFIG, {"paths.data_dir": str(data)}).settings
    rag = RAG(Resources(settings))
    index = rag.res.keyword_index()
    rows = []
    for q in questions:
        docs = rag.documents(q.question)
        passages = [Passage(d.page_content, float(d.metadata["vector_score"])) for d in docs]
        rel = assess(q.question, passages, index.idf, len(index.ids))
        rows.append({
            "id": q.id, "kind": q.kind, "answerable": q.answerable, "question": q.question,
            "legacy": max((float(d.metadata["score"]) for d in docs), default=0.0),
            "script": rel.script, "coverage": rel.coverage, "coverage_best": rel.coverage_best,
            "cosine": rel.cosine, "terms": question_terms(q.question), "missing": list(rel.missing),
        })  # fmt: skip
    return rows


def score(row: dict[str, Any], weight: float, best: bool = False) -> float:
    coverage = row["coverage_best"] if best else row["coverage"]
    return weight * row["cosine"] + (1 - weight) * coverage


def rates(rows: list[dict[str, Any]], refused: Any) -> dict[str, Any]:
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    wrong = sum(1 for r in ans if refused(r))
    right = sum(1 for r in una if refused(r))
    return {
        "answerable": len(ans), "wrongly_refused": wrong,
        "wrongly_refused_rate": round(wrong / len(ans), 4) if ans else None,
        "unanswerable": len(una), "refused": right,
        "refusal_recall": round(right / len(una), 4) if una else None,
    }  # fmt: skip


def calibrate(rows: list[dict[str, Any]], max_refused: float) -> dict[str, Any]:
    """The most refusals of unanswerable questions with at most `max_refused` answerable refused.

    Ties go to the lowest threshold, then the smallest cosine weight, then the union of passages:
    lenient, and simple. The threshold is then moved to the middle of the gap."""
    best: tuple[float, float, float, float, bool] | None = None
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    for per_passage in (False, True):
        for weight in WEIGHTS:
            for step in range(0, 101):
                t = step / 100
                wrong = sum(score(r, weight, per_passage) < t for r in ans) / max(1, len(ans))
                if wrong > max_refused + 1e-9:
                    break
                recall = sum(score(r, weight, per_passage) < t for r in una) / max(1, len(una))
                key = (recall, -t, -weight, -per_passage)
                if best is None or key > (best[0], -best[1], -best[2], -best[4]):
                    best = (recall, t, weight, wrong, per_passage)
    assert best is not None
    # The threshold goes in the middle of the gap it found, not at its edge: other sets judge it.
    t, weight, per_passage = best[1], best[2], best[4]
    below = max(
        (score(r, weight, per_passage) for r in una if score(r, weight, per_passage) < t), default=0.0
    )
    above = min((score(r, weight, per_passage) for r in ans if score(r, weight, per_passage) >= t), default=t)
    middle = round((below + above) / 2, 2) if below < t <= above else t
    return {"threshold": middle, "weight_cosine": best[2], "per_passage": best[4],
            "tune_recall": round(best[0], 4), "tune_wrongly_refused": round(best[3], 4),
            "tune_answerable": len(ans), "tune_unanswerable": len(una)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/localgpt-relevance"))
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--dev-zh", type=Path, default=DEV_ZH)
    parser.add_argument("--max-refused", type=float, default=0.03)
    parser.add_argument("--sets", default="en,zh", help="a smoke run: only some of en,zh")
    args = parser.parse_args()
    from localgpt.evaluation.metrics import load_questions

    started = time.perf_counter()
    rows: dict[str, list[dict[str, Any]]] = {}
    for name, folder in (("en", args.dev), ("zh", args.dev_zh)):
        if name not in args.sets.split(","):
            continue
        data = args.work / name
        data.mkdir(parents=True, exist_ok=True)
        ingest(data, folder / "corpus")
        qs = load_questions(folder / "questions.jsonl")
        qs += load_questions(OFFTOPIC)  # off-topic in English and Chinese, against each corpus
        log(f"{name}: features for {len(qs)} questions")
        rows[name] = features(data, qs)
        held = holdout_ids((q.id, q.kind) for q in qs if q.kind != "offtopic")
        for r in rows[name]:
            r["split"] = "holdout" if r["id"] in held else "tune"
    everything = [r for name in rows for r in rows[name]]
    tune = [r for r in everything if r["split"] == "tune"]
    calibration = {}
    for script in ("latin", "cjk", "cross"):
        calibration[script] = calibrate([r for r in tune if r["script"] == script], args.max_refused)
        log(f"{script}: {calibration[script]}")

    def new_gate(r: dict[str, Any]) -> bool:
        cal = calibration[r["script"]]
        return score(r, cal["weight_cosine"], cal["per_passage"]) < cal["threshold"]

    def old_gate(r: dict[str, Any]) -> bool:
        return bool(r["legacy"] < LEGACY_THRESHOLD)

    held: dict[str, Any] = {}
    for name in rows:
        held_rows = [r for r in rows[name] if r["split"] == "holdout"]
        held[name] = {"legacy": rates(held_rows, old_gate), "calibrated": rates(held_rows, new_gate)}
        log(f"{name} held-out: {json.dumps(held[name])}")
    out = {"calibration": calibration, "holdout": held, "max_refused": args.max_refused,
           "elapsed_s": round(time.perf_counter() - started, 1), "rows": everything}  # fmt: skip
    write_calibration("relevance.json", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
