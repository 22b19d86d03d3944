"""OCR in ingest (issue 13): accuracy, speed, memory, retrieval over scans, bad inputs, no-OCR cost.

One invocation measures, in order:
1. character accuracy of the OCR text against the ground truth of `shared/eval/ocr`, English and
   Chinese apart (1 - edit distance / truth length, after the set's normalisation: NFKC, whitespace
   runs as one space, no space between two CJK characters; also without any whitespace), with
   pages/s and the peak RSS of this process (engine loaded, pages OCR'd here, not in a child);
2. hit@4 on the set's questions: `localgpt eval questions.jsonl --corpus corpus --retrieval-only
   -k 4`, which ingests the corpus through the real pipeline (its OCR cache is the one step 1
   filled, so this step measures retrieval, not OCR speed); both the eval's own strict string
   score and the set's OCR-aware score (README "How to score");
3. the 172 bad PDFs (`shared/badinputs`): how many of the 68 scanned ones now yield text, the time,
   crashes and tracebacks;
4. ingest of the English dev corpus with ocr="off" and ocr="auto", alternated, to show what the
   OCR check costs when no page needs it.

    .venv/bin/python bench/ocr_bench.py            # everything (about 30-60 min on 2 busy cores)
    .venv/bin/python bench/ocr_bench.py --quick    # 4 pages, 2 dev runs, no bad inputs
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import resource
import shutil
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import (
    CONFIG,
    RESULTS,
    child_env,
    loadavg,
    log,
    median,
    ratio,
    row,
    run_process,
    scratch,
    write_result,
)

SHARED = Path("/work/shared")
OCR_SET = SHARED / "eval" / "ocr"
DEV_CORPUS = SHARED / "eval" / "dev" / "corpus"
BADINPUTS = SHARED / "badinputs"
BAD_TIMEOUT_S = 600
_CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
_TABLE_RULES = re.compile("[\u2500-\u257f]")
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}]) (?=[{_CJK}])")


def normalise(text: str) -> str:
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    return _CJK_SPACE.sub("", text)


def accuracy_part(data_dir: Path, limit_pages: int | None) -> dict[str, Any]:
    from rapidfuzz.distance import Levenshtein

    from ingest.loaders import load_file
    from ingest.ocr.pages import Ocr, OcrOptions
    from localgpt.settings.config import load_settings

    dpi = load_settings(str(CONFIG), {}).settings.ingest.ocr_dpi
    ocr = Ocr(OcrOptions(mode="auto", cache_dir=data_dir / "ocr-cache", dpi=dpi))
    entries = [json.loads(line) for line in (OCR_SET / "manifest.jsonl").read_text().splitlines() if line]
    per_lang: dict[str, dict[str, float]] = {}
    files = []
    pages_done = 0
    started = time.perf_counter()
    for entry in entries:
        if limit_pages is not None and pages_done >= limit_pages:
            break
        path = OCR_SET / entry["file"]
        truth_pages = (OCR_SET / entry["truth"]).read_text(encoding="utf-8").split("\f")
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        file_ocr = ocr.for_file(sha)
        t0 = time.perf_counter()
        try:
            docs = load_file(path, file_ocr)
        except Exception as exc:  # a miss scores 0 for all its pages, it does not stop the bench
            log(f"{entry['file']}: {exc}")
            docs = []
        seconds = time.perf_counter() - t0
        got = {doc.metadata.get("page") or 1: doc.page_content for doc in docs}
        lang = entry["lang"]
        totals = per_lang.setdefault(
            lang,
            {
                "chars": 0,
                "edits": 0,
                "chars_nows": 0,
                "edits_nows": 0,
                "chars_nt": 0,
                "edits_nt": 0,
                "pages": 0,
            },
        )
        file_edits = file_chars = 0
        for number, truth in enumerate(truth_pages[: entry["pages"]], 1):
            want, have = normalise(truth), normalise(got.get(number, ""))
            edits = Levenshtein.distance(have, want)
            totals["chars"] += len(want)
            totals["edits"] += edits
            totals["chars_nows"] += len(want.replace(" ", ""))
            totals["edits_nows"] += Levenshtein.distance(have.replace(" ", ""), want.replace(" ", ""))
            # Table rules typed as box-drawing characters (one zh page) are lines to OCR, not text.
            no_rules = normalise(_TABLE_RULES.sub("", truth))
            totals["chars_nt"] += len(no_rules)
            totals["edits_nt"] += Levenshtein.distance(have, no_rules)
            totals["pages"] += 1
            file_edits += edits
            file_chars += len(want)
        pages_done += entry["pages"]
        confidences = [d.metadata.get("ocr_confidence") for d in docs if d.metadata.get("ocr")]
        files.append(
            {
                "file": entry["file"],
                "lang": lang,
                "pages": entry["pages"],
                "scan_dpi": entry.get("dpi"),
                "char_accuracy": round(1 - file_edits / max(file_chars, 1), 4),
                "mean_confidence": round(sum(confidences) / len(confidences), 4) if confidences else None,
                "seconds": round(seconds, 1),
            }
        )
        log(f"{entry['file']}: accuracy {files[-1]['char_accuracy']:.3f} in {seconds:.1f} s")
    elapsed = time.perf_counter() - started
    accuracy = {
        lang: {
            "pages": int(t["pages"]),
            "char_accuracy": round(1 - t["edits"] / max(t["chars"], 1), 4),
            "char_accuracy_ignoring_spaces": round(1 - t["edits_nows"] / max(t["chars_nows"], 1), 4),
            "char_accuracy_without_table_rules": round(1 - t["edits_nt"] / max(t["chars_nt"], 1), 4),
        }
        for lang, t in per_lang.items()
    }
    return {
        "dpi": dpi,
        "accuracy": accuracy,
        "files": files,
        "pages": pages_done,
        "seconds": round(elapsed, 1),
        "pages_per_s": round(pages_done / elapsed, 3) if elapsed else None,
        "engine_calls": ocr.engine.calls,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def ocr_aware_hit(text: str, question: dict[str, Any]) -> bool:
    """The set's README rule: normalised containment of the answer (spaces ignored for short
    ones), or most of the evidence (similarity >= 0.8)."""
    from rapidfuzz import fuzz

    hay = normalise(text).lower()
    for answer in [question.get("answer") or "", *(question.get("answer_aliases") or [])]:
        needle = normalise(answer).lower()
        if needle and (needle in hay or needle.replace(" ", "") in hay.replace(" ", "")):
            return True
    evidence = normalise(question.get("evidence") or "").lower()
    return bool(evidence) and fuzz.partial_ratio(evidence, hay) >= 80


def retrieval_part(data_dir: Path, work: Path) -> dict[str, Any]:
    details = work / "details.jsonl"
    run = run_process(
        [
            sys.executable, "-m", "localgpt", "--config", CONFIG, "--data-dir", data_dir,
            "eval", OCR_SET / "questions.jsonl", "--corpus", OCR_SET / "corpus",
            "--retrieval-only", "-k", "4", "--json", "--details", details,
        ],
        timeout=3600,
    ).check()  # fmt: skip
    report = run.json()
    questions = {
        q["id"]: q for q in map(json.loads, (OCR_SET / "questions.jsonl").read_text().splitlines()) if q
    }
    # The eval reports sources without text: fetch the chunk texts back through a retrieval run
    # would repeat it, so score the OCR-aware rule on what `details` lists plus the store's text.
    aware = _ocr_aware_scores(data_dir, details, questions)
    return {"eval": report, "ocr_aware": aware, "wall_s": round(run.wall_s, 1)}


def _ocr_aware_scores(data_dir: Path, details: Path, questions: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Re-run retrieval in process on an index of the corpus (kept by this bench) and score the
    OCR-aware rule per language; the strict variant also needs the right file and page."""
    from localgpt.evaluation.metrics import same_file
    from localgpt.rag.answer import RAG
    from localgpt.rag.resources import Resources
    from localgpt.settings.config import load_settings

    settings = load_settings(str(CONFIG), {"paths.data_dir": str(data_dir)}).settings
    from localgpt.cli.eval_cmd import ingest_corpus  # the CLI joins ingest and evaluation

    index_dir = data_dir.parent / "aware-index"
    index_dir.mkdir(exist_ok=True)
    settings = ingest_corpus(settings, OCR_SET / "corpus", index_dir)
    settings = settings.model_copy(update={"retrieval": settings.retrieval.model_copy(update={"k": 4})})
    rag = RAG(Resources(settings))
    out: dict[str, dict[str, int]] = {}
    for q in questions.values():
        if q.get("answer") is None:
            continue
        row_ = out.setdefault(q["lang"], {"n": 0, "hit": 0, "strict": 0})
        row_["n"] += 1
        sources = rag.retrieve(q["question"])[:4]
        hits = [s for s in sources if same_file(s.source, q["source_file"]) and ocr_aware_hit(s.text, q)]
        row_["hit"] += bool(hits)
        row_["strict"] += any(q.get("page") is None or s.page == q["page"] for s in hits)
    total = {k: sum(r[k] for r in out.values()) for k in ("n", "hit", "strict")}
    return {
        lang: {
            "n": r["n"],
            "hit@4": round(r["hit"] / r["n"], 3),
            "strict_hit@4": round(r["strict"] / r["n"], 3),
        }
        for lang, r in {**out, "all": total}.items()
    }


