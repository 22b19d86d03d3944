"""File loaders against real fixture files (tests/data; make_fixtures.py rebuilds the binary ones)."""

from __future__ import annotations

import codecs
import os
import pathlib
import re
import zipfile

import pytest
from langchain_core.documents import Document

from ingest.loaders import LOADERS, load_file, supported_extensions
from ingest.loaders import html as html_loader
from ingest.loaders.docx import load_docx
from ingest.loaders.sniff import detect_encoding, looks_binary
from ingest.loaders.xlsx import load_xlsx
from localgpt.errors import LoaderError

DATA = pathlib.Path(__file__).resolve().parent.parent / "data"

GBK_TEXT = (
    "欢迎使用本地文档助手。它可以回答关于你的文件的问题！你准备好了吗？"
    "所有数据都保存在你的电脑上，不会上传到网络。"
)
LATIN1_TEXT = (
    "Café crème à la carte. Le garçon a déjà payé la façade. Über große Straßen fährt ein Zug nach Málaga.\n"
)
PAGE_2_SENTENCE = "The impeller must be replaced every 500 operating hours."


def reason(path: pathlib.Path) -> str:
    with pytest.raises(LoaderError) as info:
        load_file(path)
    return str(info.value)


def headings(docs: list[Document]) -> list[str | None]:
    return [doc.metadata["heading"] for doc in docs]


# ------------------------------------------------------------------ every fixture

LOADABLE = sorted(
    p.name
    for p in DATA.iterdir()
    if p.is_file() and p.name not in {"blank.pdf", "blob.xyz", "encrypted-password.pdf"}
)


@pytest.mark.parametrize("name", LOADABLE)
def test_every_document_has_the_common_metadata_and_text(name: str) -> None:
    path = DATA / name
    docs = load_file(path)
    assert docs
    for doc in docs:
        assert doc.page_content.strip()
        assert doc.metadata["source"] == str(path)
        assert {"source", "page", "heading", "kind"} <= doc.metadata.keys()
        # Chroma only stores scalars.
        for value in doc.metadata.values():
            assert value is None or isinstance(value, str | int | float | bool)


