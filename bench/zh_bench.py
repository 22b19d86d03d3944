"""Chinese retrieval on ../shared/eval/dev-zh: strict hit@4 and MRR, before and after.

    .venv/bin/python bench/zh_bench.py [--dev DIR] [--modes bigram,search+bigram] [--quick]

"Before" is the splitter without CJK sentence ends and word boundaries (`Splitter(cjk_aware=False)`)
with character-bigram keywords (today's index); "after" is the shipped splitter with each keyword
tokenization in --modes. Everything goes through the product's own parts in one process: our
loaders, the splitter with the embedder's tokenizer, the shipped embedder (bundled
all-MiniLM-L6-v2, ONNX int8), a real Chroma collection, `KeywordIndex.build`, and
`localgpt.rag.retrieval.search` with the shipped [retrieval] settings. Each splitter variant is
embedded once; each keyword mode is a BM25 index over the same chunks.

Scoring follows dev-zh/README.md: whitespace runs become one space, then a space between two CJK
characters is removed, on both the chunk and the evidence. Strict: the chunk comes from
`source_file` (and from `page`, for the PDF), and contains the answer or the evidence
(`localgpt.evaluation.metrics.is_hit`, strict_page=True). Chinese questions (factoid, howto) and
English questions about Chinese text (cross_lingual) are reported separately; unanswerable ones
only as the best score, to show how the abstention threshold sees them.

With --embedder PATH_OR_NAME the "after" variant also runs with that embedder (a pulled
multilingual one, e.g. `multilingual-e5-small`). Writes bench/results/zh.json.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import REPO, loadavg, log, row, write_result

sys.path.insert(0, str(REPO))

from localgpt.offline import enforce_offline

enforce_offline()

# ../shared/eval/dev-zh beside the checkout (a git worktree sits one level deeper).
DEV_ZH = next(
    (
        p
        for p in (REPO.parent / "shared/eval/dev-zh", REPO.parent.parent / "shared/eval/dev-zh")
        if p.is_dir()
    ),
    REPO.parent / "shared/eval/dev-zh",
)
K_REPORTED = 4
K_RETRIEVED = 10
# The one-time ONNX exports, kept between runs (an export takes a while; the figures don't depend on it).
EXPORT_CACHE = Path(tempfile.gettempdir()) / "localgpt-bench-embedders"
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_GAP = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")


def normalise(text: str) -> str:
    """dev-zh's rule: one space per whitespace run, none between two CJK characters."""
    return _CJK_GAP.sub("", " ".join(text.split()))


def load_docs(corpus: Path) -> list[tuple[Any, str]]:
    from ingest.loaders import load_file
    from ingest.plan import sha256_file
    from ingest.scan import scan
    from localgpt.errors import LoaderError

    out = []
    for info in scan([corpus]).files:
        try:
            out.append((load_file(Path(info.path)), sha256_file(info.path)))
        except LoaderError:
            continue
    return out


def settings_for(data_dir: Path, embedder_model: str) -> Any:
    from localgpt.settings.config import load_settings

    loaded = load_settings(config_path=REPO / "config.toml")
    settings = loaded.settings
    paths = settings.paths.model_copy(update={"data_dir": data_dir})
    emb = settings.embeddings.model_copy(update={"model": embedder_model})
    return settings.model_copy(update={"paths": paths, "embeddings": emb})


def split_all(
    docs: list[tuple[Any, str]], splitter: Any
) -> tuple[list[tuple[str, str, dict[str, Any]]], float]:
    started = time.perf_counter()
    chunks = [(c.id, c.text, c.metadata) for file_docs, sha in docs for c in splitter.split(file_docs, sha)]
    return chunks, time.perf_counter() - started


def score(results: list[tuple[Any, list[Any]]]) -> dict[str, Any]:
    """hit@1, hit@4, hit@6, MRR@10 over answerable questions, strict."""
    from localgpt.evaluation.metrics import is_hit

    ranks = []
    for q, retrieved in results:
        rank = next((n for n, r in enumerate(retrieved, 1) if is_hit(r, q, strict_page=True)), None)
        ranks.append(rank)
    n = len(ranks) or 1
    return {
        "n": len(ranks),
        "hit@1": round(sum(r == 1 for r in ranks) / n, 3),
        f"hit@{K_REPORTED}": round(sum(r is not None and r <= K_REPORTED for r in ranks) / n, 3),
        "hit@6": round(sum(r is not None and r <= 6 for r in ranks) / n, 3),
        "mrr": round(sum(1 / r for r in ranks if r is not None) / n, 3),
        "missed": [q.id for (q, _), r in zip(results, ranks, strict=True) if r is None or r > K_REPORTED],
    }


def run_questions(
    questions: list[Any], store: Any, keyword: Any, embedder: Any, retrieval: Any
) -> dict[str, Any]:
    from dataclasses import replace

    from localgpt.evaluation.metrics import Retrieved
    from localgpt.rag.retrieval import HybridRetriever

    by_group: dict[str, list[tuple[Any, list[Any]]]] = {"zh": [], "en": []}
    unanswerable_best: list[float] = []
    answerable_best: list[float] = []
    started = time.perf_counter()
    for q in questions:
        docs = HybridRetriever(
            store=store, embedder=embedder, keyword=keyword, settings=retrieval,
            collection_size=store.count(), k=K_RETRIEVED,
        ).invoke(q.question)  # fmt: skip
        retrieved = [
            Retrieved(
                str(d.metadata.get("source")),
                d.metadata.get("page"),
                normalise(d.page_content),
                d.metadata["score"],
            )
            for d in docs
        ]
        best = max((r.score for r in retrieved), default=0.0)
        if not q.answerable:
            unanswerable_best.append(best)
            continue
        answerable_best.append(best)
        norm_q = replace(
            q,
            evidence=normalise(q.evidence or ""),
            answer=normalise(q.answer or ""),
            aliases=tuple(normalise(a) for a in q.aliases),
        )
        by_group["en" if q.kind == "cross_lingual" else "zh"].append((norm_q, retrieved))
    per_query_ms = (time.perf_counter() - started) * 1000 / max(1, len(questions))
    return {
        "zh": score(by_group["zh"]),
        "en": score(by_group["en"]),
        "query_ms": round(per_query_ms, 1),
        "best_score_answerable_median": round(sorted(answerable_best)[len(answerable_best) // 2], 3)
        if answerable_best
        else None,
        "best_score_unanswerable_median": round(sorted(unanswerable_best)[len(unanswerable_best) // 2], 3)
        if unanswerable_best
        else None,
    }


def build_variant(
    name: str, docs: list[tuple[Any, str]], splitter: Any, settings: Any, embedder: Any
) -> tuple[Any, list[tuple[str, str, dict[str, Any]]], dict[str, Any]]:
    from localgpt.index.store import Store

    chunks, split_s = split_all(docs, splitter)
    started = time.perf_counter()
    vectors = embedder.embed_documents([c[1] for c in chunks])
    embed_s = time.perf_counter() - started
    store = Store.open(settings, embedder.name, embedder.dimension, create=True)
    store.upsert([c[0] for c in chunks], vectors, [c[1] for c in chunks], [c[2] for c in chunks])
    log(f"{name}: {len(chunks)} chunks (split {split_s:.1f} s, embedded {embed_s:.0f} s)")
    return store, chunks, {"chunks": len(chunks), "split_s": round(split_s, 2), "embed_s": round(embed_s, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=DEV_ZH)
    parser.add_argument(
        "--modes",
        default="bigram,words,search,search+bigram,search+char,bigram+char",
        help="keyword tokenizations of Chinese to measure; the last one gets the cjk_vector_weight sweep",
    )
    parser.add_argument(
        "--cjk-vector-weights", default="1,0.5,0.25,0", help="[retrieval] cjk_vector_weight values to try"
    )
    parser.add_argument("--embedder", default="", help="also run 'after' with this [embeddings] model")
    parser.add_argument("--quick", action="store_true", help="the LibreOffice folder and its questions only")
    args = parser.parse_args()
    bench_started = time.perf_counter()
    load_before = loadavg()

    from ingest.splitter import Splitter
    from ingest.worker import make_token_counter
    from localgpt.embed.registry import load_embedder
    from localgpt.evaluation.metrics import load_questions
    from localgpt.index.keyword import KeywordIndex
    from localgpt.models.embedder_profile import resolve_profile

    questions = load_questions(args.dev / "questions.jsonl")
    corpus = args.dev / "corpus"
    if args.quick:
        corpus = corpus / "libreoffice"
        questions = [q for q in questions if not q.source_file or "/libreoffice/" in q.source_file]
    docs = load_docs(corpus)
    log(f"{len(docs)} files, {len(questions)} questions")
    modes = [m for m in args.modes.split(",") if m]
    vector_weights = [float(w) for w in args.cjk_vector_weights.split(",") if w]
    results: dict[str, Any] = {}
    embedders = ["auto"] + ([args.embedder] if args.embedder else [])
    with tempfile.TemporaryDirectory(prefix="localgpt-bench-zh-") as tmp:
        for model in embedders:
            settings = settings_for(Path(tmp) / f"data-{len(results)}", model)
            embedder = load_embedder(settings.embeddings, EXPORT_CACHE, settings.paths.models_dir)
            profile = resolve_profile(settings.embeddings.model, settings.paths.models_dir)
            count = make_token_counter(profile.source)  # the embedder's tokenizer, as ingest counts
            size, overlap = settings.ingest.chunk_size, settings.ingest.chunk_overlap
            variants = [("before", False, ["bigram"])] if model == "auto" else []
            variants.append(("after", True, modes if model == "auto" else [modes[-1]]))
            for split_name, cjk_aware, kw_modes in variants:
                splitter = Splitter(count, size, overlap, embedder.max_tokens, cjk_aware=cjk_aware)
                collection = f"zh-{split_name}-{len(results)}"
                store_settings = settings.model_copy(
                    update={"store": settings.store.model_copy(update={"collection": collection})}
                )
                store, chunks, info = build_variant(
                    f"{embedder.name} {split_name}", docs, splitter, store_settings, embedder
                )
                for mode in kw_modes:
                    started = time.perf_counter()
                    keyword = KeywordIndex.build(chunks, 0, mode)
                    build_s = time.perf_counter() - started
                    # "before" is today's retrieval: the vector ranking at full weight.
                    shipped_weight = settings.retrieval.cjk_vector_weight if cjk_aware else 1.0
                    weights = [shipped_weight]
                    if cjk_aware and mode == modes[-1] and getattr(embedder, "english_only", False):
                        weights = sorted({shipped_weight, *vector_weights}, reverse=True)
                    for weight in weights:
                        retrieval = settings.retrieval.model_copy(update={"cjk_vector_weight": weight})
                        key = f"{embedder.name} | splitter {split_name} | keywords {mode}"
                        if len(weights) > 1:
                            key += f" | cjk_vector_weight {weight:g}"
                        figures = run_questions(questions, store, keyword, embedder, retrieval)
                        figures.update(info, keyword_build_s=round(build_s, 2))
                        for only in ("vector", "keyword"):
                            alone = run_questions(
                                questions,
                                store,
                                keyword,
                                embedder,
                                retrieval.model_copy(update={"mode": only}),
                            )
                            figures[f"{only}_only"] = {g: alone[g][f"hit@{K_REPORTED}"] for g in ("zh", "en")}
                        results[key] = figures
                        log(
                            f"{key}: zh hit@4 {figures['zh']['hit@4']} mrr {figures['zh']['mrr']}; "
                            f"en hit@4 {figures['en']['hit@4']} mrr {figures['en']['mrr']} "
                            f"(BM25 build {build_s:.1f} s)"
                        )
    baseline = next(iter(results.values()))
    from localgpt.index.keyword import CJK_MODE

    shipped_weight = settings_for(REPO, "auto").retrieval.cjk_vector_weight
    shipped_name = f"splitter after | keywords {CJK_MODE}"
    shipped = next(
        (
            v
            for k, v in results.items()
            if shipped_name in k and (k.endswith(shipped_name) or k.endswith(f"weight {shipped_weight:g}"))
        ),
        baseline,
    )
    summary = []
    for group, label in (("zh", "Chinese questions"), ("en", "English questions on Chinese text")):
        for figure in (f"hit@{K_REPORTED}", "mrr"):
            b, a = baseline[group][figure], shipped[group][figure]
            target = ">= 0.85" if group == "zh" and figure == "hit@4" else ""
            name = f"dev-zh {label}: strict {figure}" + (f" (goal {target})" if target else "")
            summary.append(row(name, a, b, None, baseline_name="bigrams, plain splitter"))
    write_result(
        "zh",
        args.quick,
        {"dev": str(args.dev), "modes": modes, "k": K_REPORTED, "embedders": embedders},
        results,
        summary,
        bench_started,
        load_before,
        notes=[
            "strict: the chunk is from the question's file (and page, for the PDF) and holds the "
            "answer or the evidence",
            "no multilingual embedder could be built offline from PyPI; see bench/README.md",
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
