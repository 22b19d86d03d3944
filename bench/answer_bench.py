"""Answer quality through `localgpt eval`, for the bundled model and the stronger bench models.

By default the questions are the held-out split of the dev set (48 of 139, split by id hash in
`tune.py`): nothing was tuned on them, and answering all 139 twice takes over an hour on 2 cores.
The dev corpus is ingested once (shipped defaults) into a temp data dir; then one retrieval-only
eval, and one full eval (retrieve, answer, score) per model, all over the same index:

- the bundled SmolLM2-135M (what `make demo` uses);
- Qwen2.5-Coder 0.5B and 1.5B Q4_K_M, when built into bench/models by
  `../shared/tools/bench-models.sh bench/models` (sha256-checked). They are benchmark models
  only, never a runtime dependency.

    .venv/bin/python bench/answer_bench.py                        # every model found, held-out split
    .venv/bin/python bench/answer_bench.py --split all            # all 139 questions
    .venv/bin/python bench/answer_bench.py --models smollm2,qwen0.5b
    .venv/bin/python bench/answer_bench.py --quick                # first 12 questions
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchlib import BENCH_DIR, CONFIG, REPO, loadavg, log, row, run_process, scratch, write_result

DEV = REPO.parent / "shared" / "eval" / "dev"
MODELS_DIR = BENCH_DIR / "models"
MODELS = {  # name -> GGUF file (None: the bundled default, `llm.model = "auto"` with no models/ file)
    "smollm2": None,
    "qwen0.5b": MODELS_DIR / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    "qwen1.5b": MODELS_DIR / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
}
LABELS = {
    "smollm2": "SmolLM2-135M (bundled)",
    "qwen0.5b": "Qwen2.5-Coder-0.5B",
    "qwen1.5b": "Qwen2.5-Coder-1.5B",
}


def localgpt(data_dir: Path, *args: str | Path) -> list[str]:
    return [
        str(a) for a in (sys.executable, "-m", "localgpt", "--config", CONFIG, "--data-dir", data_dir, *args)
    ]


def run_eval(data_dir: Path, questions: Path, limit: int | None, *extra: str | Path) -> dict[str, Any]:
    argv = localgpt(
        data_dir, "eval", questions, "--json", *(["--limit", str(limit)] if limit else []), *extra
    )
    run = run_process(argv, cwd=REPO).check()
    report: dict[str, Any] = run.json()
    report["wall_s"] = round(run.wall_s, 1)
    report["peak_tree_rss_mb"] = run.peak_tree_rss_mb
    return report


def pick(questions: Path, split: str, out: Path) -> Path:
    if split == "all":
        return questions
    from tune import split_of

    lines = questions.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if line.strip() and split_of(json.loads(line)["id"]) == split]
    out.write_text("\n".join(kept) + "\n", encoding="utf-8")
    log(f"{len(kept)} of {len(lines)} questions in the {split} split")
    return out


def brief(details: Path) -> list[dict[str, Any]]:
    """Per question: what was answered and where the gold chunk ranked; sources left out (size)."""
    out = []
    for line in details.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        out.append({k: d[k] for k in ("id", "kind", "hit_rank", "abstained", "answer", "best_score")})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="only the first 12 questions (smoke run)")
    parser.add_argument(
        "--models", help=f"comma-separated subset of: {', '.join(MODELS)} (default: all found)"
    )
    parser.add_argument("--questions", type=Path, default=DEV / "questions.jsonl")
    parser.add_argument("--corpus", type=Path, default=DEV / "corpus")
    parser.add_argument(
        "--split",
        choices=("holdout", "all"),
        default="holdout",
        help="questions: tune.py's held-out split, or all",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    names = args.models.split(",") if args.models else list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown model(s): {', '.join(unknown)}")
    missing = [n for n in names if (path := MODELS[n]) is not None and not path.is_file()]
    if missing and args.models:
        parser.error(
            f"not built: {', '.join(missing)}; run ../shared/tools/bench-models.sh bench/models first"
        )
    for name in missing:
        log(f"{name}: {MODELS[name]} not found, skipped (../shared/tools/bench-models.sh bench/models)")
    names = [n for n in names if n not in missing]
    limit = 12 if args.quick else None
    started, load_before = time.perf_counter(), loadavg()
    results: dict[str, Any] = {"models": {}}
    with scratch("answers", keep=args.keep) as tmp:
        data = tmp / "data"
        questions = pick(args.questions, args.split, tmp / "questions.jsonl")
        log(f"ingesting {args.corpus}")
        ingest = run_process(localgpt(data, "ingest", args.corpus, "--quiet", "--json"), cwd=REPO)
        ingest.check((0, 6))  # 6: some files skipped, reported in the JSON
        ingested = ingest.json()
        results["ingest"] = {
            "wall_s": round(ingest.wall_s, 1),
            **{key: ingested[key] for key in ("files_total", "chunks_total")},
            "skipped": len(ingested["skipped"]),
        }
        log("retrieval-only eval")
        results["retrieval"] = run_eval(data, questions, limit, "--retrieval-only")
        for name in names:
            log(f"{name}: answering every question")
            details = tmp / f"{name}.jsonl"
            gguf = MODELS[name]
            model = ["--model", str(gguf)] if gguf else []
            report = run_eval(data, questions, limit, "--details", details, *model)
            report["per_question"] = brief(details)
            results["models"][name] = report
            ans = report.get("answer") or {}
            log(f"  accuracy {ans.get('accuracy')}, abstention {report['abstention']}, {report['wall_s']} s")
            # Saved as it goes (results/answers.partial.json, not shown in the README): a run is long.
            write_result(
                "answers", args.quick, {}, results, summarize(results), started, load_before, partial=True
            )
    summary = summarize(results)
    notes = [
        "one index of the dev corpus (shipped defaults), shared by every row; the eval runs "
        "`localgpt --config config.toml --data-dir TMP eval QUESTIONS --json [--model GGUF]`.",
        "answer accuracy: the gold answer or an alias, normalised, inside the answer (answerable "
        "questions); abstention precision/recall: on the unanswerable questions; citation accuracy: "
        "an answer's [n] citations (or, without any, its sources) include the gold file.",
        "latency is per question, retrieval through the last token, with the model loaded once.",
    ]
    for name, report in results["models"].items():
        kinds = ", ".join(
            f"{kind} {row['accuracy'] if row['accuracy'] is not None else row['abstained']}"
            for kind, row in report["by_kind"].items()
        )
        notes.append(f"{LABELS[name]} by kind (accuracy; abstained for unanswerable): {kinds}.")
    params = {"questions": str(args.questions.relative_to(REPO.parent)) if DEV in args.questions.parents
              else str(args.questions), "split": args.split, "limit": limit, "models": names}  # fmt: skip
    write_result("answers", args.quick, params, results, summary, started, load_before, notes)
    return 0


def abstention(abst: dict[str, Any]) -> str:
    precision = "never abstained" if abst["precision"] is None else f"precision {abst['precision']:.3g}"
    return f"{abst['recall']:.3g} ({precision})"


def summarize(results: dict[str, Any]) -> list[dict[str, Any]]:
    retrieval = results["retrieval"]
    k = retrieval["k"]
    rows = [
        row(f"retrieval hit@{k} ({retrieval['answerable']} answerable of {retrieval['questions']} questions)",
            retrieval["retrieval"][f"hit@{k}"]),
        row("retrieval MRR", retrieval["retrieval"]["mrr"]),
    ]  # fmt: skip
    for name, report in results["models"].items():
        label = LABELS[name]
        abst = report["abstention"]
        lat = report["latency_ms"]["total"]
        rows += [
            row(f"{label}: answer accuracy", (report.get("answer") or {}).get("accuracy")),
            row(f"{label}: abstention on unanswerable: recall (precision)", abstention(abst)),
            row(f"{label}: false abstentions (answerable)", abst["false_abstention_rate"]),
            row(f"{label}: citation accuracy", report.get("citation_accuracy")),
            row(f"{label}: latency per question p50 / p95 (s)",
                f"{lat['p50'] / 1000:.1f} / {lat['p95'] / 1000:.1f}"),
        ]  # fmt: skip
    return rows


if __name__ == "__main__":
    sys.exit(main())
