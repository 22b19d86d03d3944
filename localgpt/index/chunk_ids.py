"""Chunk ids: stable, so re-running an ingest upserts in place instead of duplicating."""

from __future__ import annotations

import hashlib


def chunk_id(source: str, sha256: str, index: int) -> str:
    """The same file version always yields the same ids."""
    digest = hashlib.blake2b(f"{source}\0{sha256}\0{index}".encode(), digest_size=16)
    return digest.hexdigest()
