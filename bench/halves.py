"""The tuning / held-out halves of a question set: by kind, then by a hash of the question id.

A plain hash split of a small set can be lopsided (14 of the English set's 18 unanswerable
questions hash under 0.5), so each kind is split on its own: its questions ordered by the
hash of their id, the first half (rounded up) held out. Deterministic, and blind to content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def bucket(qid: str) -> float:
    return int(hashlib.sha1(qid.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def holdout_ids(questions: Iterable[tuple[str, str]]) -> set[str]:
    """`questions`: (id, kind) pairs. The ids of the held-out half."""
    by_kind: dict[str, list[str]] = {}
    for qid, kind in questions:
        by_kind.setdefault(kind, []).append(qid)
    held: set[str] = set()
    for ids in by_kind.values():
        ids.sort(key=bucket)
        held.update(ids[: (len(ids) + 1) // 2])
    return held
