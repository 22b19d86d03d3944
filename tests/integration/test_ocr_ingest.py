"""OCR in ingest, with the real engine: scanned PDFs and images are indexed and found, with their
page and `ocr` flag; broken images are skipped with a reason; the cache means no page is OCR'd
twice; `ocr = "off"` keeps the old behaviour."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from chromadb.api.client import SharedSystemClient
from PIL import Image, ImageDraw, ImageFont

from localgpt.errors import ExitCode
from localgpt.rag.answer import RAG
from localgpt.rag.resources import Resources
from localgpt.settings.config import load_settings
from tests.conftest import run_cli

pytest.importorskip("rapidocr_onnxruntime")
pytest.importorskip("pypdfium2")

# A TrueType font every install has: reportlab (a dev dependency) ships Bitstream Vera.
FONT = Path(pytest.importorskip("reportlab").__file__).parent / "fonts" / "Vera.ttf"

PAGE_1 = ["The Zorblax reactor runs", "at a steady 451 kelvin."]
PAGE_2 = ["The spare cabinet key is", "kept under the blue lamp."]
IMAGE = ["Quarterly tide tables are", "printed on green paper."]


def page_image(lines: list[str]) -> Image.Image:
    """A page-like grey image of `lines`, as a scanner would give it (no text layer anywhere)."""
    image = Image.new("L", (900, 60 + 70 * len(lines)), 250)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 40)
    for n, line in enumerate(lines):
        draw.text((40, 30 + 70 * n), line, fill=20, font=font)
    return image


@pytest.fixture
def scans(tmp_path: Path) -> Path:
    folder = tmp_path / "scans"
    folder.mkdir()
    first, second = page_image(PAGE_1), page_image(PAGE_2)
    first.save(folder / "scanned.pdf", save_all=True, append_images=[second], resolution=100)
    page_image(IMAGE).save(folder / "tides.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20)
    (folder / "notes.md").write_text("# Notes\n\nThe garden gate squeaks in winter.\n")
    return folder


def ingest(data_dir: Path, folder: Path, *extra: str, env: dict[str, str] | None = None) -> dict:
    # The limit counts per OCR page; a machine shared with other test runs can be 10x slower.
    env = {"LOCALGPT_INGEST__FILE_TIMEOUT_S": "600", **(env or {})}
    proc = run_cli("--data-dir", str(data_dir), "ingest", str(folder), *extra, "--json", env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["exit_code"] == proc.returncode
    return summary


def retrieve(data_dir: Path, question: str) -> list:
    res = Resources(load_settings(None, {"paths.data_dir": str(data_dir)}).settings)
    try:
        return RAG(res).retrieve(question, k=3)
    finally:
        res.manifest.close()
        SharedSystemClient.clear_system_cache()


def chunk_metadata(data_dir: Path) -> list[dict]:
    from localgpt.index.store import Store

    settings = load_settings(None, {"paths.data_dir": str(data_dir)}).settings
    try:
        return list(Store.open(settings).collection.get(include=["metadatas"])["metadatas"])
    finally:
        SharedSystemClient.clear_system_cache()


def test_scans_and_images_are_indexed_through_ocr_and_found(data_dir: Path, scans: Path) -> None:
    summary = ingest(data_dir, scans)
    assert summary["exit_code"] == ExitCode.INGEST_PARTIAL  # the broken image
    names = sorted(Path(p).name for p in summary["added"])
    assert names == ["notes.md", "scanned.pdf", "tides.png"]
    skipped = {Path(row["path"]).name: row["reason"] for row in summary["skipped"]}
    assert list(skipped) == ["broken.jpg"]
    assert skipped["broken.jpg"].startswith("unreadable image")
    assert {Path(row["path"]).name: row["pages"] for row in summary["ocr"]} == {
        "scanned.pdf": 2,
        "tides.png": 1,
    }
    assert summary["ocr_pages_recognised"] == 3

    metas = chunk_metadata(data_dir)
    ocr_chunks = [m for m in metas if m.get("ocr")]
    assert {Path(m["source"]).name for m in ocr_chunks} == {"scanned.pdf", "tides.png"}
    assert all(0.5 <= m["ocr_confidence"] <= 1.0 for m in ocr_chunks)
    assert not any(m.get("ocr") for m in metas if m["source"].endswith("notes.md"))

    top = retrieve(data_dir, "Where is the spare cabinet key kept?")[0]
    assert Path(top.source).name == "scanned.pdf"
    assert top.page == 2
    assert "blue lamp" in top.text.lower()
    top = retrieve(data_dir, "What colour paper are the tide tables printed on?")[0]
    assert Path(top.source).name == "tides.png"
    assert "green paper" in top.text.lower()

    proc = run_cli("--data-dir", str(data_dir), "sources")
    lines = {name: next(line for line in proc.stdout.splitlines() if name in line)
             for name in ("scanned.pdf", "tides.png", "notes.md")}  # fmt: skip
    assert lines["scanned.pdf"].endswith("(OCR: 2 pages)")
    assert lines["tides.png"].endswith("(OCR: 1 pages)")
    assert "OCR" not in lines["notes.md"]
    rows = json.loads(run_cli("--data-dir", str(data_dir), "sources", "--json").stdout)["files"]
    assert {Path(r["source"]).name: r["ocr_pages"] for r in rows} == {
        "notes.md": 0,
        "scanned.pdf": 2,
        "tides.png": 1,
    }


def test_rebuild_reads_ocr_pages_from_the_cache(data_dir: Path, scans: Path) -> None:
    (scans / "broken.jpg").unlink()
    first = ingest(data_dir, scans)
    assert first["ocr_pages_recognised"] == 3, first["skipped"]
    assert len(list((data_dir / "ocr-cache").rglob("*.json"))) == 3

    again = ingest(data_dir, scans, "--rebuild")
    assert sorted(Path(p).name for p in again["added"]) == ["notes.md", "scanned.pdf", "tides.png"]
    assert sum(row["pages"] for row in again["ocr"]) == 3
    assert again["ocr_pages_recognised"] == 0  # the engine was not called: every page was cached
    assert Path(retrieve(data_dir, "Where is the spare cabinet key kept?")[0].source).name == "scanned.pdf"


def test_ocr_off_skips_scans_and_images_as_before(data_dir: Path, scans: Path) -> None:
    summary = ingest(data_dir, scans, env={"LOCALGPT_INGEST__OCR": "off"})
    assert [Path(p).name for p in summary["added"]] == ["notes.md"]
    skipped = {Path(row["path"]).name: row["reason"] for row in summary["skipped"]}
    ignored = {Path(row["path"]).name: row["reason"] for row in summary["ignored"]}
    assert skipped == {"scanned.pdf": "no text layer (needs OCR)"}
    assert ignored == {
        "broken.jpg": "binary file (unsupported type .jpg)",
        "tides.png": "binary file (unsupported type .png)",
    }
    assert summary["ocr"] == []
    assert not (data_dir / "ocr-cache").exists()


def test_a_broken_image_costs_nothing_already_indexed(data_dir: Path, scans: Path) -> None:
    (scans / "broken.jpg").unlink()
    before = ingest(data_dir, scans)
    assert before["exit_code"] == ExitCode.OK
    chunks = before["chunks_total"]
    # The image is overwritten by garbage: it is skipped, and its last good version stays.
    (scans / "tides.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    after = ingest(data_dir, scans)
    assert after["exit_code"] == ExitCode.INGEST_PARTIAL
    assert [(Path(r["path"]).name, r["reason"].split(":")[0]) for r in after["skipped"]] == [
        ("tides.png", "unreadable image")
    ]
    assert after["unchanged"] == 2
    assert after["chunks_total"] == chunks
    assert Path(retrieve(data_dir, "Where is the spare cabinet key kept?")[0].source).name == "scanned.pdf"
    assert Path(retrieve(data_dir, "What colour paper are the tide tables printed on?")[0].source).name == (
        "tides.png"
    )


def test_a_garbage_text_layer_is_replaced_by_ocr_text(tmp_path: Path) -> None:
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    from ingest.loaders import load_file
    from ingest.ocr.pages import Ocr, OcrOptions

    path = tmp_path / "bad-fonts.pdf"
    image = page_image(PAGE_1)
    pdf = canvas.Canvas(str(path), pagesize=(image.width * 0.75, image.height * 0.75))
    pdf.drawImage(ImageReader(image), 0, 0, image.width * 0.75, image.height * 0.75)
    # A text layer over the scan, invisible as in an OCR'd PDF, whose font has no Unicode map.
    layer = pdf.beginText(10, 10)
    layer.setTextRenderMode(3)
    layer.textLine("".join(f"(cid:{n})" for n in range(3, 40)))
    pdf.drawText(layer)
    pdf.save()

    before = load_file(path)  # without OCR, the garbage is all there is
    assert "(cid:" in before[0].page_content
    ocr = Ocr(OcrOptions(mode="auto", cache_dir=tmp_path / "cache"))
    docs = load_file(path, ocr.for_file("0" * 64))
    assert docs[0].metadata["ocr"] is True
    assert docs[0].metadata["page"] == 1
    assert "(cid:" not in docs[0].page_content
    assert "zorblaxreactorruns" in docs[0].page_content.lower().replace(" ", "")


def test_a_line_the_angle_classifier_turns_wrongly_is_still_read() -> None:
    """PP-OCRv4's angle classifier turns some long upright lines upside down (then they read as
    nothing). Injected here for every line: each is also read as cut, and the better reading
    kept. And a page really upside down still reads the right way up."""
    import numpy as np

    from ingest.ocr.engine import OcrEngine

    engine = OcrEngine()
    page = np.asarray(page_image(PAGE_1))
    assert engine.recognize(page).text.split() == " ".join(PAGE_1).split()

    classify = engine._load().text_cls

    def turns_every_line(crops: list) -> tuple:
        _, _, elapsed = classify(crops)
        return [np.rot90(c, 2) for c in crops], [["180", 0.99]] * len(crops), elapsed

    engine._load().text_cls = turns_every_line
    try:
        assert engine.recognize(page).text.split() == " ".join(PAGE_1).split()
    finally:
        engine._load().text_cls = classify

    # Upside down, the lines also come in reading order (punctuation may differ).
    upside_down = np.ascontiguousarray(np.rot90(page, 2))
    assert re.findall(r"\w+", engine.recognize(upside_down).text) == re.findall(r"\w+", " ".join(PAGE_1))