def test_supported_extensions_are_lowercase_suffixes_with_a_dot() -> None:
    extensions = supported_extensions()
    assert {".pdf", ".md", ".txt", ".rst", ".html", ".csv", ".docx", ".xlsx"} <= extensions
    assert {".json", ".jsonl", ".py", ".go", ".sh", ".yaml"} <= extensions
    assert all(ext.startswith(".") and ext == ext.lower() for ext in extensions)
    assert {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"} <= extensions  # through OCR
    assert ".gif" not in extensions


# ------------------------------------------------------------------ pdf


def test_pdf_gives_one_document_per_page_with_1_based_numbers() -> None:
    docs = load_file(DATA / "three-pages.pdf")
    assert [doc.metadata["page"] for doc in docs] == [1, 2, 3]
    assert {doc.metadata["kind"] for doc in docs} == {"pdf"}
    assert [PAGE_2_SENTENCE in doc.page_content for doc in docs] == [False, True, False]
    assert headings(docs) == [None, None, None]


def test_pdf_without_a_text_layer_needs_ocr() -> None:
    assert reason(DATA / "blank.pdf") == "no text layer (needs OCR)"


def test_pdf_encrypted_with_an_empty_user_password_loads() -> None:
    docs = load_file(DATA / "encrypted-empty-password.pdf")
    assert [doc.metadata["page"] for doc in docs] == [1, 2, 3]
    assert PAGE_2_SENTENCE in docs[1].page_content


def test_pdf_with_a_user_password_is_skipped() -> None:
    assert reason(DATA / "encrypted-password.pdf") == "encrypted (password required)"


def test_garbage_pdf_is_unreadable_with_a_one_line_reason(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\nthis is not really a pdf\n")
    text = reason(path)
    assert text.startswith("unreadable pdf: ")
    assert "\n" not in text
    assert len(text) <= len("unreadable pdf: ") + 120


def test_pdf_warnings_stay_off_stderr(tmp_path: pathlib.Path, capfd: pytest.CaptureFixture[str]) -> None:
    # A wrong startxref offset makes pypdf log while it rebuilds the xref table.
    path = tmp_path / "bad-xref.pdf"
    path.write_bytes(re.sub(rb"startxref\s+\d+", b"startxref\n9", (DATA / "three-pages.pdf").read_bytes()))
    assert len(load_file(path)) == 3
    assert capfd.readouterr().err == ""


# ------------------------------------------------------------------ text, markdown, rst


def test_gbk_chinese_text_is_decoded() -> None:
    [doc] = load_file(DATA / "chinese-gbk.txt")
    assert doc.page_content == GBK_TEXT
    assert doc.metadata["kind"] == "text"


def test_latin1_text_is_decoded() -> None:
    [doc] = load_file(DATA / "latin1.txt")
    assert doc.page_content == LATIN1_TEXT


def test_utf8_bom_is_dropped_and_utf16_is_read(tmp_path: pathlib.Path) -> None:
    bom = tmp_path / "bom.txt"
    bom.write_bytes(codecs.BOM_UTF8 + "naïve résumé".encode())
    wide = tmp_path / "wide.txt"
    wide.write_bytes("naïve résumé".encode("utf-16"))
    assert load_file(bom)[0].page_content == "naïve résumé"
    assert load_file(wide)[0].page_content == "naïve résumé"


def test_markdown_sections_follow_the_heading_path() -> None:
    docs = load_file(DATA / "guide.md")
    assert headings(docs) == [
        "Install",
        "Install > Linux",
        "Install > Linux > Debian",
        "Install > Windows",
        "Usage",
    ]
    assert {doc.metadata["kind"] for doc in docs} == {"markdown"}
    assert docs[0].metadata["language"] == "markdown"
    # The heading line stays in its section's text.
    assert docs[1].page_content.startswith("## Linux\n")
    # "#" inside a fenced block is code, not a heading.
    assert "# this is a shell comment, not a heading" in docs[1].page_content


def test_markdown_setext_headings_front_matter_and_preamble(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "doc.md"
    path.write_text("---\ntitle: x\n---\nIntro text.\n\nGuide\n=====\n\nBody.\n\nPart\n----\n\nMore.\n")
    docs = load_file(path)
    assert headings(docs) == [None, "Guide", "Guide > Part"]
    assert "Intro text." in docs[0].page_content


def test_rst_sections_follow_the_heading_path() -> None:
    docs = load_file(DATA / "manual.rst")
    assert headings(docs) == [
        "Pump Manual",
        "Pump Manual > Maintenance",
        "Pump Manual > Maintenance > Cleaning the filter",
        "Pump Manual > Troubleshooting",
    ]
    assert docs[2].page_content.startswith("Cleaning the filter\n---")
    assert "warm water" in docs[2].page_content
    assert docs[0].metadata["kind"] == "text"


def test_whitespace_only_text_has_no_text(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "blank.txt"
    path.write_text(" \n\t\n")
    assert reason(path) == "no text"


# ------------------------------------------------------------------ html


def test_html_keeps_visible_text_and_title() -> None:
    [doc] = load_file(DATA / "page.html")
    text = doc.page_content
    assert doc.metadata["title"] == "Garden Pump FAQ"
    assert doc.metadata["kind"] == "html"
    assert doc.metadata["heading"] is None
    assert text.splitlines()[0] == "Garden Pump FAQ"
    assert "secret" not in text and "color" not in text and "JavaScript" not in text
    # Inline tags do not split words; blocks do not run together.
    assert "The pump is waterproof up to two metres." in text
    assert "Warranty lasts five years." in text
    assert "First item\n" in text and "\nSecond item" in text
    assert "Line one\n" in text and "\nLine two" in text
    assert "P-100 40 l/min" in text


def test_deeply_nested_html_loads(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "deep.html"
    path.write_text("<div>" * 5000 + "deep <b>te</b>xt" + "</div>" * 5000)
    [doc] = load_file(path)
    assert doc.page_content == "deep text"


def test_html_falls_back_to_a_tag_strip_on_recursion_error(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Failure injection: the parser walk is iterative today, the guard is for tomorrow's bs4.
    def too_deep(markup: str) -> tuple[str, str]:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(html_loader, "_soup_text", too_deep)
    [doc] = load_file(DATA / "page.html")
    assert doc.metadata["title"] == "Garden Pump FAQ"
    assert doc.page_content.startswith("Garden Pump FAQ\n")
    assert "The pump is waterproof up to two metres." in doc.page_content
    assert "First item\n" in doc.page_content
    assert "secret" not in doc.page_content


# ------------------------------------------------------------------ csv


def test_csv_gives_one_document_per_row_with_its_header() -> None:
    docs = load_file(DATA / "people.csv")
    # The blank third data row is skipped, but numbering still follows the file.
    assert [doc.metadata["row"] for doc in docs] == [1, 2, 4]
    assert docs[0].page_content == "Alice,30,Lyon"
    assert docs[2].page_content == 'Carol,41,"Oslo, Norway"'
    assert {doc.metadata["columns"] for doc in docs} == {"name,age,city"}
    assert {doc.metadata["kind"] for doc in docs} == {"csv"}


def test_csv_with_bom_semicolons_and_latin1(tmp_path: pathlib.Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes(codecs.BOM_UTF8 + b"city;country\nGraz;Austria\nLyon;France\n")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("mot,sens\ncafé,boisson chaude préférée\n".encode("latin-1"))
    assert load_file(bom)[0].page_content == "Graz,Austria"
    assert load_file(bom)[0].metadata["columns"] == "city,country"
    assert load_file(latin)[0].page_content == "café,boisson chaude préférée"


def test_tsv_splits_on_tabs(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "table.tsv"
    path.write_text("a, b\tc\n1, 2\t3\n")
    [doc] = load_file(path)
    assert (doc.metadata["columns"], doc.page_content) == ('"a, b",c', '"1, 2",3')


def test_csv_with_only_a_header_has_no_text(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("name,age\n")
    assert reason(path) == "no text"


# ------------------------------------------------------------------ docx


def test_docx_sections_follow_heading_styles_and_keep_tables() -> None:
    docs = load_file(DATA / "report.docx")
    assert headings(docs) == [None, "Install", "Install > Linux", "Warranty"]
    assert docs[0].page_content == "Pump handbook for field technicians."
    assert docs[2].page_content == ("Linux\nThe driver ships with the kernel.\nModel\tFlow\nP-100\t40 l/min")
    assert {doc.metadata["kind"] for doc in docs} == {"docx"}


def test_corrupt_docx_is_unreadable(tmp_path: pathlib.Path) -> None:
    not_zip = tmp_path / "not-zip.docx"
    not_zip.write_bytes(b"PK this is not a zip archive")
    no_document = tmp_path / "no-document.docx"
    with zipfile.ZipFile(no_document, "w") as archive:
        archive.writestr("hello.txt", "no word document in here")
    assert reason(not_zip).startswith("unreadable docx: ")
    assert reason(no_document).startswith("unreadable docx: ")


def _bomb(path: pathlib.Path) -> pathlib.Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * (3 * 1024 * 1024))
    return path


def test_office_files_that_inflate_past_the_limit_are_refused(tmp_path: pathlib.Path) -> None:
    expected = re.escape("archive inflates to 3 MB (limit 1 MB)")
    with pytest.raises(LoaderError, match=expected):
        load_docx(_bomb(tmp_path / "bomb.docx"), limit_mb=1)
    with pytest.raises(LoaderError, match=expected):
        load_xlsx(_bomb(tmp_path / "bomb.xlsx"), limit_mb=1)


# ------------------------------------------------------------------ xlsx


def test_xlsx_gives_one_document_per_row_per_sheet() -> None:
    docs = load_file(DATA / "book.xlsx")
    assert [(doc.metadata["sheet"], doc.metadata["row"]) for doc in docs] == [
        ("Parts", 1),
        ("Parts", 2),
        ("Parts", 3),
        ("Suppliers", 1),
        ("Suppliers", 2),
    ]
    assert (docs[0].metadata["columns"], docs[0].page_content) == ("part,price,stock", "impeller,12.5,40")
    assert docs[2].page_content == "seal,1.25,"  # the empty cell keeps its place
    assert (docs[4].metadata["columns"], docs[4].page_content) == ("name,country", "Globex,Chile")
    assert {doc.metadata["kind"] for doc in docs} == {"xlsx"}


def test_corrupt_xlsx_is_unreadable(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<not-closed")
    assert reason(path).startswith("unreadable xlsx: ")


# ------------------------------------------------------------------ json


def test_json_array_gives_one_document_per_element() -> None:
    docs = load_file(DATA / "catalog.json")
    assert [doc.metadata["row"] for doc in docs] == [1, 2]  # the empty {} is skipped
    assert docs[0].page_content == (
        "sku: P-100\nname: Garden pump\nspecs.flow: 40 l/min\nspecs.weight_kg: 4.5\ntags: water\ntags: garden"
    )
    assert "discontinued: false" in docs[1].page_content
    assert docs[0].metadata["kind"] == "json"


def test_json_object_gives_one_document(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"server": {"host": "example.org", "ports": [80, 443]}, "note": null}')
    [doc] = load_file(path)
    assert doc.page_content == "server.host: example.org\nserver.ports: 80\nserver.ports: 443"
    assert doc.metadata.get("row") is None


def test_jsonl_gives_one_document_per_line() -> None:
    docs = load_file(DATA / "events.jsonl")
    assert [doc.metadata["row"] for doc in docs] == [1, 3, 4]  # line 2 is blank
    assert docs[1].page_content == "event: upload\nuser.name: bob\nfile: report.pdf"


def test_invalid_json_is_skipped_with_the_parser_message(tmp_path: pathlib.Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": 1,')
    lines = tmp_path / "broken.jsonl"
    lines.write_text('{"a": "ok"}\n{"a": \n')
    assert reason(broken).startswith("invalid json: ")
    assert reason(lines).startswith("invalid json: line 2: ")


# ------------------------------------------------------------------ code


@pytest.mark.parametrize(("name", "language"), [("sample.py", "python"), ("sample.go", "go")])
def test_code_carries_its_language(name: str, language: str) -> None:
    [doc] = load_file(DATA / name)
    assert doc.metadata["kind"] == "code"
    assert doc.metadata["language"] == language
    assert doc.page_content == (DATA / name).read_text()


def test_shell_scripts_are_code_without_a_language_and_config_is_text(
    tmp_path: pathlib.Path,
) -> None:
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    config = tmp_path / "settings.yaml"
    config.write_text("name: demo\n")
    [shell] = load_file(script)
    assert (shell.metadata["kind"], shell.metadata.get("language")) == ("code", None)
    assert load_file(config)[0].metadata["kind"] == "text"


# ------------------------------------------------------------------ unknown, binary, errors


def test_unknown_extension_with_text_loads_as_text() -> None:
    [doc] = load_file(DATA / "notes.unknownext")
    assert doc.metadata["kind"] == "text"
    assert "Thursday" in doc.page_content


def test_file_without_extension_is_sniffed(tmp_path: pathlib.Path) -> None:
    text = tmp_path / "LICENSE"
    text.write_text("Permission is hereby granted, free of charge.\n")
    binary = tmp_path / "firmware"
    binary.write_bytes(bytes(range(256)))
    assert load_file(text)[0].metadata["kind"] == "text"
    assert reason(binary) == "binary file (no extension)"


def test_unknown_binary_extension_is_skipped() -> None:
    assert reason(DATA / "blob.xyz") == "binary file (unsupported type .xyz)"


def test_known_binary_extension_is_skipped_without_sniffing(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "clip.MP4"
    path.write_text("even text in a .mp4 is not read")
    assert reason(path) == "binary file (unsupported type .mp4)"


def test_images_without_ocr_are_not_documents(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "photo.PNG"
    path.write_text("even text in a .png is not read")
    assert reason(path) == "binary file (unsupported type .png)"


def test_empty_missing_and_directory_paths(tmp_path: pathlib.Path) -> None:
    empty = tmp_path / "empty.md"
    empty.touch()
    assert reason(empty) == "empty file"
    assert reason(tmp_path / "missing.txt") == "file not found"
    assert reason(tmp_path) == "not a regular file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_permission_denied(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("top secret")
    path.chmod(0)
    assert reason(path) == "permission denied"


def test_permission_error_from_any_loader_becomes_the_reason(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Failure injection, for when the suite runs as root and chmod cannot deny reads.
    def denied(path: pathlib.Path) -> list[Document]:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setitem(LOADERS, ".txt", denied)
    path = tmp_path / "secret.txt"
    path.write_text("top secret")
    assert reason(path) == "permission denied"


# ------------------------------------------------------------------ sniffing


def test_looks_binary() -> None:
    assert looks_binary(b"PNG\x00\x01\x02")
    assert looks_binary(bytes(range(1, 32)) * 10)
    assert not looks_binary("plain text, with ünïcode\n\ttabs".encode())
    assert not looks_binary("utf-16 text".encode("utf-16"))
    assert not looks_binary(b"")


def test_detect_encoding_tolerates_a_sample_cut_inside_a_character() -> None:
    data = "é".encode() * 10
    assert detect_encoding(data[:-1], truncated=True) == "utf-8"
