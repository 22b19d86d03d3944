"""Doctor: is the embedder right for the language of the indexed text?

The bundled all-MiniLM-L6-v2 is an English model. Over Chinese text it rates every passage as
about equally similar to every Chinese question, so vector search stops telling them apart and
only the keyword side finds anything (bench/zh_bench.py). Doctor samples the indexed chunks and,
when most of their text is CJK and the embedder is English-only, names the multilingual
embedder to pull. It only reads: no collection is created and no model is loaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from localgpt.doctor.report import Check

if TYPE_CHECKING:
    from localgpt.settings.config import Settings

SAMPLE = 400  # chunks read: enough for the share, cheap on a large index
MOSTLY = 0.5
SUGGESTED = "multilingual-e5-small"


def check_languages(settings: Settings) -> Iterator[Check]:
    from localgpt.index.cjk import CJK_RUN
    from localgpt.models.embedder_profile import resolve_profile

    texts = _sample(settings)
    if not texts:
        return
    letters = sum(sum(1 for c in t if not c.isspace()) for t in texts)
    cjk = sum(len(run) for t in texts for run in CJK_RUN.findall(t))
    share = cjk / letters if letters else 0.0
    profile = resolve_profile(settings.embeddings.model, settings.paths.models_dir)
    data: dict[str, Any] = {
        "cjk_share": round(share, 3),
        "sampled_chunks": len(texts),
        "embedder": profile.name,
    }
    if share < MOSTLY:
        return
    if profile.english_only:
        yield Check(
            "index",
            "language",
            "warn",
            f"{share:.0%} of the indexed text is Chinese/Japanese/Korean, but the embedder "
            f"{profile.name} is English-only: vector search can't tell those passages apart",
            f"localgpt models pull {SUGGESTED} && localgpt models use {SUGGESTED} && "
            "localgpt ingest --rebuild PATH",
            data=data,
        )
    else:
        detail = (
            f"{share:.0%} of the indexed text is CJK; embedder {profile.name} ({profile.languages or '?'})"
        )
        yield Check("index", "language", "ok", detail, data=data)


def _sample(settings: Settings) -> list[str]:
    from localgpt.index.store import embedded_lock, open_client

    if not settings.store.url and not (settings.paths.data_dir / "chroma" / "chroma.sqlite3").is_file():
        return []
    client = open_client(settings)
    with embedded_lock(settings):
        names = {c.name for c in client.list_collections()}
        if settings.store.collection not in names:
            return []
        collection = client.get_collection(settings.store.collection)
        got = collection.get(limit=SAMPLE, include=["documents"])
    return [d for d in got.get("documents") or [] if d]
