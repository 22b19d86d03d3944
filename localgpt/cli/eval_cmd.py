"""`localgpt eval`: retrieval and answer quality on a question set, as a table or JSON."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from localgpt.cli.app import AppContext, cli, pass_app
from localgpt.errors import ExitCode, UsageError
from localgpt.settings.layout import DataDir

if TYPE_CHECKING:
    from localgpt.settings.config import Settings


@cli.command("eval")
@click.argument("questions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--corpus",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Ingest this folder into a throwaway collection first.",
)
@click.option("--retrieval-only", is_flag=True, help="Skip the LLM: retrieval and abstention only.")
@click.option("--k", "-k", type=click.IntRange(1, 100), help="Chunks retrieved ([retrieval] k).")
@click.option("--limit", type=int, help="Only the first N questions.")
@click.option("--collection", "-c", help="Collection to evaluate (without --corpus).")
@click.option("--model", "-m", help="GGUF to answer with ([llm] model).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--details",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write one JSON line per question here.",
)
@pass_app
def eval_command(
    app: AppContext,
    questions: Path,
    corpus: Path | None,
    retrieval_only: bool,
    k: int | None,
    limit: int | None,
    collection: str | None,
    model: str | None,
    as_json: bool,
    details: Path | None,
) -> int:
    """Score retrieval (hit@1, hit@k, MRR), answers, abstention, citations and latency."""  # fmt: skip
    from localgpt.evaluation.metrics import load_questions, score
    from localgpt.evaluation.run import evaluate

    try:
        qs = load_questions(questions)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    qs = qs[:limit] if limit else qs
    settings = app.load(**{"store.collection": collection, "llm.model": model, "retrieval.k": k}).settings
    scratch = None
    try:
        if corpus is not None:
            scratch = Path(tempfile.mkdtemp(prefix="localgpt-eval-"))
            settings = ingest_corpus(settings, corpus, scratch)
        started = time.perf_counter()
        results = evaluate(settings, qs, retrieval_only, progress=not as_json)
        report = score(results, settings.retrieval.k)
        report["mode"] = "retrieval-only" if retrieval_only else "answer"
        report["elapsed_s"] = round(time.perf_counter() - started, 1)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if details:
        with details.open("w", encoding="utf-8") as fh:
            for r in results:
                fh.write(json.dumps(_detail(r), ensure_ascii=False) + "\n")
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print_table(report, rich=sys.stdout.isatty())
    return ExitCode.OK


def _detail(r: Any) -> dict[str, Any]:
    from localgpt.evaluation.metrics import first_hit_rank

    return {
        "id": r.question.id,
        "kind": r.question.kind,
        "hit_rank": first_hit_rank(r),
        "abstained": r.abstained,
        "answer": r.answer,
        "sentences": r.sentences,
        "unsupported": r.unsupported,
        "best_score": max((c.score for c in r.retrieved), default=0.0),
        "sources": [{"source": c.source, "page": c.page, "score": c.score} for c in r.retrieved],
    }


def _print_table(report: dict[str, Any], rich: bool) -> None:
    rows: list[tuple[str, str]] = []
    for section in ("retrieval", "abstention", "answer", "grounding"):
        for key, value in (report.get(section) or {}).items():
            rows.append((f"{section} {key}", "-" if value is None else f"{value:.3f}"))
    if "citation_accuracy" in report:
        value = report["citation_accuracy"]
        rows.append(("citation accuracy", "-" if value is None else f"{value:.3f}"))
    for part, pcts in report["latency_ms"].items():
        rows.append((f"latency {part} ms", "  ".join(f"{p} {v:.0f}" for p, v in pcts.items())))
    kinds = report["by_kind"]
    cols = list(next(iter(kinds.values())).keys()) if kinds else []
    if rich:
        from rich.console import Console
        from rich.table import Table

        console = Console()
        summary = Table(title=f"{report['questions']} questions, k={report['k']}, {report['mode']}")
        summary.add_column("metric")
        summary.add_column("value", justify="right")
        for row in rows:
            summary.add_row(*row)
        console.print(summary)
        by_kind = Table(title="by kind")
        by_kind.add_column("kind")
        for col in cols:
            by_kind.add_column(col, justify="right")
        for kind, row in kinds.items():
            by_kind.add_row(kind, *("-" if v is None else f"{v:g}" for v in row.values()))
        console.print(by_kind)
        return
    click.echo(f"{report['questions']} questions, k={report['k']}, {report['mode']}")
    for name, value in rows:
        click.echo(f"  {name:<32} {value}")
    click.echo("by kind: " + "  ".join(cols))
    for kind, row in kinds.items():
        click.echo(f"  {kind:<16} " + "  ".join("-" if v is None else f"{v:g}" for v in row.values()))


EVAL_COLLECTION = "localgpt-eval"


def ingest_corpus(settings: Settings, corpus: Path, scratch: Path) -> Settings:
    """Ingest `corpus` into a throwaway data dir; the embedder export is shared, not redone.

    It lives in the CLI because it joins two layers: ingest writes the index that evaluation reads.
    """
    from ingest.pipeline import Ingestor
    from ingest.report import PlainReporter
    from localgpt.rag.resources import Resources

    # The embedder export and the OCR cache are shared with the real data dir, not redone.
    for cache in ("embedders", "ocr_cache"):
        shared: Path = getattr(DataDir(settings.paths.data_dir), cache)
        shared.mkdir(parents=True, exist_ok=True)
        link: Path = getattr(DataDir(scratch), cache)
        if not link.exists():
            link.symlink_to(shared.resolve(), target_is_directory=True)
    paths = settings.paths.model_copy(update={"data_dir": scratch})
    store = settings.store.model_copy(update={"collection": EVAL_COLLECTION, "url": ""})
    scratch_settings = settings.model_copy(update={"paths": paths, "store": store})
    res = Resources(scratch_settings)
    Ingestor(res, PlainReporter(quiet=True)).run([corpus])
    res.keyword_index()
    return scratch_settings
