"""Answer quality through `localgpt eval`: both dev sets, held-out halves, every answer mode.

One invocation measures, on the held-out half of ../shared/eval/dev (English) and of
../shared/eval/dev-zh (Chinese, with English questions about Chinese documents):

- `baseline`: today's behaviour before issue 12, made reachable by config: the bundled SmolLM2,
  generated answers kept as they are (`answer.mode = generate`, `answer.unsupported = keep`) and
  the old relevance gate (`retrieval.relevance = legacy`: mean of cosine and coverage < 0.35);
- `defaults`: the shipped config (`answer.mode = auto`, which extracts with the bundled model);
- `smollm2-extract`, `smollm2-generate`: the bundled model in each mode, with the new gates;
- `qwen0.5b`, `qwen1.5b`: Qwen2.5-Coder Q4_K_M in generate mode, when built by
  `../shared/tools/bench-models.sh DIR` (benchmark models only, never a runtime dependency).

Each set's corpus is ingested once (shipped defaults) into a temp data dir; every row runs
`localgpt --config config.toml --data-dir TMP eval HELDOUT.jsonl --json --details ...` with its
settings as LOCALGPT_* variables. The halves come from halves.py (per kind, by id hash): the
relevance gate was calibrated on the other half (relevance_tune.py).

Time on 2 shared cores: answers are capped at --max-tokens (default 128) for every generating row,
and the slow 1.5B answers a stratified sample of each held-out half (--sample-slow, default
20; --sample N samples every row).

    python bench/answer_bench.py --models-dir /work/bench-models          # everything
    python bench/answer_bench.py --rows baseline,defaults --quick         # 6 questions per set
    LOCALGPT_EVAL_DIR=/path/to/eval LOCALGPT_BENCH_MODELS=/path python bench/answer_bench.py
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import BENCH_DIR, CONFIG, REPO, child_env, loadavg, log, row, run_process, scratch, write_result
from halves import bucket, holdout_ids

EVAL = Path(os.environ.get("LOCALGPT_EVAL_DIR", "/work/shared/eval"))
SETS = {"en": "dev", "zh": "dev-zh"}
MODEL_FILES = {
    "qwen0.5b": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    "qwen1.5b": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
}
NEW_GATES = {"LOCALGPT_RETRIEVAL__RELEVANCE": "calibrated", "LOCALGPT_ANSWER__UNSUPPORTED": "drop"}


@dataclass(frozen=True)
class Row:
    name: str
    label: str
    env: dict[str, str]
    model: str | None = None  # a key of MODEL_FILES; None: the bundled SmolLM2
    sampled: bool = False
    extra: dict[str, str] = field(default_factory=dict)


ROWS = [
    Row("baseline", "before issue 12 (SmolLM2, generate, legacy gate)",
        {"LOCALGPT_RETRIEVAL__RELEVANCE": "legacy", "LOCALGPT_ANSWER__MODE": "generate",
         "LOCALGPT_ANSWER__UNSUPPORTED": "keep"}),
    Row("defaults", "defaults (auto: SmolLM2 extracts)", {}),
    Row("smollm2-generate", "SmolLM2-135M, generate", {**NEW_GATES, "LOCALGPT_ANSWER__MODE": "generate"}),
    Row("qwen0.5b", "Qwen2.5-Coder-0.5B, generate", {**NEW_GATES, "LOCALGPT_ANSWER__MODE": "generate"},
        "qwen0.5b"),
    Row("qwen1.5b", "Qwen2.5-Coder-1.5B, generate", {**NEW_GATES, "LOCALGPT_ANSWER__MODE": "generate"},
        "qwen1.5b", sampled=True),
    Row("smollm2-extract", "SmolLM2-135M, extract", {**NEW_GATES, "LOCALGPT_ANSWER__MODE": "extract"}),
]  # fmt: skip


def localgpt(data_dir: Path, *args: str | Path) -> list[str]:
    return [
        str(a) for a in (sys.executable, "-m", "localgpt", "--config", CONFIG, "--data-dir", data_dir, *args)
    ]


def known_env(env: dict[str, str]) -> dict[str, str]:
    """Only the settings this checkout has: a branch without `[answer]` runs the rest unchanged."""
    from localgpt.settings.config import Settings

    out = {}
    for key, value in env.items():
        section, _, name = key.removeprefix("LOCALGPT_").lower().partition("__")
        fields = Settings.model_fields.get(section)
        sub = getattr(fields.annotation, "model_fields", {}) if fields else {}
        if name in sub:
            out[key] = value
        else:
            log(f"  {key} is not a setting here, left out")
    return out


def held_out(questions: Path, out: Path, sample: int | None, kinds: Sequence[str] = ()) -> Path:
    rows = [json.loads(line) for line in questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    held = holdout_ids((r["id"], r.get("kind") or "") for r in rows)
    kept = [r for r in rows if r["id"] in held and (not kinds or (r.get("kind") or "") in kinds)]
    if sample is not None and sample < len(kept):
        kept = stratified(kept, sample)
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), encoding="utf-8")
    return out


def stratified(rows: Sequence[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """`n` questions, each kind in proportion (at least one each), lowest id hashes first."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_kind.setdefault(r.get("kind") or "", []).append(r)
    picked = []
    for items in by_kind.values():
        items.sort(key=lambda r: bucket(r["id"]))
        picked += items[: max(1, round(n * len(items) / len(rows)))]
    return sorted(picked, key=lambda r: [x["id"] for x in rows].index(r["id"]))


