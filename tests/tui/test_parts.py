"""The TUI's headless parts: saved chats, passages in context, and the pager/editor command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localgpt.rag.answer import Answer
from localgpt.rag.resources import Resources
from localgpt.rag.sources import Source
from tests.conftest import EXAMPLES
from tests.tui.conftest import make_settings
from tui.chats import Chat, ChatStore, Turn
from tui.external import ViewerError, ViewTarget, command, find_line, prepare, program
from tui.passage import overlap, surrounding

SOURCE = Source(1, "/docs/a.md", None, 0.5, "id1", "The tank holds 1.8 litres.", "Filling")


def test_chats_round_trip_newest_first(tmp_path: Path) -> None:
    store = ChatStore(tmp_path / "chats")
    assert store.list() == []
    first = Chat("20250101-100000-aaaa", "documents", "2025-01-01T10:00:00")
    first.turns.append(Turn.from_answer(Answer("q1 " * 40, "a1", False, [SOURCE], "m")))
    first.turns.append(Turn("q2", "partial", cancelled=True))
    second = Chat("20250102-100000-bbbb", "manuals", "2025-01-02T10:00:00", [Turn("q3", "a3")])
    store.save(first)
    store.save(second)
    (tmp_path / "chats" / "broken.json").write_text("{not json")

    infos = store.list()
    assert [i.id for i in infos] == [second.id, first.id]  # unreadable files are left out
    assert infos[1].turns == 2 and infos[1].title.endswith("…") and len(infos[1].title) == 60
    loaded = store.load(first.id)
    assert loaded.turns[0].sources == [SOURCE]
    assert loaded.history == [(("q1 " * 40), "a1")]  # the cancelled turn is not continued from
    assert not list((tmp_path / "chats").glob(".*.tmp"))
    assert json.loads(store.path(first.id).read_text())["version"] == 1
    store.delete(first.id)
    assert [i.id for i in store.list()] == [second.id]


def test_overlap_finds_the_splitters_shared_run() -> None:
    assert overlap("alpha beta gamma delta epsilon", "gamma delta epsilon zeta") == len("gamma delta epsilon")
    assert overlap("abc", "xyz") == 0
    assert overlap("ends with a", "a begins") == 0  # runs shorter than MIN_OVERLAP are chance


def test_surrounding_text_of_a_chunk(tui_data: Path) -> None:
    res = Resources(make_settings(tui_data))
    store = res.store()
    record = next(r for r in res.manifest.all().values() if r.path.endswith("warranty.md"))
    assert len(record.chunk_ids) >= 3
    got = store.fetch([record.chunk_ids[1]])
    meta = got["metadatas"][0]
    source = Source(1, record.path, None, 0.5, got["ids"][0], got["documents"][0], meta.get("heading"))
    passage = surrounding(store, source)
    assert passage.found and passage.text == source.text
    assert passage.before.strip() and passage.after.strip()
    neighbours = store.fetch([record.chunk_ids[0], record.chunk_ids[2]])["documents"]
    # The neighbours' text is there, without the overlap repeated.
    whole = passage.before + passage.text + passage.after
    assert neighbours[0][:40] in whole and neighbours[1][-40:] in whole
    for left, right in [(neighbours[0], passage.text), (passage.text, neighbours[1])]:
        shared = overlap(left, right)
        if shared:
            assert whole.count(right[:shared]) == 1

    gone = Source(1, record.path, None, 0.5, "no-such-chunk", "saved text")
    assert surrounding(store, gone).found is False


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["less", "-R"], ["less", "-R", "+12", "/f.txt"]),
        (["/usr/bin/vim"], ["/usr/bin/vim", "+12", "/f.txt"]),
        (["hx"], ["hx", "/f.txt:12"]),
        (["code", "--wait"], ["code", "--wait", "--goto", "/f.txt:12"]),
        (["someviewer"], ["someviewer", "/f.txt"]),
    ],
)
def test_viewer_command_spells_the_start_line(argv: list[str], expected: list[str]) -> None:
    assert command(argv, ViewTarget(Path("/f.txt"), 12)) == expected
    assert command(argv, ViewTarget(Path("/f.txt"), None)) == [*argv, "/f.txt"]


def test_viewer_program_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGER", "/no/such/pager -R")
    with pytest.raises(ViewerError, match=r"\$PAGER"):
        program("pager")
    monkeypatch.setenv("VISUAL", "")
    monkeypatch.setenv("EDITOR", "true --flag")
    assert program("editor") == ["true", "--flag"]


def test_text_files_open_at_the_passage_line(tmp_path: Path) -> None:
    doc = tmp_path / "notes.md"
    doc.write_text("# Title\n\nintro line\n\nThe   tank holds 1.8 litres.\nmore\n")
    target = prepare(str(doc), "The tank holds 1.8 litres.\nmore", None)
    assert target == ViewTarget(doc, 5)
    assert find_line("a\nb\n", "nothing like it") is None
    with pytest.raises(ViewerError, match="no longer there"):
        prepare(str(tmp_path / "gone.md"), "x", None)


def test_a_repeated_line_is_not_trusted_over_a_unique_one() -> None:
    text = "Manual - Lumen\nintro\nManual - Lumen\nThe tank holds 1.8 litres.\n"
    assert find_line(text, "Manual - Lumen\nThe tank holds 1.8 litres.") == 3
    assert find_line(text, "Manual - Lumen\nnot in the text at all") == 1
    assert find_line(text, "Manual - Lumen\nnot in the text at all", start=2) == 3


def test_pdfs_open_as_text_at_their_page() -> None:
    pdf = EXAMPLES / "aurora-k7-manual.pdf"
    target = prepare(str(pdf), "text that is not in the manual", 3)
    try:
        assert target.temporary and target.path.name == "aurora-k7-manual.pdf.txt"
        lines = target.path.read_text().splitlines()
        assert target.line is not None and "page 3" in lines[target.line - 1]
    finally:
        target.cleanup()
    assert not target.path.exists()
    # A passage whose first line is the running head on every page still lands on its page.
    target = prepare(str(pdf), "Aurora K7 User Manual - Lumen Appliances\nPage 2 of 4", 2)
    try:
        lines = target.path.read_text().splitlines()
        assert target.line is not None
        assert lines[target.line - 1] == "Aurora K7 User Manual - Lumen Appliances"
        assert lines[target.line] == "Page 2 of 4"
    finally:
        target.cleanup()
