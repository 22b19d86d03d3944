"""A retrieved chunk set back in its surrounding text, for the source preview.

Chunk ids are derived from (source, file sha256, index), so the neighbours of chunk i are found
without a query: ids for i-1 and i+1, fetched from the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from localgpt.index.chunk_ids import chunk_id

if TYPE_CHECKING:
    from localgpt.index.store import Store
    from localgpt.rag.sources import Source

# Shorter shared runs than this are coincidence, not the splitter's overlap.
MIN_OVERLAP = 12


@dataclass(frozen=True)
class Passage:
    before: str
    text: str
    after: str
    found: bool = True  # False: the chunk is no longer indexed; `text` is the saved copy


def surrounding(store: Store, source: Source, radius: int = 1) -> Passage:
    got = store.fetch([source.chunk_id])
    if not got["ids"]:
        return Passage("", source.text, "", found=False)
    text = got["documents"][0] or source.text
    meta = got["metadatas"][0] or {}
    index, sha = meta.get("chunk"), meta.get("sha256")
    if not isinstance(index, int) or not sha:
        return Passage("", text, "")
    path = str(meta.get("source", source.source))
    wanted = {chunk_id(path, str(sha), i): i for i in range(index - radius, index + radius + 1) if i >= 0}
    wanted.pop(source.chunk_id, None)
    near = store.fetch(list(wanted)) if wanted else {"ids": [], "documents": []}
    by_index = {wanted[i]: doc or "" for i, doc in zip(near["ids"], near["documents"], strict=True)}
    before = ""
    for i in range(index - radius, index):
        if i in by_index:
            before = _join(before, by_index[i])
    after = ""
    for i in range(index + radius, index, -1):
        if i in by_index:
            after = _join(by_index[i], after, keep_left=True)
    return Passage(_trim_before(before, text), text, _trim_after(text, after))


def overlap(left: str, right: str) -> int:
    """Length of the longest end of `left` that `right` starts with (the splitter's overlap)."""
    for k in range(min(len(left), len(right)), MIN_OVERLAP - 1, -1):
        if right.startswith(left[-k:]):
            return k
    return 0


def _join(left: str, right: str, keep_left: bool = False) -> str:
    if not left:
        return right
    if not right:
        return left
    k = overlap(left, right)
    if k:
        return left + right[k:] if keep_left else left[: len(left) - k] + right
    return f"{left}\n{right}"


def _trim_before(before: str, text: str) -> str:
    """What precedes the passage: the previous chunks minus the part the passage repeats."""
    if not before:
        return ""
    k = overlap(before, text)
    return before[: len(before) - k] if k else before + "\n"


def _trim_after(text: str, after: str) -> str:
    if not after:
        return ""
    k = overlap(text, after)
    return after[k:] if k else "\n" + after
