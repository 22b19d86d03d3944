"""Ingest throughput, re-sync cost and peak memory: localgpt against the classic LocalGPT recipe.

One invocation, same corpus, same embedder (the bundled all-MiniLM-L6-v2), same machine:
  (a) `localgpt ingest CORPUS --quiet --json` into a fresh data dir, in a subprocess. The one-time
      ONNX int8 export of the embedder is made first by a warm-up ingest of one small file into
      the same data dir's embedder cache, and reported on its own;
  (b) bench/classic_ingest.py in a subprocess (LangChain loaders, 1000/200 characters,
      HuggingFaceEmbeddings on torch, Chroma.from_documents);
  (c) `localgpt ingest` again on the unchanged corpus: the re-sync.
Both get a warm page cache (the corpus is read once first, and each side's libraries are imported
once in a throwaway process), so neither pays for cold disk reads the other doesn't.

    .venv/bin/python bench/ingest_bench.py            # the dev corpus (297 files, 6.6 MB)
    .venv/bin/python bench/ingest_bench.py --quick    # a 13-file sample, for a smoke run
    .venv/bin/python bench/ingest_bench.py --big      # big files against the corpus (bigfiles.py)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from benchlib import (
    BENCH_DIR,
    CONFIG,
    REPO,
    Run,
    child_env,
    loadavg,
    log,
    ratio,
    row,
    run_process,
    scratch,
    write_result,
)

DEFAULT_CORPUS = REPO.parent / "shared" / "eval" / "dev" / "corpus"
QUICK_PER_FORMAT = {".html": 5, ".txt": 3, ".md": 3, ".docx": 1}
QUICK_PDF_PAGES = 4


def localgpt_ingest(data_dir: Path, corpus: Path) -> list[str]:
    return [
        sys.executable, "-m", "localgpt", "--config", str(CONFIG), "--data-dir", str(data_dir),
        "ingest", str(corpus), "--quiet", "--json",
    ]  # fmt: skip


def quick_corpus(source: Path, target: Path) -> Path:
    """A small sample with every format: the first files of each kind, and the PDF's first pages."""
    from pypdf import PdfReader, PdfWriter

    taken: dict[str, int] = {}
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        ext = path.suffix.lower()
        dest = target / path.relative_to(source)
        if ext == ".pdf":
            dest.parent.mkdir(parents=True, exist_ok=True)
            writer = PdfWriter()
            for page in PdfReader(path).pages[:QUICK_PDF_PAGES]:
                writer.add_page(page)
            with dest.open("wb") as fh:
                writer.write(fh)
        elif taken.get(ext, 0) < QUICK_PER_FORMAT.get(ext, 0):
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
            taken[ext] = taken.get(ext, 0) + 1
    return target


def corpus_stats(corpus: Path) -> dict[str, object]:
    files = [p for p in corpus.rglob("*") if p.is_file()]
    by_ext: dict[str, int] = {}
    for p in files:
        by_ext[p.suffix.lower()] = by_ext.get(p.suffix.lower(), 0) + 1
    total = 0
    for p in files:  # reading every byte also warms the page cache for both contenders
        total += len(p.read_bytes())
    return {"path": str(corpus), "files": len(files), "bytes": total, "by_extension": by_ext}


