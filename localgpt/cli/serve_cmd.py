"""`localgpt serve`: one process keeps the embedder, the index and the model warm, behind an
OpenAI-compatible API. FastAPI and uvicorn are imported when the command runs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from localgpt.cli.app import AppContext, cli, pass_app
from localgpt.errors import ExitCode

if TYPE_CHECKING:
    from localgpt.server.app import Background
    from localgpt.server.state import ServerState


@cli.command("serve")
@click.option("--host", help="Address to bind ([server] host; default 127.0.0.1).")
@click.option(
    "--port", type=click.IntRange(0, 65535), help="Port ([server] port; default 8765; 0 = any free)."
)
@click.option("--collection", "-c", help="Collection for the model name 'localgpt' and for --watch.")
@click.option("--model", "-m", help="GGUF path or file name in models_dir ([llm] model).")
@click.option(
    "--api-key", help="Require 'Authorization: Bearer KEY' ([server] api_key); needed off loopback."
)
@click.option(
    "--watch",
    "watch_paths",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Keep the collection in step with this folder while serving (repeatable).",
)
@pass_app
def serve_command(
    app: AppContext,
    host: str | None,
    port: int | None,
    collection: str | None,
    model: str | None,
    api_key: str | None,
    watch_paths: tuple[Path, ...],
) -> int:
    """Serve the index over an OpenAI-compatible API (model names 'localgpt:<collection>').

    \b
    GET /v1/models, POST /v1/chat/completions, POST /v1/embeddings,
    POST /v1/search (retrieval only), GET /health.
    Loopback only unless an API key is set. Exit codes: 2 a non-loopback --host without an
    API key, 9 a server already runs for this data dir, 12 the address or port can't be used.
    """
    from localgpt.server.run import serve

    flags = {"store.collection": collection, "llm.model": model, "server.host": host, "server.port": port,
             "server.api_key": api_key}  # fmt: skip
    settings = app.load(**flags).settings
    background = [_watcher(list(watch_paths))] if watch_paths else []
    serve(
        settings, settings.server.host, settings.server.port, settings.server.api_key, background, app.debug
    )
    return ExitCode.OK


def _watcher(roots: list[Path]) -> Background:
    def run(state: ServerState, stop: threading.Event) -> None:
        from ingest.watch import watch

        # Its own manifest connection (its own transactions); the server's embedder.
        res = state.models.for_collection(state.settings.store.collection)
        while not state.index_warm.wait(0.2):
            if stop.is_set():
                return
        watch(res, roots, stop)  # syncs first: what changed while no server ran

    return run
