"""How paths are shown to people."""

from __future__ import annotations

import os


def shown(path: str) -> str:
    """Paths under the working directory are shown relative to it, others in full."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel
