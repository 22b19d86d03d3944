"""Tune chunking and retrieval defaults on the dev question set, with a held-out split.

    python bench/tune.py [--questions Q.jsonl] [--corpus DIR] [--sizes 128,200,254] [--quick]

Builds one index per chunking config (our loaders -> splitter -> bundled embedder -> Chroma +
BM25), evaluates retrieval settings on the tuning split, picks the best by a combined objective,
and reports it, and the classic LocalGPT recipe, on the untouched held-out split.
Writes bench/results/tune.json.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from localgpt.offline import enforce_offline  # noqa: E402

enforce_offline()

DEV = Path(os.environ.get("LOCALGPT_DEV_SET", "/work/shared/eval/dev"))
OFFTOPIC = ROOT / "bench" / "data" / "offtopic.jsonl"
RESULTS = ROOT / "bench" / "results"
HOLDOUT_SHARE = 0.3


def split_of(qid: str) -> str:
    """Deterministic 70/30 split by id hash: the held-out part is never looked at while tuning."""
    bucket = int(hashlib.sha1(qid.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "holdout" if bucket < HOLDOUT_SHARE else "tune"


def load_docs(corpus: Path) -> list[tuple[Any, str]]:
    from ingest.loaders import load_file
    from ingest.plan import sha256_file
    from ingest.scan import scan
    from localgpt.errors import LoaderError

    out = []
    for info in scan([corpus]).files:
        try:
            docs = load_file(Path(info.path))
        except LoaderError:
            continue
        out.append((docs, sha256_file(info.path)))
    return out


def build_index(name: str, docs: list[tuple[Any, str]], splitter: Any, settings: Any, embedder: Any) -> Any:
    from localgpt.index.keyword import KeywordIndex
    from localgpt.index.store import Store

    chunks: list[tuple[str, str, dict[str, Any]]] = []
    for file_docs, sha in docs:
        for c in splitter(file_docs, sha):
            chunks.append(c)
    texts = [c[1] for c in chunks]
    t0 = time.perf_counter()
    vectors = embedder.embed_documents(texts)
    embed_s = time.perf_counter() - t0
    store = Store.open(settings, embedder.name, embedder.dimension, create=True)
    store.upsert([c[0] for c in chunks], vectors, texts, [c[2] for c in chunks])
    keyword = KeywordIndex.build(chunks, 0)
    print(f"  {name}: {len(chunks)} chunks, embedded in {embed_s:.0f} s", file=sys.stderr, flush=True)
    return store, keyword, len(chunks)


def our_splitter(embedder: Any, size: int, overlap: int) -> Any:
    from ingest.splitter import Splitter

    splitter = Splitter(embedder.count_tokens, size, overlap, embedder.max_tokens)

    def split(docs: Any, sha: str) -> list[tuple[str, str, dict[str, Any]]]:
        return [(c.id, c.text, c.metadata) for c in splitter.split(docs, sha)]

    return split


def classic_splitter() -> Any:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)

    def split(docs: Any, sha: str) -> list[tuple[str, str, dict[str, Any]]]:
        out = []
        for n, piece in enumerate(splitter.split_documents(docs)):
            meta = {k: v for k, v in piece.metadata.items() if v is not None}
            out.append((f"{sha[:16]}-{hash(meta.get('source'))}-{n}", piece.page_content, meta))
        return out

    return split


def evaluate(questions: list[Any], store: Any, keyword: Any, embedder: Any, retrieval: Any) -> list[Any]:
    from localgpt.evaluation.metrics import Result, Retrieved
    from localgpt.rag.retrieval import HybridRetriever

    results = []
    for q in questions:
        docs = HybridRetriever(
            store=store, embedder=embedder, keyword=keyword, settings=retrieval,
            collection_size=store.count(), k=retrieval.k,
        ).invoke(q.question)  # fmt: skip
        retrieved = [
            Retrieved(
                str(d.metadata.get("source")), d.metadata.get("page"), d.page_content, d.metadata["score"]
            )
            for d in docs
        ]
        best = max((r.score for r in retrieved), default=0.0)
        results.append(Result(q, retrieved, abstained=best < retrieval.abstain_threshold))
    return results


def best_threshold(results: list[Any], offtopic: list[Any]) -> tuple[float, dict[str, float]]:
    """The threshold maximising off-topic abstention while keeping answerable questions answered."""
    answerable = [
        max((r.score for r in res.retrieved), default=0.0) for res in results if res.question.answerable
    ]
    off = [max((r.score for r in res.retrieved), default=0.0) for res in offtopic]
    best: tuple[float, float, float, float] = (-1.0, 0.0, 0.0, 0.0)
    for t in [x / 100 for x in range(10, 80)]:
        kept = sum(s >= t for s in answerable) / max(1, len(answerable))
        refused = sum(s < t for s in off) / max(1, len(off))
        objective = 2 * kept * refused / (kept + refused) if kept + refused else 0.0
        if objective > best[0] + 1e-9:
            best = (objective, t, kept, refused)
    lo = max([s for s in off if s < best[1]], default=0.0)
    hi = min([s for s in answerable if s >= best[1]], default=1.0)
    middle = round((lo + hi) / 2, 2) if lo < hi else best[1]
    return middle, {
        "answerable_kept": best[2],
        "offtopic_refused": best[3],
        "gap": [round(lo, 3), round(hi, 3)],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--questions", type=Path, default=DEV / "questions.jsonl")
    parser.add_argument("--corpus", type=Path, default=DEV / "corpus")
    parser.add_argument("--sizes", default="128,200,254")
    parser.add_argument("--overlaps", default="32")
    parser.add_argument("--quick", action="store_true", help="one small sub-corpus, one config")
    args = parser.parse_args()

    from localgpt.embed.registry import load_embedder
    from localgpt.evaluation.metrics import load_questions, score
    from localgpt.settings.config import load_settings

    questions = load_questions(args.questions)
    offtopic_qs = load_questions(OFFTOPIC)
    corpus = args.corpus
    sizes = [int(s) for s in args.sizes.split(",")]
    overlaps = [int(s) for s in args.overlaps.split(",")]
    if args.quick:
        corpus = corpus / "mercurial"
        questions = [
            q for q in questions if (q.source_file or "").startswith("corpus/mercurial") or not q.answerable
        ]
        sizes, overlaps = sizes[:1], overlaps[:1]
    tune = [q for q in questions if split_of(q.id) == "tune"]
    holdout = [q for q in questions if split_of(q.id) == "holdout"]

    scratch = Path(tempfile.mkdtemp(prefix="localgpt-tune-"))
    data_dir = ROOT / "data"
    base = load_settings(None, {"paths.data_dir": str(data_dir)}).settings
    embedder = load_embedder(base.embeddings, data_dir / "embedders")
    docs = load_docs(corpus)
    report: dict[str, Any] = {
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "questions": {"tune": len(tune), "holdout": len(holdout), "offtopic": len(offtopic_qs)},
        "configs": [],
    }
    indexes = {}
    try:

        def settings_for(name: str, **retrieval: Any) -> Any:
            paths = base.paths.model_copy(update={"data_dir": scratch / name})
            return base.model_copy(
                update={"paths": paths, "retrieval": base.retrieval.model_copy(update=retrieval)}
            )

        indexes["classic"] = build_index(
            "classic", docs, classic_splitter(), settings_for("classic"), embedder
        )
        for size, overlap in itertools.product(sizes, overlaps):
            name = f"tok{size}-ov{overlap}"
            indexes[name] = build_index(
                name, docs, our_splitter(embedder, size, overlap), settings_for(name), embedder
            )

        def run(name: str, qs: list[Any], **retrieval: Any) -> tuple[dict[str, Any], list[Any]]:
            store, keyword, _ = indexes[name]
            retr = settings_for(name, **retrieval).retrieval
            results = evaluate(qs, store, keyword, embedder, retr)
            return score(results, retr.k), results

        classic_cfg = {"mode": "vector", "k": 4, "mmr": False}
        for split, qs in (("tune", tune), ("holdout", holdout)):
            rep, _ = run("classic", qs, **classic_cfg)
            report[f"classic_{split}"] = rep["retrieval"]
        defaults = {"mode": base.retrieval.mode, "k": 4, "keyword_weight": base.retrieval.keyword_weight}
        default_name = f"tok{base.ingest.chunk_size}-ov{base.ingest.chunk_overlap}"
        if default_name in indexes:
            for split, qs in (("tune", tune), ("holdout", holdout)):
                rep, _ = run(default_name, qs, **defaults)
                report[f"defaults_{split}"] = rep["retrieval"]

        grid = []
        for name in [n for n in indexes if n != "classic"]:
            for mode, weight, k in itertools.product(("vector", "hybrid"), (0.5, 1.0, 2.0), (3, 4, 6)):
                if mode == "vector" and weight != 1.0:
                    continue
                rep, results = run(name, tune, mode=mode, keyword_weight=weight, k=k)
                _off_rep, off_results = run(name, offtopic_qs, mode=mode, keyword_weight=weight, k=k)
                threshold, abst = best_threshold(results, off_results)
                retr = rep["retrieval"]
                # Retrieval and abstention together; a larger k only counts for what it adds.
                objective = (
                    retr[f"hit@{k}"] + retr["mrr"] + abst["offtopic_refused"] + abst["answerable_kept"]
                )
                row = {"index": name, "mode": mode, "keyword_weight": weight, "k": k,
                       "hit@k": retr[f"hit@{k}"], "hit@1": retr["hit@1"], "mrr": retr["mrr"],
                       "threshold": threshold, **abst, "objective": round(objective, 4)}  # fmt: skip
                grid.append(row)
                print("  " + json.dumps(row), file=sys.stderr, flush=True)
        report["configs"] = grid
        chosen = max(grid, key=lambda r: (r["objective"], -r["k"]))
        report["chosen"] = chosen
        final, _ = run(chosen["index"], holdout, mode=chosen["mode"], keyword_weight=chosen["keyword_weight"],
                       k=chosen["k"], abstain_threshold=chosen["threshold"])  # fmt: skip
        _off_final, off_results = run(chosen["index"], offtopic_qs, mode=chosen["mode"],
                                     keyword_weight=chosen["keyword_weight"], k=chosen["k"],
                                     abstain_threshold=chosen["threshold"])  # fmt: skip
        report["chosen_holdout"] = {
            "retrieval": final["retrieval"],
            "false_abstention_rate": final["abstention"]["false_abstention_rate"],
            "offtopic_abstained": sum(r.abstained for r in off_results) / max(1, len(off_results)),
        }
        k4, _ = run(
            chosen["index"], holdout, mode=chosen["mode"], keyword_weight=chosen["keyword_weight"], k=4
        )
        report["chosen_holdout_at_k4"] = k4["retrieval"]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("tune-quick.json" if args.quick else "tune.json")
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps({k: v for k, v in report.items() if k != "configs"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
