"""Retrieval latency at 10k, 100k and 1M chunks: vector-only against hybrid (vector + BM25).

Synthetic chunks: 384-d random unit vectors and short random texts (Zipf-distributed words from
a made-up vocabulary), inserted in batches of 5000 into a real embedded Chroma collection
(PersistentClient in a temp dir, cosine HNSW, as `localgpt.index.store.Store` creates it). The BM25
index is `localgpt.index.keyword.KeywordIndex.build` over the same texts. Each query goes through
`localgpt.rag.retrieval.HybridRetriever` with a stand-in embedder that returns a precomputed vector, once with
mode "vector" and once with mode "hybrid" (alternating, after a warm-up), with the default k and
fetch_k. Chroma's own `collection.query` and the BM25 search alone are timed too, to split the cost.

A size whose insertion is estimated (from the previous size's rates) to exceed --budget-min is
skipped and the estimate recorded instead.

    .venv/bin/python bench/retrieval_bench.py                       # 10k, 100k, and 1M if it fits
    .venv/bin/python bench/retrieval_bench.py --sizes 10000,100000,1000000 --budget-min 60
    .venv/bin/python bench/retrieval_bench.py --quick               # 2k and 10k, 30 queries
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import loadavg, log, percentile, ratio, row, scratch, write_result

DIM = 384
BATCH = 5000
VOCAB = 20000
SEED = 20251123

from localgpt.settings.config import RetrievalSettings  # noqa: E402

DEFAULTS = RetrievalSettings()  # the shipped k, fetch_k, keyword weight


class FixedEmbedder:
    """Stands in for the embedder: `embed_query` returns the vector set for the current query."""

    def __init__(self) -> None:
        self.vector: list[float] = []

    def embed_query(self, text: str) -> list[float]:
        return self.vector


def make_vocab(rng: np.random.Generator) -> np.ndarray:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = {"".join(rng.choice(letters, size=int(rng.integers(3, 10)))) for _ in range(VOCAB * 2)}
    return np.array(sorted(words)[:VOCAB])


class Corpus:
    """Deterministic synthetic chunks, generated batch by batch so 1M never sits in memory."""

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.seed = seed
        self.vocab = make_vocab(rng)
        weights = 1.0 / np.arange(1, len(self.vocab) + 1) ** 1.07
        self.p = weights / weights.sum()

    def texts(self, rng: np.random.Generator, n: int, lo: int = 20, hi: int = 60) -> list[str]:
        lengths = rng.integers(lo, hi, size=n)
        words = self.vocab[rng.choice(len(self.vocab), size=int(lengths.sum()), p=self.p)]
        out, start = [], 0
        for length in lengths:
            out.append(" ".join(words[start : start + length]))
            start += length
        return out

    @staticmethod
    def vectors(rng: np.random.Generator, n: int) -> np.ndarray:
        v = rng.standard_normal((n, DIM), dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def batch(
        self, index: int, size: int, offset: int
    ) -> tuple[list[str], np.ndarray, list[str], list[dict]]:
        ids, texts, metas = self.text_batch(index, size, offset)
        return ids, self.vectors(np.random.default_rng([self.seed, index, 0]), size), texts, metas

    def text_batch(self, index: int, size: int, offset: int) -> tuple[list[str], list[str], list[dict]]:
        ids = [f"c{offset + i:08d}" for i in range(size)]
        metas = [{"source": f"/synthetic/doc{(offset + i) // 20:06d}.txt"} for i in range(size)]
        return ids, self.texts(np.random.default_rng([self.seed, index, 1]), size), metas


def insert(collection: Any, corpus: Corpus, n: int) -> dict[str, Any]:
    times: list[float] = []
    for index, offset in enumerate(range(0, n, BATCH)):
        size = min(BATCH, n - offset)
        ids, vecs, texts, metas = corpus.batch(index, size, offset)
        t0 = time.perf_counter()
        collection.add(ids=ids, embeddings=vecs, documents=texts, metadatas=metas)
        times.append(time.perf_counter() - t0)
        if (index + 1) % 20 == 0:
            log(f"  inserted {offset + size:,} ({(offset + size) / sum(times):,.0f}/s)")
    total = sum(times)
    last = times[-max(1, len(times) // 4) :]  # the rate near the end, where HNSW is largest
    return {
        "insert_s": round(total, 2),
        "insert_per_s": round(n / total, 1),
        "insert_per_s_last_quarter": round(sum(min(BATCH, n) for _ in last) / sum(last), 1),
    }


def keyword_entries(corpus: Corpus, n: int) -> list[tuple[str, str, dict]]:
    """The same chunks' (id, text, metadata), materialised so the BM25 timing is the build alone."""
    entries: list[tuple[str, str, dict]] = []
    for index, offset in enumerate(range(0, n, BATCH)):
        ids, texts, metas = corpus.text_batch(index, min(BATCH, n - offset), offset)
        entries.extend(zip(ids, texts, metas, strict=True))
    return entries


