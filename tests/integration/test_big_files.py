"""Ordinary big files are ingested (issue 16, problem 5): a many-page PDF, a 30 MB text file and a
large CSV, with real files, the real parse worker and the real embedder.

The per-file limit is a no-progress watchdog: the tests set it low (seconds) to show that a long
file which keeps making progress is indexed while a parser stuck on one page is still killed.
"""

from __future__ import annotations

import csv
import json
import os
import random
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import pytest

from ingest.loaders import iter_file
from localgpt.errors import ExitCode
from tests.conftest import ROOT, run_cli
from tests.integration.test_ingest_sync import assert_consistent, read_index

# Real prose, always at hand in a clean clone: the project's own documentation.
TEXT_SOURCES = [
    ROOT / "README.md",
    ROOT / "bench" / "README.md",
    *sorted((ROOT / "examples" / "docs").glob("*.md")),
]
WATCHDOG_S = 3
# The 30 MB file's steps (a 64K block of text) are bigger than a PDF page: on a machine shared with
# other test runs one can take a few seconds of wall time.
TEXT_WATCHDOG_S = 10
STUCK_MARKER = "page where the parser gets stuck"

# Loaded by every interpreter started with this folder on PYTHONPATH, the spawned parse worker
# included: pypdf hangs, as a real parser bug would, on the page that carries the marker.
HANG_SITECUSTOMIZE = """
import os
marker = os.environ.get("TEST_HANG_ON_TEXT")
if marker:
    import time
    import pypdf

    real = pypdf.PageObject.extract_text

    def extract_text(self, *args, **kwargs):
        text = real(self, *args, **kwargs)
        if marker in text:
            time.sleep(3600)
        return text

    pypdf.PageObject.extract_text = extract_text
"""


def prose() -> str:
    return "\n\n".join(path.read_text(encoding="utf-8") for path in TEXT_SOURCES)


def make_pdf(path: Path, pages: int, offset: int, marker_page: int | None = None) -> Path:
    """A real PDF, one short paragraph of real text a page (about one chunk each), over a drawing
    of 1,500 strokes (like a manual's figures): slow to read for its text, as real manuals are."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    lines = [line for para in prose().splitlines() if para.strip() for line in textwrap.wrap(para, 90)]
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for page in range(1, pages + 1):
        y = 800
        pdf.drawString(40, y, f"Page {page} of {path.stem}")
        if page == marker_page:
            pdf.drawString(40, y - 20, STUCK_MARKER)
        for n in range(8):
            y -= 40
            pdf.drawString(40, y, lines[(offset + page * 8 + n) % len(lines)])
        pdf.lines([(40 + n % 500, 100, 41 + n % 500, 120 + n % 7) for n in range(1500)])
        pdf.showPage()
    pdf.save()
    return path


@pytest.mark.slow
def test_many_page_pdf_outlives_the_watchdog_and_a_stuck_parser_is_killed(
    data_dir: Path, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    # Each takes far longer than WATCHDOG_S to read: a wall-clock limit would skip both.
    manual = make_pdf(docs / "a-manual.pdf", pages=300, offset=0)
    # Stuck after its first part (256 chunks) went to the index: that part must be removed.
    stuck = make_pdf(docs / "b-stuck.pdf", pages=280, offset=5000, marker_page=270)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(HANG_SITECUSTOMIZE)
    proc = run_cli(
        "--data-dir", str(data_dir), "ingest", str(docs), "--json",
        env={"LOCALGPT_INGEST__FILE_TIMEOUT_S": str(WATCHDOG_S), "TEST_HANG_ON_TEXT": STUCK_MARKER,
             "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])},
    )  # fmt: skip
    assert proc.returncode == ExitCode.INGEST_PARTIAL, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["added"] == [str(manual)]
    assert summary["skipped"] == [
        {
            "path": str(stuck),
            "reason": f"timed out after {WATCHDOG_S} s without progress "
            "(raise [ingest] file_timeout_s to wait longer)",
        }
    ]
    index = read_index(data_dir)
    assert_consistent(index)  # the stuck file's parts, stored before it hung, are gone again
    assert index.ids_of(stuck) == []
    assert str(stuck) not in index.manifest
    assert index.manifest[str(manual)].pages == 300
    pages = {index.metas[i]["page"] for i in index.ids_of(manual)}
    assert pages == set(range(1, 301))


# Reads one file through the real parse worker (a spawned child with the embedder's tokenizer),
# keeping only counts: what it prints is what a big file costs the worker, not the embedder.
WORKER_DRIVER = r"""
import json, os, resource, sys
from pathlib import Path
from ingest.plan import Work
from ingest.scan import FileInfo
from ingest.worker import Failed, ParseWorker
from localgpt.models.files import resolve_embedder

