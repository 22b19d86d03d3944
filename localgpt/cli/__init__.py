"""The `localgpt` command line. Heavy libraries are imported inside the commands that need them."""

from __future__ import annotations

import sys

from localgpt.cli import ask_cmd, config_cmd, ingest_cmd  # noqa: F401  (they register the commands)
from localgpt.cli.app import cli, run

__all__ = ["cli", "main"]


def main(argv: list[str] | None = None) -> int:
    return run(cli, sys.argv[1:] if argv is None else argv)
