"""`localgpt ask`: one answer for shell scripts. stdout holds the answer and nothing else."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
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
@click.option("--no-server", is_flag=True, help="Answer in this process even if `localgpt serve` runs.")
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
    no_server: bool,
) -> int:
    """Answer QUESTION from the indexed documents ('-' reads it from stdin).

    The answer streams to stdout; the sources and the quotes that back the answer follow on
    stderr. Exit codes: 0 answered,
    3 not found in the documents, 4 no index, 5 model missing, 2 bad config or question,
    130 interrupted. With --json, a failed question also prints an error object on stdout.
    """
    from localgpt.rag.store_child import StoreChild

    flags = {"store.collection": collection, "llm.model": model, "retrieval.k": k, "retrieval.mmr": mmr}
    loaded = app.load(**flags)
    settings = loaded.settings
    _warn_models_dir(settings, loaded.origins)
    if batch:
        if question not in (None, "-"):
            raise UsageError("--batch reads questions from stdin; give no QUESTION")
        return _batch(_rag(settings), source_glob, k)
    raw = sys.stdin.buffer.read() if question in (None, "-") else from_argument(question)
    child = None
    try:
        text = decode_question(raw, settings.llm.n_ctx)
        remote = None if no_server else _ask_server(settings, text, source_glob, as_json)
        if remote is None:
            # Forked before the heavy imports: it opens the store while this process loads the rest.
            child = StoreChild.start(settings)
        rag = _rag(settings, child)
        on_token = None if as_json else _write
        answer = remote or rag.answer(text, source_glob=source_glob, on_token=on_token)
    except LocalGPTError as exc:
        if as_json:
            click.echo(json.dumps(error_payload(raw, exc), ensure_ascii=False))
        raise  # and the one line on stderr, with its exit code
    finally:
        if child is not None:
            child.close()
    notices = _notices(rag, answer, source_glob, k)
    if as_json:
        click.echo(json.dumps(answer.as_dict() | {"notices": notices}, ensure_ascii=False))
    else:
        sys.stdout.write("\n")
        sys.stdout.flush()
        for source in answer.sources:
            click.echo(f"[{source.n}] {source.label}  (score {source.score:.2f})", err=True)
        _print_evidence(answer)
    for notice in notices:
        click.echo(f"localgpt: note: {notice}", err=True)
    _load_notes(rag)
    return ExitCode.ABSTAINED if answer.abstained else ExitCode.OK


def _print_evidence(answer: Any) -> None:
    """The quotes behind the answer, and what the grounding check removed or flagged (stderr).
    Read from `as_dict()`, so a server's answer prints the same."""
    data = answer.as_dict()
    if data.get("evidence"):
        click.echo("evidence:", err=True)
    labels = {s.n: s.label for s in answer.sources}
    for e in data.get("evidence", []):
        quote = " ".join(e["quote"].split())
        where = labels.get(e["n"], e["source"])
        click.echo(f'  [{e["n"]}] {where}, chars {e["start"]}-{e["end"]}: "{quote}"', err=True)
    for c in data.get("dropped", []):
        click.echo(f'localgpt: dropped an unsupported sentence: "{c["sentence"]}" ({c["reason"]})', err=True)
    for c in data.get("citations", []):
        if not c["supported"]:
            click.echo(f'localgpt: unsupported: "{c["sentence"]}" ({c["reason"]})', err=True)


def _rag(settings: Any, child: Any = None) -> Any:
    from localgpt.rag.answer import RAG
    from localgpt.rag.resources import Resources

    return RAG(Resources(settings, store_child=child))


def _warn_models_dir(settings: Any, origins: dict[str, str]) -> None:
    from localgpt.models.files import models_dir_warning

    if settings.llm.backend != "llama-cpp":
        return
    warning = models_dir_warning(settings.paths.models_dir, settings.llm.model, "paths.models_dir" in origins)
    if warning:
        click.echo(f"localgpt: warning: {warning}", err=True)


def _notices(rag: Any, answer: Any, source_glob: str | None, k: int | None) -> list[str]:
    """Lines on what was not done as asked: a --source that matched nothing, a --k that was capped."""
    from localgpt.rag.notices import k_notice, source_filter_notice, unfound_notice, unmentioned_notice

    found = [source_filter_notice(rag.res.manifest.all(), source_glob) if source_glob else None]
    found.append(unmentioned_notice(answer.unmentioned))
    found.append(unfound_notice(answer.unfound))
    if not answer.abstained and not answer.cancelled:
        found.append(k_notice(k, len(answer.sources), rag.settings))
    return [notice for notice in found if notice]


def _ask_server(settings: Any, question: str, source_glob: str | None, as_json: bool) -> Any:
    """A warm `localgpt serve` for this data dir and these settings answers, if one runs; its
    answer is then printed exactly as an in-process one."""
    from localgpt.server.client import ask_remote, sources_of

    remote = ask_remote(settings, question, source_glob, None if as_json else _write)
    return None if remote is None else _RemoteAnswer(remote, sources_of(remote))


@dataclass
class _RemoteAnswer:
    """A server's answer (its JSON) with the few attributes the printing code reads."""

    data: dict[str, Any]
    sources: list[Any]

    @property
    def abstained(self) -> bool:
        return bool(self.data.get("abstained"))

    @property
    def cancelled(self) -> bool:
        return bool(self.data.get("cancelled"))

    @property
    def unmentioned(self) -> list[str]:
        return list(self.data.get("unmentioned") or [])

    @property
    def unfound(self) -> list[str]:
        return list(self.data.get("unfound") or [])

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.data.items() if k != "notices"}


def _load_notes(rag: Any) -> None:
    """What the model loader had to say (no GPU support, fewer GPU layers), once, on stderr."""
    llm = rag.res.__dict__.get("llm")  # only a loaded model has notes: an abstention loads none
    for note in getattr(getattr(llm, "report", None), "notes", ()):
        click.echo(f"localgpt: note: {note}", err=True)


def _write(piece: str) -> None:
    sys.stdout.write(piece)
    sys.stdout.flush()


def _batch(rag: Any, source_glob: str | None, k: int | None) -> int:
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
            answer = rag.answer(question, source_glob=source_glob)
            payload = answer.as_dict() | {"notices": _notices(rag, answer, source_glob, k)}
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
