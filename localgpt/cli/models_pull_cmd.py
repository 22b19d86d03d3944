"""`localgpt models pull`: download a GGUF chat model or an embedder into [paths] models_dir.

The only command that uses the network, and only when asked. Progress goes to stderr.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from localgpt.cli.app import AppContext, pass_app
from localgpt.cli.models_cmd import json_option, models_group
from localgpt.errors import ExitCode

if TYPE_CHECKING:
    from localgpt.models.catalogue import CatalogueEntry


# --- pull -----------------------------------------------------------------------------------------


class _Plain:
    """Progress for logs and pipes: a line per 10%, nothing that redraws."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.next_step = 0

    def __call__(self, done: int, total: int | None) -> None:
        from localgpt.settings.display import human_size

        if not total:
            return
        percent = done * 100 // total
        if percent >= self.next_step:
            click.echo(f"{self.label}: {percent:3d}% of {human_size(total)}", err=True)
            self.next_step = percent // 10 * 10 + 10

    def close(self) -> None:
        pass


class _Bar:
    """A rich progress bar on a terminal (stderr, so stdout stays clean for --json)."""

    def __init__(self, label: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._progress.add_task(label, total=None)
        self._started = False

    def __call__(self, done: int, total: int | None) -> None:
        if not self._started:  # drawn from the first byte, so a failed connect leaves no empty bar
            self._progress.start()
            self._started = True
        self._progress.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._started:
            self._progress.stop()
            self._started = False


@models_group.command("pull")
@click.argument("name")
@click.option("--force", is_flag=True, help="Download again even if the file is there (drops a partial one).")
@click.option(
    "--sha256", "sha256", help="Expected sha256 of a REPO/FILE download (catalogue names know theirs)."
)
@click.option("--revision", help="Branch, tag or commit on the hub (default: the catalogue's, or main).")
@json_option
@pass_app
def pull_command(
    app: AppContext, name: str, force: bool, sha256: str | None, revision: str | None, as_json: bool
) -> int:
    """Download NAME (a catalogue name) or OWNER/REPO/FILE.gguf into [paths] models_dir.

    The hub is $HF_ENDPOINT (default https://huggingface.co); HF_TOKEN is sent for gated repos.
    An interrupted download is kept as FILE.part and resumed by running the same command again.
    Exit codes: 0 downloaded (or already there), 11 network (offline, interrupted: run it again),
    5 not the model (no such file, sha256 mismatch, not a GGUF: nothing kept), 10 disk, 9 busy.
    """
    from dataclasses import replace

    from localgpt.models.catalogue import load_catalogue, resolve_pull
    from localgpt.models.pull import hub_endpoint, pull

    settings = app.load().settings
    models_dir = settings.paths.models_dir
    spec = resolve_pull(name, load_catalogue(models_dir), sha256)
    if spec.entry is not None and spec.entry.is_embedder:
        return _pull_embedder(spec.entry, models_dir, revision, force, as_json)
    if revision:
        spec = replace(spec, revision=revision)
    label = spec.local_name
    if not as_json:
        size = f" ({spec.size / 1e9:.1f} GB)" if spec.size else ""
        click.echo(f"pulling {spec.repo}/{spec.file}{size} from {hub_endpoint()} into {models_dir}", err=True)
    reporter = _Bar(label) if sys.stderr.isatty() and not as_json else _Plain(label)
    started = time.monotonic()
    try:
        result = pull(spec, models_dir, force=force, progress=None if as_json else reporter)
    except KeyboardInterrupt:
        reporter.close()
        click.echo(
            f"localgpt: partial download kept in {models_dir}; run the same command to resume", err=True
        )
        raise
    finally:
        reporter.close()
    payload = {
        "path": str(result.path),
        "size": result.size,
        "sha256": result.sha256,
        "sha256_verified": result.verified,
        "resumed_from": result.resumed_from,
        "already_present": result.already_present,
        "url": result.url,
        "seconds": round(time.monotonic() - started, 1),
    }
    if as_json:
        click.echo(json.dumps(payload, indent=2))
    elif result.already_present:
        click.echo(f"already downloaded: {result.path} (--force downloads it again)", err=True)
    else:
        check = "sha256 verified" if result.verified else "no known sha256: checked it is a whole GGUF"
        resumed = f", resumed from byte {result.resumed_from}" if result.resumed_from else ""
        click.echo(f"saved {result.path} ({check}{resumed})", err=True)
        entry = spec.entry.name if spec.entry else result.path.name
        click.echo(f"make it the active model with: localgpt models use {entry}", err=True)
    return ExitCode.OK


def _pull_embedder(
    entry: CatalogueEntry, models_dir: Path, revision: str | None, force: bool, as_json: bool
) -> int:
    """An embedder is a folder of files, each checked against the hash the hub publishes for it."""
    from localgpt.models.pull import hub_endpoint
    from localgpt.models.pull_embedder import pull_embedder

    if not as_json:
        size = f" (~{entry.approx_gb} GB)" if entry.approx_gb else ""
        click.echo(f"pulling embedder {entry.repo}{size} from {hub_endpoint()} into {models_dir}", err=True)
    reporter = _Bar(entry.name) if sys.stderr.isatty() and not as_json else _Plain(entry.name)
    started = time.monotonic()
    try:
        result = pull_embedder(entry, models_dir, revision, force, None if as_json else reporter)
    finally:
        reporter.close()
    payload = {
        "path": str(result.path),
        "commit": result.commit,
        "files": result.files,
        "size": result.size,
        "sha256_verified": not result.already_present,
        "already_present": result.already_present,
        "seconds": round(time.monotonic() - started, 1),
    }
    if as_json:
        click.echo(json.dumps(payload, indent=2))
    elif result.already_present:
        click.echo(f"already downloaded: {result.path} (--force downloads it again)", err=True)
    else:
        click.echo(
            f"saved {result.path}: {len(result.files)} files from commit {result.commit[:12]}, each checked "
            "against the hub's published hash (LFS sha256, or git blob sha1 for small files)",
            err=True,
        )
        click.echo(
            f"use it with: localgpt models use {entry.name}, then `localgpt ingest --rebuild PATH` "
            "(an index keeps the embedder it was built with)",
            err=True,
        )
    return ExitCode.OK


# --- use ------------------------------------------------------------------------------------------