def stats_ms(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {"p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2), "n": len(ms)}


def bench_size(n: int, corpus: Corpus, queries: int, warmup: int, tmp: Path) -> dict[str, Any]:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from localgpt.index.keyword import KeywordIndex
    from localgpt.index.store import Store
    from localgpt.rag.retrieval import HybridRetriever

    path = tmp / f"chroma-{n}"
    client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.create_collection(
        "bench", configuration={"hnsw": {"space": "cosine"}}, embedding_function=None,
        metadata={"embedder": "synthetic", "dimension": DIM, "schema": 1},
    )  # fmt: skip
    store = Store(client, collection, "bench")
    log(f"{n:,} chunks: inserting in batches of {BATCH}")
    out: dict[str, Any] = {"chunks": n}
    out.update(insert(collection, corpus, n))
    log(f"  {out['insert_s']}s ({out['insert_per_s']:,.0f}/s); building the BM25 index")
    entries = keyword_entries(corpus, n)
    t0 = time.perf_counter()
    index = KeywordIndex.build(entries, generation=1)
    out["bm25_build_s"] = round(time.perf_counter() - t0, 2)
    del entries
    disk = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    out["chroma_disk_mb"] = round(disk / 2**20, 1)

    # Queries near stored chunks (of the first batch): the vector nudged, a few of its words.
    rng = np.random.default_rng([corpus.seed, 999, n])
    _, first_vecs, first_texts, _ = corpus.batch(0, min(BATCH, n), 0)
    picks = rng.integers(0, len(first_texts), size=queries + warmup)
    noisy = first_vecs[picks] + 0.5 * corpus.vectors(rng, len(picks)) / np.sqrt(2)
    qvecs = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    qtexts = [" ".join(rng.choice(first_texts[p].split(), size=4)) for p in picks]
    embedder = FixedEmbedder()
    modes = {"vector": RetrievalSettings(mode="vector"), "hybrid": RetrievalSettings(mode="hybrid")}
    times: dict[str, list[float]] = {"vector": [], "hybrid": [], "chroma_query": [], "bm25_search": []}
    found = {"vector": 0, "hybrid": 0}
    for i in range(queries + warmup):
        embedder.vector = qvecs[i].tolist()
        order = list(modes) if i % 2 == 0 else list(reversed(modes))
        for mode in order:
            t = time.perf_counter()
            # What a question costs in ask: one count of the store, then the LangChain retriever.
            retriever = HybridRetriever(
                store=store, embedder=embedder, keyword=index if mode == "hybrid" else None,
                settings=modes[mode], collection_size=store.count(), k=modes[mode].k,
            )  # fmt: skip
            docs = retriever.invoke(qtexts[i])
            dt = time.perf_counter() - t
            if i >= warmup:
                times[mode].append(dt)
                found[mode] += len(docs)
        t = time.perf_counter()
        collection.query(
            query_embeddings=[embedder.vector], n_results=DEFAULTS.fetch_k, include=["distances"]
        )
        dt_chroma = time.perf_counter() - t
        t = time.perf_counter()
        index.search(qtexts[i], DEFAULTS.fetch_k)
        dt_bm25 = time.perf_counter() - t
        if i >= warmup:
            times["chroma_query"].append(dt_chroma)
            times["bm25_search"].append(dt_bm25)
    out["latency"] = {name: stats_ms(values) for name, values in times.items()}
    out["results_per_query"] = {mode: round(found[mode] / queries, 2) for mode in found}
    lat = out["latency"]
    out["hybrid_over_vector_p50"] = ratio(lat["hybrid"]["p50_ms"], lat["vector"]["p50_ms"])
    out["hybrid_over_vector_p95"] = ratio(lat["hybrid"]["p95_ms"], lat["vector"]["p95_ms"])
    log(
        f"  vector p50 {lat['vector']['p50_ms']} ms p95 {lat['vector']['p95_ms']} ms; "
        f"hybrid p50 {lat['hybrid']['p50_ms']} ms p95 {lat['hybrid']['p95_ms']} ms; "
        f"chroma alone p50 {lat['chroma_query']['p50_ms']} ms; "
        f"bm25 alone p50 {lat['bm25_search']['p50_ms']} ms"
    )
    return out


def estimate_s(done: dict[str, Any], n: int, queries: int) -> float:
    """Insert + BM25 build + queries for n chunks, extrapolated from a measured size. Rough.

    Insertion at the rate measured near the end of the last size (HNSW insertion slows a little
    as the graph grows, so this errs low); BM25 build linear in n; per query, the BM25 search
    (one inside hybrid, one alone) grows linearly with n and the rest is taken as constant.
    """
    scale = n / done["chunks"]
    lat = {name: v["p50_ms"] / 1000 for name, v in done["latency"].items()}
    per_query = sum(lat.values()) + 2 * lat["bm25_search"] * (scale - 1)
    return n / done["insert_per_s_last_quarter"] + done["bm25_build_s"] * scale + per_query * (queries + 5)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2k and 10k chunks, 30 queries (smoke run)")
    parser.add_argument("--sizes", help="comma-separated chunk counts (default 10000,100000,1000000)")
    parser.add_argument("--queries", type=int, help="timed queries per size and mode (default 200; quick 30)")
    parser.add_argument(
        "--budget-min", type=float, default=40.0, help="skip a size estimated to take longer (default 40 min)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    sizes = [
        int(s) for s in (args.sizes or ("2000,10000" if args.quick else "10000,100000,1000000")).split(",")
    ]
    queries = args.queries or (30 if args.quick else 200)
    warmup = 5
    started, load_before = time.perf_counter(), loadavg()
    corpus = Corpus(SEED)
    measured: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    with scratch("retrieval", keep=args.keep) as tmp:
        for n in sizes:
            if measured:
                est = estimate_s(measured[-1], n, queries)
                log(f"{n:,} chunks: estimated {est / 60:.1f} min from the {measured[-1]['chunks']:,} run")
                if est > args.budget_min * 60:
                    skipped.append(
                        {"chunks": n, "estimated_min": round(est / 60, 1), "budget_min": args.budget_min}
                    )
                    log(
                        f"  skipped: over the {args.budget_min:g}-minute budget "
                        "(raise --budget-min to run it)"
                    )
                    continue
            t0 = time.perf_counter()
            result = bench_size(n, corpus, queries, warmup, tmp)
            gc.collect()  # the client and the HNSW index of this size go before the next
            result["size_total_s"] = round(time.perf_counter() - t0, 1)
            measured.append(result)
            for child in tmp.iterdir():  # free the disk before the next, bigger size
                if child.is_dir():
                    import shutil

                    shutil.rmtree(child, ignore_errors=True)
    largest = measured[-1] if measured else None
    estimates = {}
    if largest:
        for n in (1_000_000,):
            if all(m["chunks"] != n for m in measured):
                estimates[str(n)] = round(estimate_s(largest, n, queries) / 60, 1)
    summary = []
    for m in measured:
        lat = m["latency"]
        label = f"{m['chunks'] // 1000}k" if m["chunks"] < 1_000_000 else f"{m['chunks'] // 1_000_000}M"
        summary.append(
            row(
                f"retrieval p50 at {label} chunks, hybrid vs vector-only (ms)",
                lat["hybrid"]["p50_ms"],
                lat["vector"]["p50_ms"],
                m["hybrid_over_vector_p50"],
                "",
                "ms",
                "vector-only",
            )
        )
        summary.append(
            row(
                f"retrieval p95 at {label} chunks, hybrid vs vector-only (ms)",
                lat["hybrid"]["p95_ms"],
                lat["vector"]["p95_ms"],
                m["hybrid_over_vector_p95"],
                "",
                "ms",
                "vector-only",
            )
        )
    for s in skipped:
        summary.append(row(f"retrieval at {s['chunks'] // 1000}k chunks",
                           f"skipped: est. {s['estimated_min']} min",
                           None, None, "", "", ""))  # fmt: skip
    notes = [
        "ratio = hybrid latency / vector-only latency: the overhead of adding BM25 and fusion "
        "(lower is better; 1.0 means free).",
        "both modes run the whole of localgpt.rag.retrieval.HybridRetriever (one store count, Chroma "
        "query, fusion, fetch of the fused chunks with their vectors, scoring). The embedder is a "
        "stand-in, so no embedding cost.",
        f"chroma_query and bm25_search are the two retrievers alone, with fetch_k={DEFAULTS.fetch_k}; "
        f"both modes return k={DEFAULTS.k} chunks.",
    ]
    params = {"sizes": sizes, "queries": queries, "warmup": warmup, "dim": DIM, "batch": BATCH,
              "vocab": VOCAB, "budget_min": args.budget_min,
              "k": DEFAULTS.k, "fetch_k": DEFAULTS.fetch_k}  # fmt: skip
    results = {"sizes": measured, "skipped": skipped, "estimated_minutes": estimates}
    write_result("retrieval", args.quick, params, results, summary, started, load_before, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