def _fresh_data_dir(work: Path, name: str) -> Path:
    """A new data dir that shares the embedder export made in step 2 (a ~10 s cost otherwise)."""
    data = work / name
    data.mkdir()
    shared = work / "data" / "embedders"
    shared.mkdir(parents=True, exist_ok=True)
    (data / "embedders").symlink_to(shared, target_is_directory=True)
    return data


def badinputs_part(work: Path) -> dict[str, Any]:
    manifest = json.loads((BADINPUTS / "pdf_manifest.json").read_text())
    scanned = {m["file"] for m in manifest if m["pypdf_result"].startswith("no_text")}
    data = _fresh_data_dir(work, "bad-data")
    run = run_process(
        [sys.executable, "-m", "localgpt", "--config", CONFIG, "--data-dir", data,
         "ingest", BADINPUTS / "pdf", "--json"],
        # Per page, from its start: generous, so a busy machine measures OCR, not the limit.
        env=child_env(LOCALGPT_INGEST__FILE_TIMEOUT_S=str(BAD_TIMEOUT_S)),
        timeout=3600,
    )  # fmt: skip
    summary = json.loads(run.stdout) if run.stdout.strip() else {}
    added = {Path(p).name for p in summary.get("added", [])}
    ocr_files = {Path(r["path"]).name for r in summary.get("ocr", [])}
    skipped = {
        Path(r["path"]).name: r["reason"] for r in summary.get("skipped", []) + summary.get("ignored", [])
    }
    return {
        "exit_code": run.returncode,
        "tracebacks": run.stderr.count("Traceback"),
        "crashes": sum("parser crashed" in r for r in skipped.values()),
        "scanned": len(scanned),
        "scanned_now_with_text": len(scanned & added),
        "scanned_ocr": len(scanned & ocr_files),
        "ocr_files_total": len(ocr_files),
        "ocr_pages_recognised": summary.get("ocr_pages_recognised"),
        "scanned_still_skipped": {name: skipped[name] for name in sorted(scanned - added) if name in skipped},
        "wall_s": round(run.wall_s, 1),
        "peak_tree_rss_mb": run.peak_tree_rss_mb,
    }


