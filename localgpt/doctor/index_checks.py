"""Index health for `localgpt doctor`: the manifest, the Chroma collections, and whether they agree.

Read-only throughout: the manifest is opened with SQLite's `mode=ro`, and nothing is created when
there is no index yet. A damaged manifest or Chroma folder becomes a failed check, never a crash.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localgpt.doctor.report import REBUILD_FIX, Check
from localgpt.errors import ExitCode
from localgpt.index.locks import ingest_running
from localgpt.models.files import embedder_dimension
from localgpt.settings.layout import DataDir

if TYPE_CHECKING:
    from localgpt.settings.config import Settings


def _manifest_ids(settings: Settings) -> tuple[dict[str, list[str]], int, list[str]]:
    """({source: chunk ids}, pending count, collections) read straight from the manifest, read-only."""
    path = DataDir(settings.paths.data_dir).manifest
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        name = settings.store.collection
        rows = db.execute("SELECT path, chunk_ids FROM files WHERE collection = ?", (name,)).fetchall()
        pending = db.execute("SELECT COUNT(*) FROM pending WHERE collection = ?", (name,)).fetchone()[0]
        collections = [r[0] for r in db.execute("SELECT DISTINCT collection FROM files ORDER BY 1")]
        return {str(p): list(json.loads(ids)) for p, ids in rows}, int(pending), collections
    finally:
        db.close()


def _collection_ids(collection: Any) -> set[str]:
    ids: set[str] = set()
    offset = 0
    while True:
        page = collection.get(include=[], limit=5000, offset=offset)["ids"]
        if not page:
            return ids
        ids.update(page)
        offset += len(page)


def check_index(settings: Settings) -> Iterator[Check]:
    data_dir = settings.paths.data_dir
    name = settings.store.collection
    manifest_path = DataDir(data_dir).manifest
    chroma = DataDir(data_dir).chroma
    if not manifest_path.exists() and (settings.store.url or not chroma.exists()):
        yield Check(
            "index",
            "collection",
            "warn",
            f"no index yet in {data_dir}",
            "localgpt ingest PATH  (e.g. localgpt ingest examples/docs)",
        )
        return

    manifest: dict[str, list[str]] | None = None
    try:
        if not manifest_path.exists():
            raise FileNotFoundError(f"{manifest_path} is missing")
        manifest, pending, manifest_collections = _manifest_ids(settings)
    except (sqlite3.Error, OSError, ValueError, TypeError) as exc:
        yield Check(
            "index",
            "manifest",
            "fail",
            f"the manifest {manifest_path} is unreadable or damaged ({type(exc).__name__}: {exc})",
            REBUILD_FIX,
            ExitCode.STORAGE,
        )
    else:
        chunks = sum(len(ids) for ids in manifest.values())
        yield Check(
            "index",
            "manifest",
            "ok",
            f"{len(manifest)} files, {chunks} chunks in '{name}' "
            f"(manifest collections: {', '.join(manifest_collections) or 'none'})",
            data={"files": len(manifest), "chunks": chunks, "collections": manifest_collections},
        )
        if pending:
            yield Check(
                "index",
                "pending",
                "warn",
                f"{pending} file(s) were being ingested when an ingest stopped",
                "localgpt ingest PATH  (finishes and cleans them up)",
            )

    collection = yield from _chroma(settings)
    if collection is None:
        return
    yield from _embedder_vs_index(settings, collection)
    if manifest is None:
        return
    try:
        from localgpt.index.store import embedded_lock

        with embedded_lock(settings):
            stored = _collection_ids(collection)
    except Exception as exc:
        yield Check(
            "index",
            "chunks",
            "fail",
            f"cannot read the chunk ids of '{name}': {exc}",
            REBUILD_FIX,
            ExitCode.STORAGE,
        )
        return
    listed = {i for ids in manifest.values() for i in ids}
    missing, orphans = listed - stored, stored - listed
    data = {
        "collection_chunks": len(stored),
        "manifest_chunks": len(listed),
        "missing": len(missing),
        "orphans": len(orphans),
    }
    busy = ingest_running(settings.paths.data_dir, settings.store.collection)
    if not missing and not orphans:
        yield Check(
            "index",
            "consistency",
            "ok",
            f"manifest and collection agree: {len(stored)} chunks, 0 missing, 0 orphans",
            data=data,
        )
        return
    detail = (
        f"manifest and collection disagree: {len(missing)} chunk ids listed in the manifest are missing "
        f"from the collection, {len(orphans)} chunks in the collection belong to no manifest file"
    )
    if busy:
        yield Check(
            "index",
            "consistency",
            "warn",
            detail + " (an ingest is running: check again after it)",
            "wait for the ingest to finish, then run `localgpt doctor` again",
            data=data,
        )
    elif missing:
        yield Check(
            "index",
            "consistency",
            "fail",
            detail + "; answers would miss those chunks",
            REBUILD_FIX,
            ExitCode.STORAGE,
            data,
        )
    else:
        yield Check(
            "index",
            "consistency",
            "warn",
            detail + "; stale chunks may show up as sources",
            REBUILD_FIX,
            data=data,
        )


def _chroma(settings: Settings) -> Generator[Check, None, Any]:
    """Yield the checks of the Chroma store; return the collection, or None when it is unusable."""
    name = settings.store.collection
    where = settings.store.url or str(DataDir(settings.paths.data_dir).chroma)
    try:
        from localgpt.index.store import embedded_lock, open_client

        if (
            not settings.store.url
            and not (DataDir(settings.paths.data_dir).chroma / "chroma.sqlite3").is_file()
        ):
            raise FileNotFoundError(f"{where}/chroma.sqlite3 is missing")
        client = open_client(settings)
        with embedded_lock(settings):
            collections = {c.name: c for c in client.list_collections()}
            counts = {n: int(c.count()) for n, c in collections.items()}
    except Exception as exc:
        yield Check(
            "index",
            "chroma",
            "fail",
            f"the Chroma store at {where} is unreadable ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})",
            REBUILD_FIX,
            ExitCode.STORAGE,
        )
        return None
    shown = ", ".join(f"{n} ({c} chunks)" for n, c in counts.items()) or "none"
    data = {"collections": counts, "where": where}
    if name not in collections:
        yield Check(
            "index",
            "chroma",
            "warn",
            f"collection '{name}' does not exist at {where} (collections: {shown})",
            "localgpt ingest PATH",
            data=data,
        )
        return None
    yield Check("index", "chroma", "ok", f"collections at {where}: {shown}", data=data)
    return collections[name]


def _embedder_vs_index(settings: Settings, collection: Any) -> Iterator[Check]:
    from localgpt.models.files import resolve_embedder

    meta = collection.metadata or {}
    recorded, recorded_dim = str(meta.get("embedder", "")), int(meta.get("dimension", 0) or 0)
    name, source = resolve_embedder(settings.embeddings.model)
    dim = embedder_dimension(Path(source)) if Path(source).is_dir() else None
    data = {"recorded": recorded, "recorded_dimension": recorded_dim, "configured": name, "dimension": dim}
    if not recorded:
        yield Check(
            "index",
            "embedder",
            "warn",
            f"collection '{collection.name}' records no embedder",
            REBUILD_FIX,
            data=data,
        )
    elif recorded != name or (dim and recorded_dim and dim != recorded_dim):
        yield Check(
            "index",
            "embedder",
            "fail",
            f"collection '{collection.name}' was built with '{recorded}' ({recorded_dim}-d) but "
            f"'{name}' ({dim or '?'}-d) is configured: questions would be embedded differently",
            f"{REBUILD_FIX}, or set [embeddings] model back to '{recorded}'",
            ExitCode.INDEX_MISMATCH,
            data,
        )
    else:
        yield Check(
            "index", "embedder", "ok", f"built with {recorded} ({recorded_dim}-d), as configured", data=data
        )
