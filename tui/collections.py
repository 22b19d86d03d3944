"""Collections: what the data dir holds."""

from __future__ import annotations

from localgpt.rag.resources import Resources
from localgpt.settings.layout import DataDir


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