def parse_only_part(rounds: int) -> dict[str, Any]:
    """The only work `ocr = "auto"` adds where no page needs OCR is in parsing (the garbage check
    on each PDF page, a look for images on empty ones): time `load_file` over the dev corpus
    in process, with OCR off and auto alternated. Less noisy than whole ingests on a busy machine."""
    from ingest.loaders import load_file
    from ingest.ocr.pages import Ocr, OcrOptions
    from localgpt.errors import LoaderError

    files = sorted(p for p in DEV_CORPUS.rglob("*") if p.is_file())
    ocr = Ocr(OcrOptions(mode="auto", cache_dir=None))
    times: dict[str, list[float]] = {"off": [], "auto": []}
    docs: dict[str, int] = {}
    for n in range(rounds):
        for mode in ("off", "auto") if n % 2 == 0 else ("auto", "off"):
            count = 0
            t0 = time.process_time()
            for path in files:
                with contextlib.suppress(LoaderError):
                    count += len(load_file(path, ocr.for_file("0" * 64) if mode == "auto" else None))
            times[mode].append(time.process_time() - t0)
            docs[mode] = count
    return {
        "files": len(files),
        "documents": docs,
        "engine_calls": ocr.engine.calls,
        "cpu_s": {mode: [round(t, 2) for t in ts] for mode, ts in times.items()},
        "auto_over_off": ratio(median(times["auto"]), median(times["off"]), 3),
    }


