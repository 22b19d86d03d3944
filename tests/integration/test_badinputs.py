"""172 hard real-world PDFs in one run: no crash, no hang, every file accounted for, nothing lost."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from chromadb.api.client import SharedSystemClient

from localgpt.errors import ExitCode
from localgpt.index.store import Store
from localgpt.rag.resources import Resources
from localgpt.settings.config import load_settings
from tests.conftest import run_cli

BADINPUTS = Path("/work/shared/badinputs/pdf")


def chunk_sources(data_dir: Path) -> dict[str, str]:
    """chunk id -> source, and a check that the manifest agrees with the collection."""
    res = Resources(load_settings(None, {"paths.data_dir": str(data_dir)}).settings)
    try:
        got = Store.open(res.settings).collection.get(include=["metadatas"])
        manifest = res.manifest.all()
    finally:
        res.manifest.close()
        SharedSystemClient.clear_system_cache()
    ids = list(got["ids"])
    assert len(ids) == len(set(ids)), "duplicate chunk ids"
    manifest_ids = sorted(cid for rec in manifest.values() for cid in rec.chunk_ids)
    assert manifest_ids == sorted(ids), "manifest and collection disagree"
    return {i: str(m["source"]) for i, m in zip(ids, got["metadatas"], strict=True)}


def scanned_pdfs() -> list[Path]:
    """The 68 files pypdf finds no text in (scanned, image-only or empty), by the corpus's manifest."""
    manifest = json.loads((BADINPUTS.parent / "pdf_manifest.json").read_text())
    return sorted(BADINPUTS / m["file"] for m in manifest if m["pypdf_result"].startswith("no_text"))


@pytest.mark.slow
@pytest.mark.skipif(not BADINPUTS.is_dir(), reason="the shared bad-inputs corpus is not here")
@pytest.mark.timeout(1200)
def test_bad_pdfs_are_skipped_with_reasons_and_nothing_is_lost(
    data_dir: Path, docs: Path, tmp_path: Path
) -> None:
    """All 172 parsed with OCR off (the parsers' robustness), then a spread of the scanned ones
    through OCR (the renderer's and the engine's). All 172 through OCR take ~3 minutes on 2 cores:
    `bench/ocr_bench.py --parts badinputs` runs that."""
    proc = run_cli("--data-dir", str(data_dir), "ingest", str(docs), "--json")
    assert proc.returncode == ExitCode.OK, proc.stderr
    before = chunk_sources(data_dir)
    assert len(set(before.values())) == 7

    proc = run_cli(
        "--data-dir", str(data_dir), "ingest", str(BADINPUTS), "--json", env={"LOCALGPT_INGEST__OCR": "off"}
    )
    assert proc.returncode == ExitCode.INGEST_PARTIAL, f"exit {proc.returncode}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["exit_code"] == ExitCode.INGEST_PARTIAL

    pdfs = sorted(str(p) for p in BADINPUTS.iterdir() if p.is_file())
    assert len(pdfs) == 172
    skipped = [row["path"] for row in summary["skipped"]]
    ignored = [row["path"] for row in summary["ignored"]]
    accounted = summary["added"] + skipped + ignored
    assert sorted(accounted) == pdfs, "a file is missing from the summary, or listed twice"
    assert summary["changed"] == summary["moved"] == summary["removed"] == []
    assert summary["unchanged"] == 0  # examples/docs is another root: not counted, not pruned

    reasons = [row["reason"] for row in summary["skipped"] + summary["ignored"]]
    assert all(reason.strip() for reason in reasons), "a skip without a reason"
    assert any("encrypted" in reason for reason in reasons)
    by_prefix = Counter(reason.split(":")[0] for reason in reasons)
    print(f"\n{len(summary['added'])} added, {len(skipped)} skipped, {len(ignored)} ignored, "
          f"{summary['chunks_added']} chunks, {summary['elapsed_s']:.1f} s")  # fmt: skip
    for prefix, count in by_prefix.most_common():
        print(f"{count:4d}  {prefix}")
    # With OCR off, a scan is skipped with a reason that says it needs OCR (or what else is wrong).
    scanned = scanned_pdfs()
    assert len(scanned) == 68
    why = {row["path"]: row["reason"] for row in summary["skipped"]}
    for path in scanned:
        assert "OCR" in why[str(path)] or why[str(path)].startswith(("unreadable", "encrypted", "no pages"))

    # A spread of the scans (every 11th: 2400 dpi, 1-bit, palette, LZW, no contents...) through OCR.
    sample = tmp_path / "scans"
    sample.mkdir()
    for path in scanned[::11]:
        shutil.copy2(path, sample / path.name)
    proc = run_cli("--data-dir", str(data_dir), "ingest", str(sample), "--json")
    assert proc.returncode in (ExitCode.OK, ExitCode.INGEST_PARTIAL), proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    ocr = json.loads(proc.stdout)
    read = {row["path"] for row in ocr["ocr"]}
    assert read == set(ocr["added"])
    assert len(read) >= 3, f"only {len(read)} of 7 scans read through OCR"
    assert all("OCR" in row["reason"] for row in ocr["skipped"]), ocr["skipped"]
    assert len(read) + len(ocr["skipped"]) == 7

    after = chunk_sources(data_dir)
    assert {i: s for i, s in after.items() if s in before.values()} == before, "examples/docs lost chunks"
    assert set(after.values()) - set(before.values()) == set(summary["added"]) | read
    assert len(after) == ocr["chunks_total"]
