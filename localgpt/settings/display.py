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


def human_size(n: int | None) -> str:
    """Bytes in the unit people read: "1.2 GB"."""
    if n is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"
