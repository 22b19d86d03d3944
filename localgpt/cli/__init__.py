"""The `localgpt` command line. Heavy libraries are imported inside the commands that need them."""

from __future__ import annotations

import sys

# Importing a command module registers its command.
from localgpt.cli import (  # noqa: F401
    ask_cmd,
    chat_cmd,
    config_cmd,
    doctor_cmd,
    eval_cmd,
    ingest_cmd,
    models_cmd,
    models_pull_cmd,
    search_cmd,
    serve_cmd,
)
from localgpt.cli.app import cli, run

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> int:
    return run(cli, sys.argv[1:] if argv is None else argv)
