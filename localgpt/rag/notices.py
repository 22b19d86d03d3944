"""What an answer quietly did differently from what was asked, said in one line each.

`ask` prints these on stderr ("localgpt: note: ...") and lists them under `notices` in JSON, so a
script can tell "not in the documents" from "the filter matched nothing" or "k was capped".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from localgpt.rag.retrieval import match_sources

if TYPE_CHECKING:
    from localgpt.settings.config import Settings


def source_filter_notice(indexed: Iterable[str], pattern: str) -> str | None:
    """Say so when --source matches no indexed file: the question was then not searched at all."""
    files = list(indexed)
    if not files or match_sources(files, pattern):
        return None
    return (
        f"--source {pattern!r} matched none of the {len(files)} indexed files, so nothing was searched; "
        "`localgpt sources` lists them"
    )


def k_notice(asked: int | None, used: int, settings: Settings) -> str | None:
    """Say so when --k asked for more chunks than went into the prompt, and what capped them."""
    if asked is None or used >= asked:
        return None
    fetch_k = settings.retrieval.fetch_k
    reasons = []
    if asked > fetch_k:
        reasons.append(f"each search fetches at most [retrieval] fetch_k = {fetch_k} candidates")
    reasons.append(f"the prompt holds what fits in [llm] n_ctx = {settings.llm.n_ctx} tokens")
    if settings.retrieval.score_threshold > 0:
        reasons.append(
            f"chunks under [retrieval] score_threshold = {settings.retrieval.score_threshold} are dropped"
        )
    return f"--k {asked}: {used} chunks were used, not {asked} ({'; '.join(reasons)})"


def unmentioned_notice(names: list[str]) -> str | None:
    """Why a question was refused when it names something the documents never mention."""
    if not names:
        return None
    listed = ", ".join(repr(n) for n in names)
    return f"your documents never mention {listed}, so they can't answer this"


def unfound_notice(spans: list[str]) -> str | None:
    """Why a question was refused when no passage found holds the code it quotes."""
    if not spans:
        return None
    listed = ", ".join(f"`{s}`" for s in spans)
    return f"no passage found for this question holds {listed}, so your documents don't seem to describe it"
