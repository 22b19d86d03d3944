"""Embedding one text per run against length-sorted batches of 32, with the int8 ONNX embedder.

    python bench/embed_batch_bench.py [--reps 3]

Dynamic int8 quantization scales a batch's activations together, so a batched text's vector
depends on the texts batched with it; what scores sentences now runs one text at a time
(`encode_each` in localgpt/embed/onnx.py). This measures what that costs, on the texts it embeds: chunks
(CPython's reference, as tests/integration/test_embed_parity.py uses) and their sentences (what
extract mode and the grounding check embed per question). Reps alternate batched and one-by-one
runs; the figure is the ratio of medians, and how far the batched vectors stray from the
one-by-one ones.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from benchlib import loadavg, log, median, ratio, row, scratch, write_result


def texts() -> tuple[list[str], list[str]]:
    from pydoc_data.topics import topics

    from localgpt.rag.sentences import split_sentences

    paragraphs = [p.strip() for text in topics.values() for p in text.split("\n\n")]
    chunks = [p for p in paragraphs if len(p) > 600][:96]
    sentences = [s.text for c in chunks[:16] for s in split_sentences(c)][:160]
    return chunks, sentences


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    from localgpt.embed.export import ensure_export, onnx_file
    from localgpt.embed.onnx import OnnxEncoder
    from localgpt.models.files import resolve_embedder

    started, load_before = time.perf_counter(), loadavg()
    name, source = resolve_embedder("auto")
    chunks, sentences = texts()
    results: dict[str, dict[str, object]] = {}
    summary = []
    with scratch("embed-batch") as tmp:
        folder = ensure_export(source, name, "onnx-int8", tmp / "embedders")
        encoder = OnnxEncoder(folder, onnx_file("onnx-int8"), 256)
        for label, batch in (("chunks", chunks), ("sentences", sentences)):
            one, many = [], []
            for _ in range(args.reps):
                t = time.perf_counter()
                alone = encoder.encode(batch, 1)  # what encode_each does with the int8 model
                one.append(time.perf_counter() - t)
                t = time.perf_counter()
                batched = encoder.encode(batch, 32)
                many.append(time.perf_counter() - t)
            drift = np.abs(alone - batched).max()
            tokens = sum(encoder.count_tokens(t) for t in batch) / len(batch)
            results[label] = {"texts": len(batch), "mean_tokens": round(tokens, 1), "one_s": one,
                              "batched_s": many, "max_abs_drift": round(float(drift), 4)}  # fmt: skip
            log(f"{label}: {results[label]}")
            summary.append(row(
                f"embed {len(batch)} {label} (~{tokens:.0f} tokens): one text per run vs batches of 32",
                f"{median(one):.2f} s", f"{median(many):.2f} s", ratio(median(one), median(many)),
                unit="s", baseline_name="batches of 32",
            ))  # fmt: skip
    drift = max(float(r["max_abs_drift"]) for r in results.values())  # type: ignore[arg-type]
    notes = [f"batched vectors differ from one-by-one ones by up to {drift} per dimension (unit vectors)"]
    write_result("embed_batch", False, {"reps": args.reps}, results, summary, started, load_before, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
