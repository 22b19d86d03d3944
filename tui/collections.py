"""Collections: what the data dir holds."""

from __future__ import annotations

from localgpt.errors import LocalGPTError, NoIndexError
from localgpt.rag.resources import Resources
from localgpt.settings.layout import DataDir
from tui.messages import IndexCounted


def list_collections(resources: Resources) -> list[tuple[str, int, int]]:
    """(name, files, chunks) of every collection with files, plus the current one."""
    from localgpt.index.manifest import Manifest

    path = DataDir(resources.data_dir).manifest
    current = resources.settings.store.collection
    names = sorted({*resources.manifest.collections(), current})
    out = []
    for name in names:
        manifest = resources.manifest if name == current else Manifest(path, name)
        try:
            files, chunks = manifest.count()
        finally:
            if manifest is not resources.manifest:
                manifest.close()
        out.append((name, files, chunks))
    return out


def count_index(resources: Resources) -> IndexCounted:
    """The collection's files and chunks for the status bar; a failure is reported, never raised."""
    name = resources.settings.store.collection
    try:
        resources.store()
        files, chunks = resources.manifest.count()
    except NoIndexError:
        return IndexCounted(name, 0, 0)  # not an error: nothing ingested yet
    except LocalGPTError as exc:
        return IndexCounted(name, 0, 0, str(exc))
    except Exception as exc:  # e.g. a Chroma error not mapped to ours: report it, don't die
        return IndexCounted(name, 0, 0, f"{type(exc).__name__}: {exc}")
    return IndexCounted(name, files, chunks)
