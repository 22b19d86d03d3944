"""Generate the binary files of the sample corpus in examples/docs/.

    python examples/make_docs.py [OUTPUT_DIR]

Writes aurora-k7-manual.pdf (reportlab) and service-centres.docx (python-docx).
The text files next to them (.md, .txt, .csv, .html) are written by hand.
Output is byte-for-byte reproducible, so re-running leaves git clean.
All names, facts, addresses and numbers are fictional.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from pathlib import Path

from docx import Document
from docx.shared import Pt
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped]
from reportlab.lib.units import cm  # type: ignore[import-untyped]
from reportlab.platypus import Frame, PageBreak, PageTemplate, Paragraph, Spacer  # type: ignore[import-untyped]
from reportlab.platypus.doctemplate import BaseDocTemplate  # type: ignore[import-untyped]

DOCS_DIR = Path(__file__).resolve().parent / "docs"
FIXED_TIME = dt.datetime(2025, 6, 1, 12, 0, 0)

# One entry per PDF page: (heading, [paragraphs]). Tests rely on which fact is on
# which page (see examples/QUESTIONS.md), so keep the page order.
MANUAL_PAGES: list[tuple[str, list[str]]] = [
    (
        "1. Welcome and Safety",
        [
            (
                "Thank you for choosing the Aurora K7 home espresso machine from Lumen "
                "Appliances. This manual applies to model number LK7-230. Read it "
                "completely before you use the machine for the first time, and keep it "
                "for later reference."
            ),
            (
                "Leave at least 10 cm of space between the machine and the wall. "
                "Place the machine on a flat, heat-resistant surface. "
                "Never immerse the machine, the power cord or the plug in water, and "
                "do not let children under 8 years use the machine without supervision."
            ),
            (
                "The box contains the machine, a 58 mm portafilter, a single and a double "
                "filter basket, an aluminium tamper and one test strip for water "
                "hardness. If any part is missing, contact your retailer before using "
                "the machine."
            ),
        ],
    ),
    (
        "2. Filling and First Use",
        [
            (
                "The water tank holds 1.8 litres. "
                "It is removed from the back of the machine by lifting it straight up. "
                "Fill it with fresh, cold drinking water up to the MAX mark. Never use "
                "sparkling water, milk or any other liquid."
            ),
            (
                "The bean hopper holds 250 grams of whole beans. "
                "Do not put oily, caramelised or flavoured beans into the hopper, "
                "because they clog the grinder."
            ),
            (
                "The first rinse cycle takes 90 seconds. "
                "Start it by pressing the Rinse button before you make the first coffee. "
                "Then use the supplied test strip to measure your water hardness and "
                "set the matching level, from 1 to 4, in the settings menu."
            ),
        ],
    ),
    (
        "3. Cleaning, Descaling and Error Codes",
        [
            (
                "Descale the Aurora K7 every 6 weeks with citric acid. "
                "Dissolve 30 grams of citric acid in 1 litre of warm water and pour the "
                "solution into the water tank. Then hold the Steam and Rinse buttons "
                "together for 5 seconds to start the descaling programme."
            ),
            (
                "The descaling programme takes about 40 minutes. "
                "Never use vinegar, because it damages the seals. "
                "Empty the drip tray every day, and rinse the brew group under running "
                "water without soap once a week."
            ),
            (
                "Error code E17 means the pump overheated. Let it cool down for 20 minutes. "
                "Switch the machine off while it cools, and then switch it on again as "
                "usual."
            ),
            (
                "Error code E04 means the water tank is not detected: push the tank "
                "firmly into place. Error code E22 means the grinder is blocked: empty "
                "the hopper and remove any foreign objects."
            ),
        ],
    ),
    (
        "4. Technical Specifications and Disposal",
        [
            (
                "The rated power is 1380 watts at 220-240 volts, 50/60 Hz. "
                "The machine weighs 6.3 kg without water and beans. "
                "The pump delivers a maximum pressure of 15 bar."
            ),
            (
                "The machine switches to standby after 25 minutes of inactivity. "
                "This saves energy. You can change the standby time in the settings "
                "menu, from 10 to 120 minutes."
            ),
            (
                "The serial number is printed on a label under the drip tray. "
                "Please have it ready when you contact customer support."
            ),
            (
                "At the end of its life, do not put the machine in household waste. "
                "Take it to a collection point for electrical and electronic equipment."
            ),
        ],
    ),
]

# Facts that tests and the demo rely on: 1-based page -> strings that must appear
# verbatim (on one line) in pypdf's text of that page, and on no other page.
MANUAL_FACTS: dict[int, list[str]] = {
    1: ["model number LK7-230", "at least 10 cm of space"],
    2: [
        "The water tank holds 1.8 litres.",
        "The bean hopper holds 250 grams",
        "The first rinse cycle takes 90 seconds.",
    ],
    3: [
        "every 6 weeks with citric acid",
        "30 grams of citric acid",
        "The descaling programme takes about 40 minutes.",
        "Error code E17 means the pump overheated.",
        "cool down for 20 minutes",
        "E04",
        "E22",
    ],
    4: [
        "The machine weighs 6.3 kg",
        "The rated power is 1380 watts",
        "maximum pressure of 15 bar",
        "standby after 25 minutes",
    ],
}

SERVICE_CENTRES: list[tuple[str, str, str, str]] = [
    (
        "Rotterdam",
        "Koffiebrandersweg 112, 3011 BT Rotterdam",
        "+31 10 555 0142",
        "Mon-Fri 09:00-17:30",
    ),
    (
        "Lyon",
        "27 quai des Torréfacteurs, 69002 Lyon",
        "+33 4 55 50 12 87",
        "Tue-Sat 10:00-18:00",
    ),
    ("Graz", "Bohnengasse 18, 8010 Graz", "+43 316 555 093", "Mon-Fri 08:00-16:00"),
    (
        "Porto",
        "Rua do Moinho Azul 45, 4050-123 Porto",
        "+351 22 555 0176",
        "Mon-Fri 09:30-18:00",
    ),
    (
        "Gdańsk",
        "ulica Kawowa 9, 80-001 Gdańsk",
        "+48 58 555 40 21",
        "Mon-Sat 09:00-17:00",
    ),
    (
        "Leipzig",
        "Mühlenhof 5, 04109 Leipzig",
        "+49 341 555 8830",
        "Mon-Fri 09:00-18:00",
    ),
]


def make_pdf(path: Path) -> None:
    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    body.fontSize = 11
    body.leading = 15
    body.spaceAfter = 8
    heading = styles["Heading1"]

    def footer(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 9)
        canvas.drawString(2 * cm, 1.2 * cm, "Aurora K7 User Manual - Lumen Appliances")
        canvas.drawRightString(
            A4[0] - 2 * cm, 1.2 * cm, f"Page {doc.page} of {len(MANUAL_PAGES)}"
        )
        canvas.restoreState()

    doc = BaseDocTemplate(
        str(path),
        pagesize=A4,
        title="Aurora K7 User Manual",
        author="Lumen Appliances",
        subject="User manual for the Aurora K7 home espresso machine",
        creator="examples/make_docs.py",
        invariant=1,  # fixed dates and document ID: reproducible bytes
    )
    frame = Frame(2 * cm, 2 * cm, A4[0] - 4 * cm, A4[1] - 4 * cm, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=footer)])

    story: list = []
    for index, (title, paragraphs) in enumerate(MANUAL_PAGES):
        if index:
            story.append(PageBreak())
        story.append(Paragraph(title, heading))
        story.append(Spacer(1, 6))
        story.extend(Paragraph(text, body) for text in paragraphs)
    doc.build(story)


def make_docx(path: Path) -> None:
    document = Document()
    document.styles["Normal"].font.size = Pt(11)

    props = document.core_properties
    props.title = "Lumen Appliances Authorised Service Centres"
    props.author = "Lumen Appliances"
    props.last_modified_by = "Lumen Appliances"
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    props.revision = 1

    document.add_heading("Lumen Appliances Authorised Service Centres", level=0)
    document.add_paragraph(
        "Only the service centres listed in this document are authorised to repair "
        "the Aurora K7 under warranty. Always call the centre before you bring a "
        "machine in, so that the technicians can order the parts in advance."
    )

    document.add_heading("Booking a repair", level=1)
    document.add_paragraph(
        "Mail-in repairs are returned within 10 working days. Pack the machine in its "
        "original box with the water tank empty and the drip tray removed."
    )
    document.add_paragraph(
        "A diagnostic check costs 25 euros. It is free for machines that are still "
        "under warranty."
    )

    document.add_heading("Express service", level=2)
    document.add_paragraph(
        "The Rotterdam centre offers a same-day express repair for 49 euros if the "
        "machine is brought in before 11:00."
    )

    document.add_heading("Service centre list", level=1)
    table = document.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    for cell, text in zip(
        table.rows[0].cells, ("City", "Address", "Phone", "Opening hours"), strict=False
    ):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in SERVICE_CENTRES:
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=False):
            cell.text = text

    document.add_heading("Notes", level=1)
    document.add_paragraph(
        "The Lyon centre is closed on Mondays. The Gdańsk centre also repairs the "
        "older Aurora K5 model."
    )

    buffer = io.BytesIO()
    document.save(buffer)
    _write_zip_reproducibly(buffer.getvalue(), path)


def _write_zip_reproducibly(data: bytes, path: Path) -> None:
    """Re-pack a zip with fixed timestamps so the bytes do not change between runs."""
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(item.filename))


def check_pdf(path: Path) -> None:
    """Fail loudly if a fact in MANUAL_FACTS is missing, broken or on the wrong page."""
    from pypdf import PdfReader

    pages = [page.extract_text() for page in PdfReader(path).pages]
    if len(pages) != len(MANUAL_PAGES):
        raise SystemExit(
            f"{path}: expected {len(MANUAL_PAGES)} pages, got {len(pages)}"
        )
    for number, facts in MANUAL_FACTS.items():
        for fact in facts:
            found = [i + 1 for i, text in enumerate(pages) if fact in text]
            if found != [number]:
                raise SystemExit(
                    f"{path}: {fact!r} expected on page {number}, found on {found}"
                )


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DOCS_DIR
    out.mkdir(parents=True, exist_ok=True)
    make_pdf(out / "aurora-k7-manual.pdf")
    check_pdf(out / "aurora-k7-manual.pdf")
    make_docx(out / "service-centres.docx")
    print(f"wrote {out / 'aurora-k7-manual.pdf'} and {out / 'service-centres.docx'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
