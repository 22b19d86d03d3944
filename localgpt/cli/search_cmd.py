"""`localgpt search`: retrieval only, no LLM. For scripts, agents and pipelines."""

from __future__ import annotations

import json

import click

from localgpt.cli.app import AppContext, cli, pass_app
from localgpt.errors import ExitCode, UsageError


@cli.command("search")
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (sources as in `ask --json`).")
@click.option("--k", "-k", type=click.IntRange(1, 100), help="Chunks to return ([retrieval] k).")
@click.option("--collection", "-c", help="Collection to search ([store] collection).")
@click.option("--source", "source_glob", help="Only files matching this glob, e.g. '*.pdf'.")
@pass_app
def search_command(
    app: AppContext,
    query: str,
    as_json: bool,
    k: int | None,
    collection: str | None,
    source_glob: str | None,
) -> int:
    """The chunks QUERY retrieves, best first, with file, page and score. No model is loaded.

    Exit codes: 0 found, 3 nothing relevant (`ask` would abstain), 4 no index.
    """
    from localgpt.rag.answer import RAG
    from localgpt.rag.hits import search_payload, sources_from
    from localgpt.rag.resources import Resources

    query = query.strip()
    if not query:
        raise UsageError("empty query")
    settings = app.load(**{"store.collection": collection, "retrieval.k": k}).settings
    payload = search_payload(RAG(Resources(settings)), query, None, source_glob)
    if as_json:
        click.echo(json.dumps(payload, ensure_ascii=False))
    else:
        for source in sources_from(payload["sources"]):
            click.echo(f"[{source.n}] {source.label}  (score {source.score:.2f})")
            click.echo("    " + " ".join(source.text.split())[:300])
    return ExitCode.ABSTAINED if payload["abstained"] else ExitCode.OK
