"""`localgpt chat`: the terminal app. Textual is imported here, when the command runs, never before."""

from __future__ import annotations

import sys

import click

from localgpt.cli.app import AppContext, cli, pass_app
from localgpt.errors import ExitCode, UsageError


@cli.command("chat")
@click.option("--collection", "-c", help="Collection to open ([store] collection).")
@click.option("--model", "-m", help="GGUF path or file name in models_dir ([llm] model).")
@click.option("--no-server", is_flag=True, help="Answer in this process even if `localgpt serve` runs.")
@pass_app
def chat_command(app: AppContext, collection: str | None, model: str | None, no_server: bool) -> int:
    """Chat with your documents in a terminal app; answers stream beside their sources.

    F1 lists the keys, Ctrl+P searches the actions, Ctrl+Q quits. Chats are saved in the data
    dir's chats/ folder. A running `localgpt serve` for the same data dir answers, if there is one.
    """
    loaded = app.load(**{"store.collection": collection, "llm.model": model})
    settings = loaded.settings
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # The app would paint escape codes into a pipe and wait for keys that never come.
        raise UsageError(
            "`localgpt chat` needs a terminal on stdin and stdout; in scripts use `localgpt ask`"
        )
    from localgpt.models.files import models_dir_warning

    warnings = []
    if settings.llm.backend == "llama-cpp":
        configured = "paths.models_dir" in loaded.origins
        warnings.append(models_dir_warning(settings.paths.models_dir, settings.llm.model, configured))
    for warning in filter(None, warnings):
        click.echo(f"localgpt: warning: {warning}", err=True)  # still there after the app exits
    _log_into_textual(app.debug)
    from tui.app import LocalGPTApp

    LocalGPTApp(settings, [w for w in warnings if w], use_server=not no_server).run()
    return ExitCode.OK


def _log_into_textual(debug: bool) -> None:
    """Library log lines written to stderr would tear the screen; send them to Textual's log."""
    import logging

    from textual.logging import TextualHandler

    handler = TextualHandler()
    handler.setLevel(logging.DEBUG if debug else logging.ERROR)
    logging.getLogger().handlers[:] = [handler]
