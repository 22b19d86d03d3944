"""`localgpt ingest`, `localgpt sources` and `localgpt forget`: the index from the command line."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

import click

from localgpt.cli.app import AppContext, cli, pass_app
from localgpt.errors import ExitCode, UsageError
from localgpt.settings.layout import DataDir

collection_option = click.option("--collection", "-c", help="Collection to use ([store] collection).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")


@cli.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@collection_option
@click.option("--dry-run", is_flag=True, help="Print the plan; write nothing.")
@click.option("--rebuild", is_flag=True, help="Drop the collection first and re-embed everything.")
@click.option("--wait", "wait_s", type=float, default=0.0, help="Wait this long for another ingest.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.option(
    "--follow-external-symlinks",
    is_flag=True,
    default=None,
    help="Also follow symlinks that point outside the folder ([ingest] follow_external_symlinks).",
)
@click.option("--watch", is_flag=True, help="Then keep syncing as files change, until Ctrl-C.")
@json_option
@pass_app
def ingest_command(
    app: AppContext,
    paths: tuple[Path, ...],
    collection: str | None,
    dry_run: bool,
    rebuild: bool,
    wait_s: float,
    quiet: bool,
    follow_external_symlinks: bool | None,
    watch: bool,
    as_json: bool,
) -> int:
    """Index files and folders, or bring the index up to date with them.

    Unchanged files are skipped, changed ones replaced, deleted ones removed and renamed ones
    re-pointed without re-embedding. Exit codes: 0 all ingested, 6 some files skipped,
    7 nothing could be ingested.
    """
    from ingest.pipeline import Ingestor
    from ingest.report import PlainReporter, RichReporter, print_summary
    from localgpt.index.lease import writer_lock
    from localgpt.rag.resources import Resources

    missing = [str(p) for p in paths if not os.path.lexists(p)]
    if missing:
        raise UsageError(f"no such file or folder: {missing[0]}")
    flags = {"store.collection": collection, "ingest.follow_external_symlinks": follow_external_symlinks}
    settings = app.load(**flags).settings
    _lower_priority(settings.ingest.nice)
    res = Resources(settings)
    rich = sys.stderr.isatty() and not as_json and not quiet
    reporter = RichReporter() if rich else PlainReporter(quiet=quiet or as_json)
    with writer_lock(settings, lambda: res.manifest, wait_s):
        if rebuild and not dry_run:
            _drop(res)
        try:
            summary = Ingestor(res, reporter).run(list(paths), dry_run=dry_run)
        finally:
            reporter.close()
        if not dry_run and (summary.added or summary.changed or summary.moved or summary.removed):
            res.keyword_index()  # rebuild now, so the first question doesn't pay for it
    if as_json:
        click.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    else:
        print_summary(summary, rich)
    if watch and not dry_run:
        from ingest.watch import watch as watch_folders

        click.echo(f"localgpt: watching {len(paths)} path(s) for changes; Ctrl-C stops", err=True)
        watch_folders(res, list(paths))
        click.echo("localgpt: stopped watching", err=True)
        return ExitCode.OK
    return summary.exit_code


def _drop(res: object) -> None:
    """Empty the collection, its manifest rows and its keyword index.

    What is too damaged to open is what --rebuild is for: it is moved aside (kept, not deleted)
    and started afresh. A read-only or full disk is not damage: that error goes to the user.
    """
    import shutil

    from localgpt.errors import CorruptIndexError
    from localgpt.index.manifest import set_aside as set_manifest_aside
    from localgpt.index.store import chroma_dir, drop_collection
    from localgpt.index.store import set_aside as set_store_aside
    from localgpt.rag.resources import Resources

    assert isinstance(res, Resources)
    settings = res.settings
    whole_store = False
    try:
        drop_collection(settings)
    except CorruptIndexError:
        moved = set_store_aside(chroma_dir(settings))
        whole_store = True
        click.echo(
            f"localgpt: the index was unreadable; moved it to {moved}. Every collection it held "
            "must be ingested again.",
            err=True,
        )
    try:
        rows = res.manifest
    except CorruptIndexError:
        moved = set_manifest_aside(DataDir(res.data_dir).manifest)
        click.echo(
            f"localgpt: the manifest was unreadable; moved it to {moved}. Other collections "
            "need `localgpt ingest --rebuild` too.",
            err=True,
        )
        rows = res.manifest
    if whole_store:
        rows.drop_all()  # their chunks went with the old folder
        shutil.rmtree(DataDir(res.data_dir).keyword_root, ignore_errors=True)
    else:
        rows.drop_collection()
        shutil.rmtree(DataDir(res.data_dir).keyword(settings.store.collection), ignore_errors=True)


@cli.command("sources")
@collection_option
@json_option
@pass_app
def sources_command(app: AppContext, collection: str | None, as_json: bool) -> int:
    """List the indexed files with their chunk and page counts, and which were read through OCR."""
    from localgpt.rag.resources import Resources
    from localgpt.settings.display import shown

    settings = app.load(**{"store.collection": collection}).settings
    records = Resources(settings).manifest.all()
    if as_json:
        rows = [
            {
                "source": r.path,
                "chunks": len(r.chunk_ids),
                "pages": r.pages,
                "ocr_pages": r.ocr_pages,
                "size": r.size,
                "sha256": r.sha256,
            }
            for r in records.values()
        ]
        click.echo(json.dumps({"collection": settings.store.collection, "files": rows}, indent=2))
        return ExitCode.OK
    if not records:
        click.echo(f"collection '{settings.store.collection}' is empty; run `localgpt ingest PATH`", err=True)
        return ExitCode.NO_INDEX
    for r in records.values():
        pages = f"{r.pages:>4} pages" if r.pages else " " * 10
        ocr = f"  (OCR: {r.ocr_pages} pages)" if r.ocr_pages else ""
        click.echo(f"{len(r.chunk_ids):>6} chunks {pages}  {shown(r.path)}{ocr}")
    total = sum(len(r.chunk_ids) for r in records.values())
    click.echo(f"{len(records)} files, {total} chunks in '{settings.store.collection}'", err=True)
    return ExitCode.OK


@cli.command("forget")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@collection_option
@click.option("--wait", "wait_s", type=float, default=0.0, help="Wait this long for another ingest.")
@pass_app
def forget_command(app: AppContext, paths: tuple[Path, ...], collection: str | None, wait_s: float) -> int:
    """Remove files, or everything under folders, from the index (the files stay on disk)."""
    from ingest.names import index_name
    from localgpt.index.lease import writer_lock
    from localgpt.rag.resources import Resources
    from localgpt.settings.display import shown

    settings = app.load(**{"store.collection": collection}).settings
    res = Resources(settings)
    with writer_lock(settings, lambda: res.manifest, wait_s):
        targets = {}
        for path in paths:
            targets.update(res.manifest.under(index_name(os.path.abspath(path))))
        if not targets:
            raise UsageError(f"nothing indexed under {paths[0]}")
        store = res.store()
        for rec in targets.values():
            store.delete(list(rec.chunk_ids))
            store.delete_source(rec.path)
            res.manifest.remove([rec.path])
            click.echo(f"forgot {shown(rec.path)} ({len(rec.chunk_ids)} chunks)", err=True)
        res.keyword_index()
    return ExitCode.OK


def _lower_priority(nice: int) -> None:
    """Run at `[ingest] nice` (never raising the priority: that needs privileges), so a question
    asked during an ingest gets the cores first (bench/README.md, "Where a cold ask's start-up
    goes"). Parser and OCR workers inherit it."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    with contextlib.suppress(OSError):
        current = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, 0, max(current, nice))
