"""`localgpt ask`: one answer for shell scripts. stdout holds the answer and nothing else."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from localgpt.cli.app import AppContext, cli, pass_app
from localgpt.cli.questions import decode_question, error_payload, from_argument
from localgpt.errors import ExitCode, LocalGPTError, UsageError


@cli.command("ask")
@click.argument("question", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of streaming text.")
@click.option("--batch", is_flag=True, help="Read one question per line on stdin; write JSON lines.")
@click.option("--k", "-k", type=click.IntRange(1, 100), help="Chunks to retrieve ([retrieval] k).")
@click.option("--collection", "-c", help="Collection to ask ([store] collection).")
@click.option("--model", "-m", help="GGUF path or file name in models_dir ([llm] model).")
@click.option("--source", "source_glob", help="Only use files matching this glob, e.g. '*.pdf'.")
@click.option("--mmr", is_flag=True, default=None, help="Diversify chunks with MMR.")
@pass_app
def ask_command(
    app: AppContext,
    question: str | None,
    as_json: bool,
    batch: bool,
    k: int | None,
    collection: str | None,
    model: str | None,
    source_glob: str | None,
    mmr: bool | None,
) -> int:
    """Answer QUESTION from the indexed documents ('-' reads it from stdin).

    The answer streams to stdout; the sources and the quotes that back the answer follow on
    stderr. Exit codes: 0 answered,
    3 not found in the documents, 4 no index, 5 model missing, 2 bad config or question,
    130 interrupted. With --json, a failed question also prints an error object on stdout.
    """
    from localgpt.rag.answer import RAG
    from localgpt.rag.resources import Resources

    flags = {"store.collection": collection, "llm.model": model, "retrieval.k": k, "retrieval.mmr": mmr}
    settings = app.load(**flags).settings
    rag = RAG(Resources(settings))
    if batch:
        if question not in (None, "-"):
            raise UsageError("--batch reads questions from stdin; give no QUESTION")
        return _batch(rag, source_glob)
    raw = sys.stdin.buffer.read() if question in (None, "-") else from_argument(question)
    if as_json:
        try:
            answer = rag.answer(decode_question(raw, settings.llm.n_ctx), source_glob=source_glob)
        except LocalGPTError as exc:
            click.echo(json.dumps(error_payload(raw, exc), ensure_ascii=False))
            raise  # and the one line on stderr, with its exit code
        click.echo(json.dumps(answer.as_dict(), ensure_ascii=False))
    else:
        question = decode_question(raw, settings.llm.n_ctx)
        answer = rag.answer(question, source_glob=source_glob, on_token=_write)
        sys.stdout.write("\n")
        sys.stdout.flush()
        for source in answer.sources:
            click.echo(f"[{source.n}] {source.label}  (score {source.score:.2f})", err=True)
        _print_evidence(answer)
    _load_notes(rag)
    return ExitCode.ABSTAINED if answer.abstained else ExitCode.OK


def _print_evidence(answer: Any) -> None:
    """The quotes behind the answer, and what the grounding check removed or flagged (stderr)."""
    if answer.evidence:
        click.echo("evidence:", err=True)
    labels = {s.n: s.label for s in answer.sources}
    for e in answer.evidence:
        quote = " ".join(e.quote.split())
        click.echo(f'  [{e.n}] {labels.get(e.n, e.source)}, chars {e.start}-{e.end}: "{quote}"', err=True)
    for c in answer.dropped:
        click.echo(f'localgpt: dropped an unsupported sentence: "{c.sentence}" ({c.reason})', err=True)
    for c in answer.citations:
        if not c.supported:
            click.echo(f'localgpt: unsupported: "{c.sentence}" ({c.reason})', err=True)


def _load_notes(rag: Any) -> None:
    """What the model loader had to say (no GPU support, fewer GPU layers), once, on stderr."""
    llm = rag.res.__dict__.get("llm")  # only a loaded model has notes: an abstention loads none
    for note in getattr(getattr(llm, "report", None), "notes", ()):
        click.echo(f"localgpt: note: {note}", err=True)


def _write(piece: str) -> None:
    sys.stdout.write(piece)
    sys.stdout.flush()


def _batch(rag: Any, source_glob: str | None) -> int:
    """One JSON line per question; the models load once. A failing question gets an error line."""
    n_ctx = rag.res.settings.llm.n_ctx
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            question = decode_question(line, n_ctx)
        except UsageError as exc:  # this line's fault only: the batch goes on
            click.echo(json.dumps(error_payload(line, exc), ensure_ascii=False))
            continue
        try:
            payload = rag.answer(question, source_glob=source_glob).as_dict()
        except UsageError as exc:  # e.g. too long for the context window: this line only
            payload = error_payload(line, exc)
        except LocalGPTError as exc:
            if exc.exit_code in (ExitCode.NO_INDEX, ExitCode.MODEL, ExitCode.CONFIG):
                raise  # every later line would fail the same way
            payload = error_payload(line, exc)
        click.echo(json.dumps(payload, ensure_ascii=False))
        sys.stdout.flush()
    _load_notes(rag)
    return ExitCode.OK
