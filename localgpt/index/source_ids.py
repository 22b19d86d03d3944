"""Source ids: what the index calls a file, so one share mounted at different paths on different
machines maps to the same ids.

With `[store] source_root` set, a file under it is stored as its path relative to the root
(POSIX separators); anything else, and every file without a root, keeps its absolute path.
Only the index sees ids: everything above the store and the manifest works with this
machine's own paths.
"""

from __future__ import annotations

import os
from pathlib import PurePosixPath
from typing import Any


class SourceIds:
    def __init__(self, root: str = "") -> None:
        self.root = os.path.abspath(os.path.expanduser(root)) if root else ""
        # The walk may report a path through the root's real location; both spellings count.
        self._prefixes = (
            sorted({self.root, os.path.realpath(self.root)}, key=len, reverse=True) if root else []
        )

    def to_id(self, path: str) -> str:
        for prefix in self._prefixes:
            if path.startswith(prefix + os.sep):
                return PurePosixPath(*path[len(prefix) + 1 :].split(os.sep)).as_posix()
        return path

    def to_path(self, source_id: str) -> str:
        if not self.root or os.path.isabs(source_id):
            return source_id
        return os.path.join(self.root, *source_id.split("/"))

    def where(self, where: Any) -> Any:
        """A Chroma filter on `source` (a path, or {"$in": paths}) in terms of ids."""
        if not self.root or not where or "source" not in where:
            return where
        value = where["source"]
        if isinstance(value, str):
            return {**where, "source": self.to_id(value)}
        if isinstance(value, dict) and isinstance(value.get("$in"), list):
            return {**where, "source": {"$in": [self.to_id(str(p)) for p in value["$in"]]}}
        return where
