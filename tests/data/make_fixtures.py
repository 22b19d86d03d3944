"""Regenerate the binary and non-UTF-8 fixtures in this folder.

Run from anywhere: `python tests/data/make_fixtures.py` (needs the dev extras for reportlab).
The text fixtures beside it are written by hand. The strings here are what the tests check.
"""

from __future__ import annotations

import datetime
import pathlib

import docx
import openpyxl
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas

HERE = pathlib.Path(__file__).resolve().parent
FIXED_TIME = datetime.datetime(2024, 1, 1)

GBK_TEXT = (
    "欢迎使用本地文档助手。它可以回答关于你的文件的问题！你准备好了吗？"
    "所有数据都保存在你的电脑上，不会上传到网络。"
)
LATIN1_TEXT = (
    "Café crème à la carte. Le garçon a déjà payé la façade. Über große Straßen fährt ein Zug nach Málaga.\n"
)
PDF_PAGES = [
    "Introduction to the pump handbook.",
    "The impeller must be replaced every 500 operating hours.",
    "Closing remarks on the third page.",
]


def write_text_fixtures() -> None:
    (HERE / "chinese-gbk.txt").write_bytes(GBK_TEXT.encode("gbk"))
    (HERE / "latin1.txt").write_bytes(LATIN1_TEXT.encode("latin-1"))
    # Bytes 0..255 repeated: NULs and control bytes, as in any binary format.
    (HERE / "blob.xyz").write_bytes(bytes(range(256)) * 4)


def write_docx() -> None:
    document = docx.Document()
    document.core_properties.created = document.core_properties.modified = FIXED_TIME
    document.add_paragraph("Pump handbook for field technicians.")
    document.add_heading("Install", level=1)
    document.add_paragraph("Mount the pump on a level surface.")
    document.add_heading("Linux", level=2)
    document.add_paragraph("The driver ships with the kernel.")
    table = document.add_table(rows=2, cols=2)
    for row, cells in zip(table.rows, [("Model", "Flow"), ("P-100", "40 l/min")], strict=True):
        for cell, text in zip(row.cells, cells, strict=True):
            cell.text = text
    document.add_heading("Warranty", level=1)
    document.add_paragraph("The warranty lasts five years.")
    document.save(str(HERE / "report.docx"))


def write_xlsx() -> None:
    workbook = openpyxl.Workbook()
    workbook.properties.created = workbook.properties.modified = FIXED_TIME
    parts = workbook.active
    parts.title = "Parts"
    for row in [("part", "price", "stock"), ("impeller", 12.5, 40), ("filter", 3, 200), ("seal", 1.25, None)]:
        parts.append(row)
    suppliers = workbook.create_sheet("Suppliers")
    for row in [("name", "country"), ("Acme", "Norway"), ("Globex", "Chile")]:
        suppliers.append(row)
    workbook.save(HERE / "book.xlsx")


def write_pdfs() -> None:
    _pdf(HERE / "three-pages.pdf", PDF_PAGES)
    _pdf(HERE / "blank.pdf", [None, None])  # pages with a drawing and no text layer
    for name, user_password, algorithm in [
        ("encrypted-empty-password.pdf", "", "AES-256"),
        ("encrypted-password.pdf", "secret", "AES-128"),
    ]:
        writer = PdfWriter(clone_from=PdfReader(HERE / "three-pages.pdf"))
        writer.encrypt(user_password=user_password, owner_password="x", algorithm=algorithm)
        writer.write(HERE / name)


def _pdf(path: pathlib.Path, pages: list[str | None]) -> None:
    pdf = canvas.Canvas(str(path), invariant=True)  # invariant: same bytes on every run
    for text in pages:
        if text is None:
            pdf.rect(100, 100, 200, 300, fill=1)
        else:
            pdf.drawString(72, 720, text)
        pdf.showPage()
    pdf.save()


if __name__ == "__main__":
    write_text_fixtures()
    write_docx()
    write_xlsx()
    write_pdfs()
