"""Choose `[answer] unsupported` by measurement: drop vs mark vs keep, with extract for reference.

For a sample of answerable questions from each dev set (English and Chinese), the bundled SmolLM2
generates once (mode "generate", unsupported "keep", so nothing is removed); the grounding check's
verdict on each sentence then gives what each setting would show:
- keep: the answer as written; every unsupported sentence is left in, unflagged;
- mark: the same text, unsupported sentences flagged; nothing supported at all is an abstention;
- drop: the supported sentences only; nothing left is an abstention.
Per setting: answer accuracy (the gold answer or an alias in what is shown, normalised as in
`localgpt eval`), unsupported sentences left unflagged in the shown answers, and answerable
questions turned into abstentions. `extract` (no LLM) is run on the same questions for reference.

    python bench/unsupported_bench.py --en-data DIR --zh-data DIR [--n 20] [--out FILE]

The data dirs hold the ingested dev corpora (`localgpt --data-dir DIR ingest ../shared/eval/dev/corpus`).
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path
from typing import Any

from localgpt.evaluation.metrics import contains_answer, load_questions
from localgpt.rag.answer import RAG
from localgpt.rag.resources import Resources
from localgpt.settings.config import Settings

# ../shared/eval beside the checkout (or beside the folder of worktrees).
EVAL = next(
    (p / "shared" / "eval" for p in Path(__file__).resolve().parents if (p / "shared" / "eval").is_dir()),
    Path("../shared/eval"),
)
SEED = 20261201


def settings(data_dir: Path, mode: str, model: str = "auto") -> Settings:
    return Settings(
        paths={"data_dir": str(data_dir)},
        llm={"model": model, "max_tokens": 128, "temperature": 0.0},
        answer={"mode": mode, "unsupported": "keep"},
    )


def sample(path: Path, n: int) -> list[Any]:
    answerable = [q for q in load_questions(path) if q.answerable]
    random.Random(SEED).shuffle(answerable)
    return answerable[:n]


def run(data_dir: Path, questions: list[Any], model: str, extract: bool) -> dict[str, dict[str, float]]:
    gen = RAG(Resources(settings(data_dir, "generate", model)))
    ext = RAG(Resources(settings(data_dir, "extract"))) if extract else None
    names = ("keep", "mark", "drop", "extract") if extract else ("keep", "mark", "drop")
    tallies = {name: {"correct": 0, "abstained": 0, "left": 0, "sentences": 0} for name in names}
    started = time.perf_counter()
    for q in questions:
        answers = [q.answer, *q.aliases]
        a = gen.answer(q.question)
        retrieval_refused = not a.sources  # refused before the model ran: the same for all settings
        checks = a.citations
        supported = [c for c in checks if c.supported]
        has_support = any(c.n is not None for c in supported)
        kept_text = " ".join(c.sentence for c in supported)
        unsupported = sum(1 for c in checks if not c.supported)
        shown = {
            "keep": (a.answer, retrieval_refused or a.abstained, unsupported),
            "mark": (a.answer, retrieval_refused or a.abstained or not has_support, 0),
            "drop": (kept_text, retrieval_refused or a.abstained or not has_support, 0),
        }
        for name, (text, abstained, left) in shown.items():
            t = tallies[name]
            t["abstained"] += abstained
            t["correct"] += (not abstained) and contains_answer(text, answers)
            t["left"] += 0 if abstained else left
            t["sentences"] += 0 if abstained else (len(checks) if name != "drop" else len(supported))
        print(f"  {q.id}: {len(checks)} sentences, {unsupported} unsupported", flush=True)
        if ext is None:
            continue
        e = ext.answer(q.question)
        t = tallies["extract"]
        t["abstained"] += e.abstained
        t["correct"] += (not e.abstained) and contains_answer(e.answer, answers)
        t["sentences"] += len(e.citations)
    print(f"  {len(questions)} questions in {time.perf_counter() - started:.0f} s", flush=True)
    n = len(questions)
    return {
        name: {
            "accuracy": t["correct"] / n,
            "unsupported_left": t["left"] / t["sentences"] if t["sentences"] else 0.0,
            "abstained": t["abstained"] / n,
        }
        for name, t in tallies.items()
    }


def table(results: dict[tuple[str, str], dict[str, dict[str, float]]], n: dict[str, int]) -> str:
    lines = [
        "| set | model | setting | answer accuracy | unsupported left unflagged | answerable refused |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for (lang, model), by_setting in results.items():
        for name, m in by_setting.items():
            shown = "(none: quotes)" if name == "extract" else model
            lines.append(
                f"| {lang} (n={n[lang]}) | {shown} | {name} | {m['accuracy']:.2f} "
                f"| {m['unsupported_left']:.2f} | {m['abstained']:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--en-data", type=Path, help="index of ../shared/eval/dev/corpus")
    parser.add_argument("--zh-data", type=Path, help="index of ../shared/eval/dev-zh/corpus")
    parser.add_argument("--n", type=int, default=20, help="answerable questions per set")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--models", nargs="+", default=["auto"], help="GGUF paths to generate with ('auto': the bundled one)"
    )
    args = parser.parse_args()
    results: dict[tuple[str, str], dict[str, dict[str, float]]] = {}
    counts = {}
    for lang, data, path in (
        ("en", args.en_data, EVAL / "dev" / "questions.jsonl"),
        ("zh", args.zh_data, EVAL / "dev-zh" / "questions.jsonl"),
    ):
        if data is None:
            continue
        questions = sample(path, args.n)
        counts[lang] = len(questions)
        for i, model in enumerate(args.models):
            name = "SmolLM2-135M" if model == "auto" else Path(model).stem
            print(f"{lang}: {name} generate (unsupported judged per setting)" + ("" if i else " and extract"))
            results[(lang, name)] = run(data, questions, model, extract=i == 0)
    out = table(results, counts)
    print(out)
    if args.out:
        args.out.write_text(out + "\n")


if __name__ == "__main__":
    main()