path, timeout, max_parts = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
work = Work(FileInfo(str(path), path.stat().st_size, 0), "sha")
parts, chunks, longest, failed, final = 0, 0, 0, None, False
worker = ParseWorker(resolve_embedder("auto")[1], 254, 32, 256, timeout)
for item in worker.run([work]):
    if isinstance(item, Failed):
        failed = item.reason
        continue
    parts += 1
    chunks += len(item.chunks)
    longest = max([longest, *(len(text) for _, text, _ in item.chunks)])
    final = item.final
    if parts == max_parts:
        break  # enough seen: stopping kills the worker, and its peak memory is counted
worker.close()
print(json.dumps({"parts": parts, "chunks": chunks, "longest": longest, "failed": failed, "final": final,
                  "child_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "parent_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def parse_in_worker(path: Path, timeout: float, max_parts: int = 0) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", WORKER_DRIVER, str(path), str(timeout), str(max_parts)],
        capture_output=True, text=True, timeout=900, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


@pytest.mark.slow
def test_30_mb_text_streams_in_parts_with_flat_memory(tmp_path: Path) -> None:
    text = prose()
    small = tmp_path / "small.txt"
    small.write_text(text)
    big = tmp_path / "big.txt"
    with big.open("w", encoding="utf-8") as fh:
        # 5 MB with no line break at all (minified data, a one-line log), then 25 MB of prose.
        one_line = " ".join(text.split())
        while fh.tell() < 5 * 1_048_576:
            fh.write(one_line + " ")
        n = 0
        while fh.tell() < 30 * 1_048_576:
            n += 1
            fh.write(f"\n\nPart {n}\n\n{text}")
    assert big.stat().st_size >= 30 * 1_048_576

    # The reader never holds the file: blocks of about 1 MB, a few of them in memory at most.
    tracemalloc.start()
    blocks = [len(doc.page_content) for doc in iter_file(big)]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(blocks) >= 25 and max(blocks) <= 2_200_000
    assert peak < 32 * 1_048_576, f"reading took {peak / 2**20:.0f} MB"

    # Through the real parse worker: the first 5,000 chunks (the one-line part and more) arrive in
    # parts while the file is still being read, and the worker stays small. Stopping there keeps
    # the test short; reading the rest is the same work again.
    baseline = parse_in_worker(small, timeout=TEXT_WATCHDOG_S)
    result = parse_in_worker(big, timeout=TEXT_WATCHDOG_S, max_parts=20)
    print(f"\nsmall: {baseline}\n30 MB: {result}")
    assert result["failed"] is None, result
    assert result["parts"] == 20 and result["final"] is False
    assert isinstance(result["longest"], int) and result["longest"] < 5_000  # the long line was cut
    for key in ("child_peak_mb", "parent_peak_mb"):
        assert result[key] < baseline[key] + 40, key  # type: ignore[operator]


def write_orders(path: Path, rows: int) -> list[list[str]]:
    rng = random.Random(16)
    words = sorted({w.strip(".,;:()`*").lower() for w in prose().split() if w.isalpha() and len(w) > 3})
    table = [
        [
            str(n),
            f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            rng.choice(words),
            str(rng.randint(1, 9)),
        ]
        for n in range(1, rows + 1)
    ]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["order", "date", "item", "qty"])
        writer.writerows(table)
    return table


@pytest.mark.slow
def test_large_csv_is_packed_into_chunks_that_repeat_the_header_and_name_their_rows(
    data_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "tables"
    folder.mkdir()
    orders = folder / "orders.csv"
    rows = 6_000
    table = write_orders(orders, rows)
    proc = run_cli("--data-dir", str(data_dir), "ingest", str(folder), "--json")
    assert proc.returncode == ExitCode.OK, proc.stderr
    index = read_index(data_dir)
    assert_consistent(index)
    chunks = sorted(
        (index.metas[i]["row_start"], index.metas[i]["row_end"], index.texts[i]) for i in index.ids
    )
    print(f"\n{rows} rows -> {len(chunks)} chunks")
    assert len(chunks) < rows / 10  # not one chunk per row: about 18 of these rows fit in one
    # Every row is in exactly one chunk, in order, and each chunk names its first and last row.
    covered = [n for start, end, _ in chunks for n in range(start, end + 1)]
    assert covered == list(range(1, rows + 1))
    for start, end, text in chunks:
        lines = text.split("\n")
        assert lines[0] == "order,date,item,qty"
        assert lines[1:] == [",".join(table[n - 1]) for n in range(start, end + 1)]
