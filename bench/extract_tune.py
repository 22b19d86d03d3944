"""Calibrate extract mode's support gate (`EXTRACT_MIN_SCORE` in localgpt/rag/answer.py), on
tuning halves only.

    python bench/extract_tune.py [--work DIR] [--max-refused 0.03]

The relevance gate refuses off-topic questions before anything is extracted; this second gate
refuses on-topic ones whose passages hold no answer ("How much does it cost?" over a manual with
no price). Its feature is the extracted quote's score (half cosine, half IDF-weighted keyword
coverage of the question; CJK questions lean on bigrams): how well the best sentence matches.

Ingests ../shared/eval/dev and dev-zh with the shipped defaults (the same work dir as
relevance_tune.py, reused when there), retrieves every question once through the answer path,
extracts with the gate off, and records the best quote's score, whether the relevance gate
passed, and whether the quote holds the expected answer. Per script (latin, cjk, cross) the
threshold is chosen on the tuning half: the most unanswerable questions refused while at most
`--max-refused` of the answerable ones that the relevance gate passes are; then moved to the
middle of the gap. The held-out halves are reported with the chosen thresholds. Writes
bench/results/extract_gate.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchlib import CONFIG, log, write_calibration
from halves import holdout_ids
from relevance_tune import DEV, DEV_ZH, OFFTOPIC, ingest


def features(data: Path, questions: list[Any]) -> list[dict[str, Any]]:
    from localgpt.evaluation.metrics import contains_answer
    from localgpt.rag.answer import RAG
    from localgpt.rag.evidence import extractive
    from localgpt.rag.resources import Resources
    from localgpt.rag.sources import Source
    from localgpt.settings.config import load_settings

    settings = load_settings(CONFIG, {"paths.data_dir": str(data)}).settings
    rag = RAG(Resources(settings))
    rows = []
    for q in questions:
        docs = rag.documents(q.question)
        relevance = rag.relevance(q.question, docs)
        sources = [Source.from_document(n, d) for n, d in enumerate(docs, 1)]
        grounded = extractive(q.question, sources, rag.res.embedder.encode)
        expected = [q.answer, *q.aliases] if q.answer else []
        rows.append({
            "id": q.id, "kind": q.kind, "answerable": q.answerable, "question": q.question,
            "script": relevance.script, "relevant": relevance.relevant,
            "relevance": relevance.score, "missing": list(relevance.missing),
            "passages": [s.text for s in sources],
            "score": max((c.score for c in grounded.citations), default=0.0),
            "answer": grounded.text,
            "correct": bool(expected) and contains_answer(grounded.text, expected),
            "in_passages": bool(expected) and any(contains_answer(s.text, expected) for s in sources),
        })  # fmt: skip
    return rows


def refused(row: dict[str, Any], threshold: float) -> bool:
    return not row["relevant"] or row["score"] < threshold


def rates(rows: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"] and r["kind"] != "offtopic"]
    wrong = sum(refused(r, threshold) for r in ans)
    right = sum(refused(r, threshold) for r in una)
    correct = sum(r["correct"] and not refused(r, threshold) for r in ans)
    return {
        "answerable": len(ans), "wrongly_refused": wrong,
        "wrongly_refused_rate": round(wrong / len(ans), 4) if ans else None,
        "accuracy": round(correct / len(ans), 4) if ans else None,
        "unanswerable": len(una), "refused": right,
        "refusal_recall": round(right / len(una), 4) if una else None,
    }  # fmt: skip


def calibrate(rows: list[dict[str, Any]], max_refused: float) -> dict[str, Any]:
    """The highest recall on unanswerable (on-topic) questions within the answerable budget; ties
    go to the lowest threshold, which is then moved to the middle of the gap it found."""
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"] and r["kind"] != "offtopic"]
    best = (-1.0, 0.0)
    for step in range(0, 101):
        t = step / 100
        if sum(refused(r, t) for r in ans) / max(1, len(ans)) > max_refused + 1e-9:
            break
        recall = sum(refused(r, t) for r in una) / max(1, len(una))
        if recall > best[0]:
            best = (recall, t)
    t = best[1]
    below = max((r["score"] for r in una if r["relevant"] and r["score"] < t), default=t)
    above = min((r["score"] for r in ans if r["relevant"] and r["score"] >= t), default=t)
    middle = round((below + above) / 2, 3) if below < t <= above else t
    return {"threshold": middle, "tune": rates(rows, middle)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/localgpt-relevance"))
    parser.add_argument("--max-refused", type=float, default=0.03)
    parser.add_argument("--reuse", action="store_true", help="reuse the rows (and passages) kept in --work")
    args = parser.parse_args()
    from localgpt.evaluation.metrics import load_questions

    started = time.perf_counter()
    kept = args.work / "extract_rows.json"
    if args.reuse:
        everything = json.loads(kept.read_text())
    else:
        everything = []
        for name, folder in (("en", DEV), ("zh", DEV_ZH)):
            data = args.work / name
            data.mkdir(parents=True, exist_ok=True)
            ingest(data, folder / "corpus")
            qs = load_questions(folder / "questions.jsonl") + load_questions(OFFTOPIC)
            log(f"{name}: extracting for {len(qs)} questions")
            held = holdout_ids((q.id, q.kind) for q in qs if q.kind != "offtopic")
            for r in features(data, qs):
                everything.append({**r, "set": name, "split": "holdout" if r["id"] in held else "tune"})
        kept.write_text(json.dumps(everything, ensure_ascii=False))
    tune = [r for r in everything if r["split"] == "tune"]
    calibration = {s: calibrate([r for r in tune if r["script"] == s], args.max_refused)
                   for s in ("latin", "cjk", "cross")}  # fmt: skip
    for script, cal in calibration.items():
        log(f"{script}: {cal}")
    held: dict[str, Any] = {}
    for name in ("en", "zh"):
        rows = [r for r in everything if r["set"] == name and r["split"] == "holdout"]
        held[name] = {
            "gate off": rates(rows, 0.0),
            "calibrated": {
                s: rates([r for r in rows if r["script"] == s], calibration[s]["threshold"])
                for s in ("latin", "cjk", "cross")
                if any(r["script"] == s for r in rows)
            },
        }
        log(f"{name} held-out: {json.dumps(held[name])}")
    out = {"calibration": calibration, "holdout": held, "max_refused": args.max_refused,
           "elapsed_s": round(time.perf_counter() - started, 1),
           "rows": [{k: v for k, v in r.items() if k != "passages"} for r in everything]}  # fmt: skip
    write_calibration("extract_gate.json", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