def truncated_chunks(texts: list[str], tokenizer_dir: str, max_seq: int) -> dict[str, int]:
    """How many chunks are longer than the embedder's window (their tails are never embedded)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(tokenizer_dir) / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    lengths = [len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=True)]
    return {
        "chunks": len(lengths),
        "over_max_seq": sum(n > max_seq for n in lengths),
        "max_tokens": max(lengths, default=0),
        "max_seq_length": max_seq,
    }


def collection_texts(chroma_path: Path) -> list[str]:
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str(chroma_path), settings=Settings(anonymized_telemetry=False))
    texts: list[str] = []
    for col in client.list_collections():
        collection = client.get_collection(col.name)
        offset = 0
        while True:
            page = collection.get(limit=5000, offset=offset, include=["documents"])
            if not page["ids"]:
                break
            texts.extend(d or "" for d in page["documents"] or [])
            offset += len(page["ids"])
    return texts


def run_summary(run: Run) -> dict[str, object]:
    return {
        "wall_s": round(run.wall_s, 2),
        "cpu_s": run.cpu_s,
        "peak_tree_rss_mb": run.peak_tree_rss_mb,
        "max_process_rss_mb": run.max_rss_mb,
        "returncode": run.returncode,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a small sample of the corpus (smoke run)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    parser.add_argument(
        "--big", action="store_true", help="the big-file case: a 2,400-page PDF, 30 MB text, 300k-row CSV"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="with --big: shrink the big inputs")
    parser.add_argument("--only", help="with --big: some of pdf,text,csv (the corpus always runs)")
    args = parser.parse_args()
    started, load_before = time.perf_counter(), loadavg()
    if args.big:
        return big_files(args, started, load_before)

    from localgpt.models.files import resolve_embedder

    embedder_name, embedder_dir = resolve_embedder("auto")
    max_seq = json.loads((Path(embedder_dir) / "sentence_bert_config.json").read_text())["max_seq_length"]
    if importlib.util.find_spec("langchain_community") is None:
        sys.exit(
            "the classic baseline needs the bench extra: "
            ".venv/bin/pip install -c constraints.txt -e '.[bench]'"
        )

    with scratch("ingest", keep=args.keep) as tmp:
        corpus = quick_corpus(args.corpus, tmp / "corpus") if args.quick else args.corpus.resolve()
        stats = corpus_stats(corpus)
        log(f"corpus: {stats['files']} files, {stats['bytes'] / 2**20:.2f} MiB ({stats['by_extension']})")
        env = child_env()
        data = tmp / "data"

        # Warm-up: the one-time ONNX int8 export into data/embedders, and localgpt's imports.
        warm = tmp / "warm"
        warm.mkdir()
        (warm / "hello.txt").write_text("A warm-up file, so the embedder export is made before timing.\n")
        log("localgpt warm-up ingest (one-time ONNX int8 export of the embedder)")
        warmup = run_process(localgpt_ingest(data, warm), env=env).check()
        for child in data.iterdir():  # keep only the embedder cache: the timed ingest starts fresh
            if child.name != "embedders":
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        log("classic warm-up (imports only)")
        run_process(
            [sys.executable, "-c", "import langchain_community.document_loaders, langchain_huggingface, "
             "langchain_chroma, sentence_transformers, torch"], env=env,
        ).check()  # fmt: skip

        log("classic LocalGPT recipe: load all, split 1000/200, HuggingFaceEmbeddings, Chroma.from_documents")
        classic_run = run_process(
            [sys.executable, str(BENCH_DIR / "classic_ingest.py"), corpus, tmp / "classic", embedder_dir],
            env=env,
        ).check()
        classic = classic_run.json()
        log(
            f"classic: {classic_run.wall_s:.1f}s, {classic['chunks']} chunks, "
            f"peak {classic_run.peak_tree_rss_mb} MB"
        )

        log("localgpt ingest (fresh data dir)")
        full_run = run_process(localgpt_ingest(data, corpus), env=env).check((0, 6))
        full = full_run.json()
        log(
            f"localgpt: {full_run.wall_s:.1f}s, {full['chunks_total']} chunks, "
            f"peak {full_run.peak_tree_rss_mb} MB"
        )

        log("localgpt re-sync (unchanged corpus)")
        resync_run = run_process(localgpt_ingest(data, corpus), env=env).check((0, 6))
        resync = resync_run.json()
        log(
            f"re-sync: {resync_run.wall_s:.2f}s, added {len(resync['added'])}, "
            f"unchanged {resync['unchanged']}"
        )

        log("counting chunks longer than the embedder's window (not timed)")
        trunc_classic = truncated_chunks(collection_texts(tmp / "classic"), embedder_dir, max_seq)
        trunc_localgpt = truncated_chunks(collection_texts(data / "chroma"), embedder_dir, max_seq)

    mib = stats["bytes"] / 2**20  # type: ignore[operator]
    speedup = ratio(classic_run.wall_s, full_run.wall_s)
    resync_fraction = ratio(resync_run.wall_s, full_run.wall_s, 4)
    results = {
        "corpus": stats,
        "embedder": {"name": embedder_name, "folder": embedder_dir},
        "warmup_ingest": run_summary(warmup) | {"note": "includes the one-time ONNX int8 export"},
        "localgpt": run_summary(full_run)
        | {
            "chunks": full["chunks_total"],
            "files_ingested": len(full["added"]),
            "skipped": full["skipped"],
            "internal_elapsed_s": full["elapsed_s"],
            "mib_per_s": round(mib / full_run.wall_s, 3),
            "truncation": trunc_localgpt,
        },
        "classic": run_summary(classic_run)
        | {
            "chunks": classic["chunks"],
            "documents": classic["documents"],
            "failures": classic["failures"],
            "phases_s": {k: classic[k] for k in ("load_s", "split_s", "model_load_s", "embed_store_s")},
            "mib_per_s": round(mib / classic_run.wall_s, 3),
            "truncation": trunc_classic,
        },
        "resync": run_summary(resync_run)
        | {
            "unchanged": resync["unchanged"],
            "added": len(resync["added"]),
            "changed": len(resync["changed"]),
            "internal_elapsed_s": resync["elapsed_s"],
            "fraction_of_full": resync_fraction,
        },
        "throughput_ratio": speedup,
    }
    summary = [
        row("ingest wall time (s)", round(full_run.wall_s, 1), round(classic_run.wall_s, 1), speedup,
            ">= 2x", "s", "classic LocalGPT recipe"),
        row("ingest throughput (MiB/s)", round(mib / full_run.wall_s, 3), round(mib / classic_run.wall_s, 3),
            speedup, ">= 2x", "MiB/s", "classic LocalGPT recipe"),
        row("ingest CPU time, user+sys (s)", full_run.cpu_s, classic_run.cpu_s,
            ratio(classic_run.cpu_s, full_run.cpu_s), "", "s", "classic LocalGPT recipe"),
        row(f"files indexed (of {stats['files']})", len(full["added"]),
            stats["files"] - len(classic["failures"]), None, "", "", "classic LocalGPT recipe"),
        row("chunks produced", full["chunks_total"], classic["chunks"], None, "", "",
            "classic LocalGPT recipe"),
        row(f"chunks over the embedder's {max_seq}-token window", trunc_localgpt["over_max_seq"],
            trunc_classic["over_max_seq"], None, "", "", "classic LocalGPT recipe"),
        row("peak RSS, process tree (MB)", full_run.peak_tree_rss_mb, classic_run.peak_tree_rss_mb,
            ratio(full_run.peak_tree_rss_mb, classic_run.peak_tree_rss_mb), "", "MB",
            "classic LocalGPT recipe"),
        row("re-sync of the unchanged corpus (s)", round(resync_run.wall_s, 2), round(full_run.wall_s, 1),
            resync_fraction, "<= 2%", "s", "full localgpt ingest"),
        row("one-time embedder export, warm-up ingest (s)", round(warmup.wall_s, 1), None, None, "", "s"),
    ]  # fmt: skip
    notes = [
        "ratio for wall time, throughput and CPU time = classic / localgpt (higher is better); CPU "
        "time (user+sys of the process tree, from wait4) is the figure least disturbed by other load.",
        "wall times are whole subprocesses: interpreter start, imports, model load, parse, embed, store.",
        "peak RSS: sum over the process and its children, sampled every 50 ms (localgpt parses in a "
        "spawned child); max_process_rss_mb is the kernel's ru_maxrss of the largest single process.",
        "the classic recipe loads files one after another (LocalGPT spread loading over a process pool).",
    ]
    write_result(
        "ingest", args.quick, {"corpus": str(args.corpus)}, results, summary, started, load_before, notes
    )
    return 0


def big_files(args: argparse.Namespace, started: float, load_before: list[float] | None) -> int:
    """Each big input ingested alone into a fresh index, and the dev corpus, in one run.

    The result file is rewritten after each ingest (as a partial result until the last), so a run
    cut short on a busy machine still leaves its figures.
    """
    from bigfiles import describe, make_inputs

    env = child_env()
    smoke = args.quick or args.scale != 1.0
    cases: dict[str, dict[str, Any]] = {}
    with scratch("ingest-big", keep=args.keep) as tmp:
        corpus = quick_corpus(args.corpus, tmp / "corpus") if args.quick else args.corpus.resolve()
        cache = tmp / "warm-data"
        warm = tmp / "warm"
        warm.mkdir()
        (warm / "hello.txt").write_text("A warm-up file, so the embedder export is made before timing.\n")
        log("warm-up ingest (one-time ONNX int8 export of the embedder)")
        run_process(localgpt_ingest(cache, warm), env=env).check()
        log(f"making the big inputs from the corpus's own text (scale {args.scale:g})")
        inputs = make_inputs(args.corpus.resolve(), tmp / "inputs", args.scale)
        wanted = set(args.only.split(",")) if args.only else set(inputs)
        order = [("corpus", corpus)] + [(k, p.parent) for k, p in inputs.items() if k in wanted]
        for done, (name, folder) in enumerate(order, 1):
            data = tmp / f"data-{name}"
            data.mkdir()
            (data / "embedders").symlink_to(cache / "embedders", target_is_directory=True)
            load = loadavg()
            log(f"localgpt ingest {name} (load average {load})")
            run = run_process(localgpt_ingest(data, folder), env=env).check((0, 6, 7))
            out = run.json()
            chunks = out["chunks_total"]
            cases[name] = run_summary(run) | {
                "input": corpus_stats(corpus) if name == "corpus" else describe(inputs[name]),
                "chunks": chunks,
                "chunks_per_s": round(chunks / run.wall_s, 2),
                "cpu_s_per_1k_chunks": round(1000 * run.cpu_s / chunks, 1) if chunks else None,
                "skipped": out["skipped"],
                "load_avg_before": load,
                "load_avg_after": loadavg(),
            }
            log(f"{name}: {chunks} chunks in {run.wall_s:.1f}s, peak {run.peak_tree_rss_mb} MB, "
                f"skipped {out['skipped']}")  # fmt: skip
            _write_big(cases, args, smoke, started, load_before, partial=done < len(order))
    return 0


def big_label(name: str, described: dict[str, Any]) -> str:
    """ "2,400-page PDF", "30 MiB text file", "300,000-row CSV": what was really ingested."""
    if name == "pdf":
        return f"{described['pages']:,}-page PDF"
    if name == "csv":
        return f"{described['rows']:,}-row CSV"
    return f"{described['mib']:g} MiB text file"


def _write_big(
    cases: dict[str, dict[str, Any]],
    args: argparse.Namespace,
    smoke: bool,
    started: float,
    load_before: list[float] | None,
    partial: bool,
) -> None:
    base = cases["corpus"]
    summary = [
        row("dev corpus: chunks/s", base["chunks_per_s"], None, None, "", "chunks/s"),
        row("dev corpus: CPU s per 1k chunks", base["cpu_s_per_1k_chunks"], None, None, "", "s"),
        row("dev corpus: peak RSS, process tree (MB)", base["peak_tree_rss_mb"], None, None, "", "MB"),
    ]
    for name in ("csv", "pdf", "text"):
        if name not in cases:
            continue
        case = cases[name]
        label = big_label(name, case["input"])
        case["chunk_rate_ratio"] = ratio(case["chunks_per_s"], base["chunks_per_s"])
        case["cpu_per_chunk_ratio"] = ratio(base["cpu_s_per_1k_chunks"], case["cpu_s_per_1k_chunks"])
        case["peak_rss_ratio"] = ratio(case["peak_tree_rss_mb"], base["peak_tree_rss_mb"])
        summary += [
            row(f"{label}: chunks/s ({case['chunks']} chunks, exit {case['returncode']})",
                case["chunks_per_s"], base["chunks_per_s"], case["chunk_rate_ratio"], ">= 0.8", "chunks/s",
                "dev corpus"),
            row(f"{label}: CPU s per 1k chunks (ratio: corpus / this)", case["cpu_s_per_1k_chunks"],
                base["cpu_s_per_1k_chunks"], case["cpu_per_chunk_ratio"], ">= 0.8", "s", "dev corpus"),
            row(f"{label}: peak RSS, process tree (MB)", case["peak_tree_rss_mb"],
                base["peak_tree_rss_mb"], case["peak_rss_ratio"], "<= 1.2", "MB", "dev corpus"),
        ]  # fmt: skip
    notes = [
        "each input is ingested alone, into a fresh index, with the shipped config.toml; chunks/s = "
        "chunks stored / wall time of the whole `localgpt ingest` subprocess (imports, model load, "
        "parse, embed, store, keyword index).",
        "the inputs are made from the dev corpus's own .txt and .md text: the PDF with reportlab (28 "
        "lines a page), the text file by repeating it, the CSV as an order log naming corpus words.",
        "the machine is shared: the load average before and after each ingest is recorded beside it; "
        "CPU time per chunk (user+sys of the process tree) is the figure least moved by other load.",
    ]
    params = {"corpus": str(args.corpus), "scale": args.scale, "quick_corpus": args.quick, "only": args.only}
    name = f"ingest_big.only-{args.only.replace(',', '-')}" if args.only else "ingest_big"
    write_result(name, smoke, params, cases, summary, started, load_before, notes, partial=partial)


if __name__ == "__main__":
    sys.exit(main())
