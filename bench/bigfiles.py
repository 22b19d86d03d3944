"""The big-file case of ingest_bench.py (`--big`): one 2,400-page PDF, one 30 MB text file and
one 300k-row CSV, each ingested on its own with the shipped defaults, against the dev corpus in
the same run.

All three are made from real text: the .txt and .md files of the dev corpus (manual pages,
READMEs, changelogs), so the chunks look like the corpus's own. Reported per input: chunks/s
(chunks stored / wall time of the whole `localgpt ingest`), its ratio to the dev corpus's
chunks/s (target >= 0.8), and the peak RSS of the process tree (flat: no higher than the corpus
ingest's, whatever the file's size).
"""

from __future__ import annotations

import csv
import random
import textwrap
from pathlib import Path
from typing import Any

PDF_PAGES = 2400
PDF_LINES_PER_PAGE = 28  # about 2 KB of text a page, like a real manual's
TEXT_MB = 30
CSV_ROWS = 300_000


def corpus_text(corpus: Path) -> str:
    paths = sorted(p for p in corpus.rglob("*") if p.suffix.lower() in (".txt", ".md"))
    if not paths:
        raise SystemExit(f"no .txt or .md files under {corpus} (pass --corpus)")
    return "\n\n".join(p.read_text(encoding="utf-8", errors="replace") for p in paths)


def make_text(text: str, target: Path, megabytes: float = TEXT_MB) -> Path:
    """The corpus's prose repeated to `megabytes`, each pass numbered so no two are identical."""
    size = megabytes * 1_048_576
    with target.open("w", encoding="utf-8") as fh:
        n = 0
        while fh.tell() < size:
            n += 1
            fh.write(f"Part {n}\n\n{text}\n\n")
    return target


def make_pdf(text: str, target: Path, pages: int = PDF_PAGES) -> Path:
    """A real PDF with a text layer, `pages` long: the corpus's lines set 28 to a page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    lines = [
        wrapped
        for paragraph in text.splitlines()
        if paragraph.strip()
        for wrapped in textwrap.wrap(paragraph, 90)
    ]
    pdf = canvas.Canvas(str(target), pagesize=A4)
    pdf.setFont("Helvetica", 9)
    at = 0
    for page in range(1, pages + 1):
        y = 800
        pdf.drawString(40, y, f"Page {page}")
        for _ in range(PDF_LINES_PER_PAGE):
            y -= 26
            pdf.drawString(40, y, lines[at % len(lines)])
            at += 1
        pdf.showPage()
    pdf.save()
    return target


def make_csv(text: str, target: Path, rows: int = CSV_ROWS) -> Path:
    """`rows` rows of an order log: id, date, an item named by a corpus word, quantity."""
    rng = random.Random(16)
    words = sorted({w.strip(".,;:()[]\"'").lower() for w in text.split() if w.isalpha() and len(w) > 3})
    with target.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["order", "date", "item", "qty"])
        for n in range(1, rows + 1):
            writer.writerow([n, f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                             rng.choice(words), rng.randint(1, 9)])  # fmt: skip
    return target


def make_inputs(corpus: Path, folder: Path, scale: float = 1.0) -> dict[str, Path]:
    """Each input alone in its own folder, so each ingest measures one file. `scale` shrinks all
    three alike (0.1: 240 pages, 3 MB, 30k rows), for a smoke run."""
    text = corpus_text(corpus)
    sizes = {"csv": max(1, round(CSV_ROWS * scale)), "pdf": max(1, round(PDF_PAGES * scale)),
             "text": max(1, round(TEXT_MB * scale))}  # fmt: skip
    makers = {
        "csv": (make_csv, "orders.csv"),
        "pdf": (make_pdf, "manual.pdf"),
        "text": (make_text, "big.txt"),
    }
    made = {}
    for name in ("csv", "pdf", "text"):  # quickest first: on a busy machine the text takes longest
        make, filename = makers[name]
        sub = folder / name
        sub.mkdir(parents=True)
        made[name] = make(text, sub / filename, sizes[name])  # type: ignore[operator]
    return made


def describe(path: Path) -> dict[str, Any]:
    info: dict[str, Any] = {"file": path.name, "mib": round(path.stat().st_size / 2**20, 2)}
    if path.suffix == ".pdf":
        from pypdf import PdfReader

        info["pages"] = len(PdfReader(path).pages)
    elif path.suffix == ".csv":
        with path.open(encoding="utf-8") as fh:
            info["rows"] = sum(1 for _ in fh) - 1
    return info