def throughput_part(work: Path, rounds: int) -> dict[str, Any]:
    out: dict[str, Any] = {"parse_only": parse_only_part(max(rounds, 3))}
    log(f"parse only, auto/off CPU time: {out['parse_only']['auto_over_off']}")
    if rounds < 1:
        return out
    walls: dict[str, list[float]] = {"off": [], "auto": []}
    cpus: dict[str, list[float]] = {"off": [], "auto": []}
    chunks: dict[str, int] = {}
    # Untimed: makes the shared embedder export, which the first timed run would pay otherwise.
    warm = _fresh_data_dir(work, "dev-warm-up")
    examples = Path(__file__).resolve().parent.parent / "examples" / "docs"
    run_process(
        [
            sys.executable,
            "-m",
            "localgpt",
            "--config",
            CONFIG,
            "--data-dir",
            warm,
            "ingest",
            examples,
            "--json",
        ],
        timeout=1800,
    ).check((0, 6))
    for n in range(rounds):
        for mode in ("off", "auto") if n % 2 == 0 else ("auto", "off"):
            data = _fresh_data_dir(work, f"dev-{mode}-{n}")
            run = run_process(
                [sys.executable, "-m", "localgpt", "--config", CONFIG, "--data-dir", data,
                 "ingest", DEV_CORPUS, "--json"],
                env=child_env(LOCALGPT_INGEST__OCR=mode),
                timeout=3600,
            ).check((0, 6))  # fmt: skip
            walls[mode].append(run.wall_s)
            cpus[mode].append(run.cpu_s)
            chunks[mode] = run.json()["chunks_total"]
            log(f"dev corpus, ocr={mode}: {run.wall_s:.1f} s, {run.cpu_s:.1f} CPU s")
    out.update(
        {
            "wall_s": {mode: [round(w, 1) for w in ws] for mode, ws in walls.items()},
            "cpu_s": {mode: [round(c, 1) for c in cs] for mode, cs in cpus.items()},
            "chunks": chunks,
            "auto_over_off": ratio(median(walls["auto"]), median(walls["off"]), 3),
            "auto_over_off_cpu": ratio(median(cpus["auto"]), median(cpus["off"]), 3),
        }
    )
    return out


PARTS = ("ocr", "retrieval", "badinputs", "throughput")


