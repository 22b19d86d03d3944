"""The splitter on Chinese text: chunks end at sentence ends, never inside a word.

Real text (tests/data/zh/install-guide-excerpt.txt, from the Debian installation guide, wrapped
at 80 columns as shipped) and the real bundled embedder's tokenizer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from langchain_core.documents import Document

from ingest.splitter import Splitter
from ingest.worker import make_token_counter
from localgpt.index import cjk
from localgpt.models.files import resolve_embedder

EXCERPT = Path(__file__).resolve().parent.parent / "data" / "zh" / "install-guide-excerpt.txt"
SENTENCE_ENDS = "。！？；…”’」』）》"
LONG_SENTENCE = (
    "在这种情况下文件系统的真实状态可能与系统认为在启动之后的情况不同并且可能在进一步写入"
    "文件系统时导致文件系统损坏因此在双引导设置中为了避免文件系统损坏必须在系统中禁用快速启动功能"
)


@pytest.fixture(scope="module")
def count() -> object:
    return make_token_counter(resolve_embedder("auto")[1])


def split(text: str, count: object, size: int, cjk_aware: bool = True) -> list[str]:
    splitter = Splitter(count, size, 8, 256, cjk_aware=cjk_aware)  # type: ignore[arg-type]
    return [c.text for c in splitter.split([Document(text, metadata={"source": "/d/x.txt"})], "sha")]


def test_chunks_end_at_sentence_ends_or_paragraphs(count: object) -> None:
    """With every sentence shorter than a chunk, every chunk ends a sentence or a paragraph."""
    text = EXCERPT.read_text(encoding="utf-8")
    unwrapped = cjk.unwrap(text)
    chunks = split(text, count, 128)
    assert len(chunks) > 5
    for chunk in chunks:
        assert count(chunk) <= 128  # type: ignore[operator]
        end = unwrapped.find(chunk) + len(chunk)
        assert end >= len(chunk), chunk  # each chunk is a piece of the unwrapped text
        after = unwrapped[end : end + 1]
        assert chunk[-1] in SENTENCE_ENDS or after in ("", "\n"), chunk


def test_a_line_wrapped_inside_a_word_is_joined_first(count: object) -> None:
    text = EXCERPT.read_text(encoding="utf-8")
    assert "引\n导加载程序" in text  # the file wraps inside words
    joined = "\n".join(split(text, count, 60))
    assert "引导加载程序" in joined and "Debian包含一个由Microsoft签名的" in joined
    assert "启动加\n载程序" not in joined
    # A list of short lines is not wrapped text: its breaks stay.
    assert cjk.unwrap("文件\n编辑\n视图\n插入\n格式") == "文件\n编辑\n视图\n插入\n格式"


def test_a_sentence_longer_than_a_chunk_is_cut_between_words(count: object) -> None:
    chunks = split(LONG_SENTENCE, count, 24)
    assert len(chunks) >= 3
    words = cjk.words(LONG_SENTENCE)
    bounds = {sum(len(w) for w in words[:i]) for i in range(len(words) + 1)}
    for chunk in chunks:
        start = LONG_SENTENCE.find(chunk)
        assert start in bounds and start + len(chunk) in bounds, (chunk, words)
        assert count(chunk) <= 24  # type: ignore[operator]
    # The plain splitter cut the same sentence inside words.
    plain = split(LONG_SENTENCE, count, 24, cjk_aware=False)
    assert any(
        LONG_SENTENCE.find(c) not in bounds or LONG_SENTENCE.find(c) + len(c) not in bounds for c in plain
    )


def test_english_identifiers_in_chinese_stay_whole(count: object) -> None:
    text = "打开数据库用sqlite3_open_v2函数然后调用sqlite3_blob_read读取数据并检查返回值是否为SQLITE_OK再继续"
    inside = {
        i for m in re.finditer(r"\w*[A-Za-z0-9_]\w*", text, re.ASCII) for i in range(m.start() + 1, m.end())
    }
    chunks = split(text, count, 16)
    assert len(chunks) >= 3
    for chunk in chunks:
        start = text.find(chunk)
        assert start not in inside and start + len(chunk) not in inside, chunk


def test_english_text_splits_as_before(count: object) -> None:
    text = (
        "The water tank holds 1.8 litres. Descale it every month! Why? Because scale builds up; "
        "it slows the pump, and it spoils the taste.\n\n"
    ) * 6
    assert split(text, count, 30) == split(text, count, 30, cjk_aware=False)


def test_sentence_end_keeps_its_closing_quote(count: object) -> None:
    text = "他说：“安装程序会检查引导模式。”" * 3 + "然后系统在固件菜单中选择启动设备并继续安装过程。" * 3
    for chunk in split(text, count, 30):
        assert not chunk.startswith("”")
