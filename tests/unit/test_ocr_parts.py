"""The OCR pieces that need no engine: the garbage rule, box layout, spacing, the cache."""

from __future__ import annotations

from pathlib import Path

from ingest.ocr.cache import OcrCache
from ingest.ocr.engine import PageText, _respace, layout
from ingest.ocr.pages import OcrOptions
from ingest.ocr.quality import is_garbage


def test_a_real_text_layer_is_not_garbage() -> None:
    assert not is_garbage("The water tank holds 1.8 litres; refill it every morning.")
    assert not is_garbage("升级到新版本应当是静默且非侵入式的，已有用户应当只在发现旧的错误被修复时注意到。")
    assert not is_garbage("  12  ")  # too short to judge: a page number
    assert not is_garbage("Contents\nAngles . . . . . . . . . . . . . . . . . . . . . . 128\nReplot 128")


def test_cid_runs_private_use_and_symbol_soup_are_garbage() -> None:
    assert is_garbage("(cid:12)(cid:45)(cid:3) (cid:77)(cid:18)(cid:9) Total (cid:4)(cid:2)")
    assert is_garbage("".join(chr(0xE000 + i) + (" " if i % 5 == 4 else "") for i in range(40)))
    assert is_garbage("ab " + "\ufffd\ufffd\ufffd\ufffd " * 6)


def box(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def test_layout_reads_lines_top_down_boxes_left_to_right_and_keeps_paragraphs() -> None:
    boxes = [
        (box(300, 10, 500, 30), "right half", 0.9),
        (box(10, 12, 280, 31), "Left half", 0.9),
        (box(10, 40, 400, 60), "second line", 0.9),
        (box(10, 120, 400, 140), "new paragraph", 0.9),
        (box(10, 150, 100, 170), "中文", 0.9),
        (box(110, 150, 200, 170), "句子", 0.9),
    ]
    assert layout(boxes) == "Left half right half\nsecond line\n\nnew paragraph\n中文句子"


def info(text: str, cols: list[int]) -> list[object]:
    """The recogniser's word info: (columns, words, their columns, states, confidences)."""
    return [max(cols) + 1, [list(text)], [cols], ["en&num"], [0.9] * len(text)]


def test_respace_puts_back_a_space_where_the_gap_is_wide() -> None:
    #         t  h  e  t  h  i  n  g  s
    cols = [0, 2, 4, 9, 11, 13, 15, 17, 19]
    assert _respace(info("thethings", cols)) == "the things"


def test_respace_leaves_even_spacing_and_cjk_alone() -> None:
    assert _respace(info("reentrant", [0, 2, 4, 6, 8, 10, 12, 14, 16])) == "reentrant"
    assert _respace(info("中文内容", [0, 3, 12, 15])) == "中文内容"
    assert _respace(info("Reentrant", [0, 7, 9, 11, 13, 15, 17, 19, 21])) == "Reentrant"  # wide capital


def test_cache_round_trip_and_key_separation(tmp_path: Path) -> None:
    cache = OcrCache(tmp_path, "k1")
    assert cache.get("ab" * 32, 1) is None
    cache.put("ab" * 32, 1, PageText("hello", 0.93, 2))
    assert cache.get("ab" * 32, 1) == PageText("hello", 0.93, 2)
    assert cache.get("ab" * 32, 2) is None
    assert OcrCache(tmp_path, "k2").get("ab" * 32, 1) is None  # other engine settings
    # A damaged entry is a miss, not an error.
    next(tmp_path.rglob("*.json")).write_text("{not json")
    assert cache.get("ab" * 32, 1) is None


def test_cache_key_follows_the_settings() -> None:
    assert OcrOptions(dpi=200).settings_key() == OcrOptions(dpi=200, mode="force").settings_key()
    assert OcrOptions(dpi=200).settings_key() != OcrOptions(dpi=300).settings_key()


def test_chinese_and_latin_words_are_spaced_apart() -> None:
    from ingest.ocr.engine import space_mixed

    assert space_mixed("在升级时使用maintainerscripts触发debconf来打扰用户。") == (
        "在升级时使用 maintainerscripts 触发 debconf 来打扰用户。"
    )
    assert space_mixed("参见第A.2节，共57页") == "参见第 A.2 节，共 57 页"
    assert space_mixed("plain English, 中文。") == "plain English, 中文。"


def test_a_line_initial_middle_dot_is_a_bullet() -> None:
    from ingest.ocr.engine import tidy_page

    assert tidy_page("规则如下:\n·clean target:清理\n  · build target") == (
        "规则如下:\n• clean target:清理\n  • build target"
    )
    assert tidy_page("a·b 中·文") == "a·b 中·文"  # inside a line it stays what it is