def summary_rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    if "ocr" in results:
        ocr, acc = results["ocr"], results["ocr"]["accuracy"]
        for lang, name, target in (("en", "English", ">= 95%"), ("zh", "Chinese", ">= 90%")):
            value = acc.get(lang, {}).get("char_accuracy")
            rows.append(row(f"OCR character accuracy, {name}", value, target=target, ratio_value=value))
        if ocr["engine_calls"]:  # from a warm OCR cache, speed and memory say nothing
            rows.append(row("OCR pages/s (2 cores)", ocr["pages_per_s"], unit="pages/s"))
            rows.append(row("OCR peak RSS", ocr["peak_rss_mb"], unit="MB"))
    if "retrieval" in results:
        value = results["retrieval"]["eval"]["retrieval"].get("hit@4")
        rows.append(
            row("hit@4, ocr questions (eval, strict strings)", value, target=">= 0.85x", ratio_value=value)
        )
        value = results["retrieval"]["ocr_aware"]["all"]["hit@4"]
        rows.append(
            row("hit@4, ocr questions (set's OCR-aware rule)", value, target=">= 0.85x", ratio_value=value)
        )
    if "badinputs" in results:
        bad = results["badinputs"]
        rows.append(
            row("bad PDFs: scanned ones now with text", f"{bad['scanned_now_with_text']}/{bad['scanned']}")
        )
        rows.append(row("bad PDFs: crashes + tracebacks", bad["crashes"] + bad["tracebacks"]))
        rows.append(row("bad PDFs: ingest time", bad["wall_s"], unit="s"))
    if "throughput" in results:
        value = results["throughput"]["parse_only"]["auto_over_off"]
        rows.append(
            row("dev parse CPU time, ocr=auto / ocr=off", value, target="<= 1.10x", ratio_value=value)
        )
        if "auto_over_off" in results["throughput"]:
            value = results["throughput"]["auto_over_off"]
            rows.append(
                row("dev ingest time, ocr=auto / ocr=off", value, target="<= 1.10x", ratio_value=value)
            )
            value = results["throughput"]["auto_over_off_cpu"]
            rows.append(
                row("dev ingest CPU, ocr=auto / ocr=off", value, target="<= 1.10x", ratio_value=value)
            )
    return rows


def _save_progress(results: dict[str, Any]) -> None:
    """Each finished step, kept while the next runs (this bench takes a long time)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "ocr_bench." + "-".join(results) + ".progress.json"
    (RESULTS / name).write_text(json.dumps(results, indent=2, ensure_ascii=False))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run on a few pages")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folders")
    parser.add_argument("--rounds", type=int, default=3, help="dev-corpus ingests per OCR mode (0: none)")
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help="a comma list of steps to run (default: all); a run of some writes ocr_bench.<parts>.json",
    )
    parser.add_argument(
        "--ocr-cache",
        type=Path,
        help="start from this OCR cache (a kept run's data/ocr-cache): accuracy and retrieval "
        "without the OCR time; pages/s is then meaningless",
    )
    args = parser.parse_args()
    parts = [p for p in args.parts.split(",") if p]
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    load_before = loadavg()
    results: dict[str, Any] = {}
    with scratch("ocr", args.keep) as work:
        data = work / "data"
        data.mkdir()
        if args.ocr_cache:
            shutil.copytree(args.ocr_cache, data / "ocr-cache")
        if "ocr" in parts:
            log("OCR accuracy on the ocr set")
            results["ocr"] = accuracy_part(data, 4 if args.quick else None)
            _save_progress(results)
        if "retrieval" in parts:
            log("retrieval on the ocr set")
            results["retrieval"] = retrieval_part(data, work)
            _save_progress(results)
        if "badinputs" in parts and not args.quick:
            log("bad inputs")
            results["badinputs"] = badinputs_part(work)
            _save_progress(results)
        if "throughput" in parts:
            log("dev-corpus ingest, ocr off vs auto")
            results["throughput"] = throughput_part(work, 1 if args.quick else args.rounds)
    summary = summary_rows(results)
    name = "ocr_bench" if parts == list(PARTS) else "ocr_bench." + "-".join(parts)
    write_result(
        name,
        args.quick,
        {"rounds": args.rounds},
        results,
        summary,
        started,
        load_before,
        notes=[
            "Accuracy is 1 - edit distance / truth length, per language over all pages; the truth is the "
            "original's text layer (pdftotext), so reading-order differences count as errors.",
            "Step 2 reuses the OCR cache of step 1: it measures retrieval over OCR text, not OCR speed.",
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