def run_eval(data_dir: Path, questions: Path, details: Path, env: dict[str, str], model: Path | None) -> Any:
    argv = localgpt(data_dir, "eval", questions, "--json", "--details", details,
                    *(["--model", model] if model else []))  # fmt: skip
    run = run_process(argv, cwd=REPO, env=child_env(**env)).check()
    report = run.json()
    report["wall_s"] = round(run.wall_s, 1)
    report["per_question"] = [
        {k: d.get(k) for k in ("id", "kind", "hit_rank", "abstained", "answer", "best_score", "unsupported")}
        for d in map(json.loads, details.read_text(encoding="utf-8").splitlines())
    ]
    return report


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", help=f"comma-separated subset of: {', '.join(r.name for r in ROWS)}")
    models = Path(os.environ.get("LOCALGPT_BENCH_MODELS", BENCH_DIR / "models"))
    parser.add_argument("--models-dir", type=Path, default=models)
    parser.add_argument("--max-tokens", type=int, default=128, help="answer cap for generating rows")
    parser.add_argument("--sample", type=int, help="questions per set for every row (default: all)")
    parser.add_argument("--sample-slow", type=int, default=20, help="questions per set for the 1.5B row")
    parser.add_argument("--quick", action="store_true", help="6 questions per set, for a smoke run")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument("--kinds", help="only questions of these comma-separated kinds (e.g. unanswerable)")
    parser.add_argument("--name", default="answers", help="result file: bench/results/NAME.json")
    parser.add_argument(
        "--data-root", type=Path, help="keep the indexes in DIR/en and DIR/zh (reused when up to date)"
    )
    args = parser.parse_args()
    rows = [r for r in ROWS if not args.rows or r.name in args.rows.split(",")]
    missing = [r for r in rows if r.model and not (args.models_dir / MODEL_FILES[r.model]).is_file()]
    for r in missing:
        log(f"{r.name}: {args.models_dir / MODEL_FILES[r.model or '']} not found, skipped "
            "(../shared/tools/bench-models.sh DIR, then --models-dir DIR)")  # fmt: skip
    rows = [r for r in rows if r not in missing]
    started, load_before = time.perf_counter(), loadavg()
    results: dict[str, Any] = {"sets": {}}
    with scratch("answers", keep=args.keep) as tmp:
        data: dict[str, Path] = {}
        for lang, folder in SETS.items():
            data[lang] = (args.data_root or tmp) / lang
            (tmp / lang).mkdir(parents=True, exist_ok=True)
            log(f"{lang}: ingesting {EVAL / folder / 'corpus'} into {data[lang]}")
            argv = localgpt(data[lang], "ingest", EVAL / folder / "corpus", "--quiet", "--json")
            ingest = run_process(argv, cwd=REPO)  # with --data-root, an up-to-date index is kept
            ingest.check((0, 6))  # 6: some files skipped, reported in the JSON
            got = ingest.json()
            results["sets"][lang] = {
                "ingest": {"wall_s": round(ingest.wall_s, 1), "files": got["files_total"],
                           "chunks": got["chunks_total"]},
                "rows": {},
            }  # fmt: skip
        # Row by row, both sets each: a run cut short still has whole rows.
        for r in rows:
            for lang, folder in SETS.items():
                source = EVAL / folder / "questions.jsonl"
                sample = 6 if args.quick else args.sample_slow if r.sampled else args.sample
                if r.sampled and args.sample:
                    sample = min(args.sample, args.sample_slow)
                kinds = args.kinds.split(",") if args.kinds else ()
                questions = held_out(source, tmp / lang / f"{r.name}.jsonl", sample, kinds)
                env = known_env({**r.env, "LOCALGPT_LLM__MAX_TOKENS": str(args.max_tokens),
                                 "LOCALGPT_LLM__TEMPERATURE": "0"})  # fmt: skip
                model = args.models_dir / MODEL_FILES[r.model] if r.model else None
                log(f"{lang}: {r.name} on {sum(1 for _ in questions.open())} questions")
                details = tmp / lang / f"{r.name}.details.jsonl"
                report = run_eval(data[lang], questions, details, env, model)
                report["env"] = env
                results["sets"][lang]["rows"][r.name] = report
                log(f"  {json.dumps(figures(report))}  {report['wall_s']} s")
                write_result(args.name, args.quick, {}, results, summarize(results), started, load_before,
                             partial=True)  # fmt: skip
    params = {
        "eval_dir": str(EVAL),
        "split": "held-out halves (halves.py)",
        "max_tokens": args.max_tokens,
        "sample": args.sample,
        "sample_1.5b": args.sample_slow,
        "rows": [r.name for r in rows],
        "quick": args.quick,
        "kinds": args.kinds or "all",
    }
    notes = [
        "held-out halves: per kind, the half with the lowest sha1(id) buckets; the relevance gate "
        "was calibrated on the other half (bench/relevance_tune.py).",
        f"answers capped at {args.max_tokens} tokens, temperature 0; the Qwen 1.5B row answers a "
        f"stratified sample of {args.sample_slow} held-out questions per set (2 shared cores)"
        + (f"; every other row {args.sample}." if args.sample else "."),
        "accuracy: the gold answer or an alias inside the answer (answerable questions); refusal "
        "recall: unanswerable questions refused; wrongly refused: answerable ones refused; citation "
        "accuracy: cited sources include the gold file; unsupported: answer sentences the grounding "
        "check finds no support for, over all sentences of the final (non-refused) answers.",
    ]
    write_result(args.name, args.quick, params, results, summarize(results), started, load_before, notes)
    return 0


def figures(report: dict[str, Any]) -> dict[str, Any]:
    abst = report["abstention"]
    return {
        "n": report["questions"],
        "accuracy": (report.get("answer") or {}).get("accuracy"),
        "unsupported": (report.get("grounding") or {}).get("unsupported_rate"),
        "refusal_recall": abst["recall"],
        "wrongly_refused": abst["false_abstention_rate"],
        "citation_accuracy": report.get("citation_accuracy"),
        "p50_s": round(report["latency_ms"]["total"]["p50"] / 1000, 2),
    }


def summarize(results: dict[str, Any]) -> list[dict[str, Any]]:
    labels = {r.name: r.label for r in ROWS}
    out = []
    for lang, data in results["sets"].items():
        for name, report in data["rows"].items():
            f = figures(report)
            text = (f"acc {f['accuracy']}, unsupported {f['unsupported']}, refused unanswerable "
                    f"{f['refusal_recall']}, wrongly refused {f['wrongly_refused']}, citations "
                    f"{f['citation_accuracy']}, p50 {f['p50_s']} s (n={f['n']})")  # fmt: skip
            out.append(row(f"{lang}: {labels[name]}", text))
    return out


if __name__ == "__main__":
    sys.exit(main())
