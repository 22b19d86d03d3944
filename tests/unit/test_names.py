"""Names a question asks about that the collection never mentions (localgpt/rag/names.py)."""

from __future__ import annotations

from localgpt.index.keyword import KeywordIndex
from localgpt.rag.names import names_in, unknown_names

CHUNKS = [
    "The sqlite3_blob_read() interface reads data from an open BLOB handle.",
    "An in-memory database is opened with the special filename :memory: and lives in RAM.",
    "Use python-docx to read a .docx file; KiCad exports Gerber files.",
    "debhelper 的 dh 命令按顺序运行各个步骤。",
]


def idf() -> KeywordIndex:
    return KeywordIndex.build([(f"c{i}", text, {"source": "/d.txt"}) for i, text in enumerate(CHUNKS)], 1)


def test_names_are_identifiers_versions_acronyms_and_calls_not_words_or_numbers() -> None:
    assert names_in("In which SQLite release was the unistr() SQL function added?") == [
        "SQLite", "unistr()", "SQL",
    ]  # fmt: skip
    assert names_in("KiCad 6 怎么导出 IPC-2581 格式的制造数据？") == ["KiCad", "IPC-2581"]
    assert names_in("How much water does the Aurora K7 hold in 2024?") == []  # "K7": too short
    assert names_in("Is the Tank big?") == []


def test_unknown_names_are_the_ones_no_chunk_holds() -> None:
    index = idf()
    assert unknown_names("What does sqlite3_blob_read() return?", index.idf) == ()
    assert unknown_names("In which release was unistr() added?", index.idf) == ("unistr()",)
    assert unknown_names("KiCad 怎么导出 IPC-2581 数据？", index.idf) == ("IPC-2581",)
    assert unknown_names("dh-cargo 怎么用？", index.idf) == ("dh-cargo",)  # "cargo": in no chunk


def test_a_phrase_of_known_or_short_words_is_no_name() -> None:
    index = idf()
    assert unknown_names("Do two connections share one in-RAM database?", index.idf) == ()
    assert unknown_names("Can python-docx open it?", index.idf) == ()


def test_a_word_in_no_dictionary_and_no_chunk_is_unknown() -> None:
    from localgpt.models.wordlist import english_words
    from localgpt.rag.names import unknown_words

    index, words = idf(), english_words
    asked = "Which terminal writes PowerPoint (.pptx) files with KiCad?"
    # "KiCad": a chunk has it; "PowerPoint": a word the dictionary knows.
    assert unknown_words(asked, index.idf, words) == ("pptx",)
    assert unknown_words("装 Debian 的时候能选 Wayland 吗？", index.idf, words) == ("Debian", "Wayland")
    # Ordinary English words are never names, however the documents phrase things; nor are their
    # inflections, nor the parts of a dotted name (names_in's job).
    assert unknown_words("Can I override the schematic before uploading it?", index.idf, words) == ()
    assert unknown_words("What is web.maxshortchanges set to?", index.idf, words) == ()
    # Closed compounds of known words are words; a capitalised name is a name whatever its parts.
    assert unknown_words("Where is the dropdown to logout of localhost?", index.idf, words) == ()
    assert unknown_words("Which shortcut reruns the previous command?", index.idf, words) == ()
    assert unknown_words("Does Debian ship Wayland?", index.idf, words) == ("Debian", "Wayland")
    # Another language written in Latin letters: its ordinary words are in no English dictionary.
    assert unknown_words("Combien de temps dure la garantie de la machine?", index.idf, words) == ()
    assert unknown_words("Wie lange dauert die Garantie der Maschine?", index.idf, words) == ()
    assert unknown_words("¿Cuánto tiempo dura la garantía?", index.idf, words) == ()
