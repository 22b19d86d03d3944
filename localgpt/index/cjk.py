"""Chinese, Japanese and Korean text: finding CJK runs and cutting Chinese into words (jieba).

jieba loads its dictionary on first use (about 1 s; then cached in the temp dir), so it is
imported only when a text really holds Chinese: English-only ingests and `localgpt --help` never
load it.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from collections import Counter
from typing import Any

# Han (CJK unified ideographs, extension A, compatibility), kana, hangul.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK = HAN + "\u3040-\u30ff\uac00-\ud7af"
CJK_RUN = re.compile(f"[{CJK}]+")
HAN_RUN = re.compile(f"[{HAN}]+")
# A space between two CJK characters is layout, not a word break: PDFs justify Chinese lines as
# "此 软 件 包", and wrapped text files break lines inside words.
_SPACED = re.compile(f"(?<=[{CJK}])[ \\t\\u3000]*\\n?[ \\t\\u3000]*(?=[{CJK}])")
# CJK characters plus CJK and full-width punctuation, for "is this line break inside a sentence".
_CJK_TEXT = CJK + "\u3000-\u303f\uff00-\uffef"
_SOFT_BREAK = re.compile(f"(?<=[{_CJK_TEXT}])\n(?=[{_CJK_TEXT}])")
# Hard-wrapped: this share of the lines that end inside CJK text have one display width (±2).
WRAPPED_SHARE = 0.6
MIN_WRAP_WIDTH = 40
_lock = threading.Lock()


def has_cjk(text: str) -> bool:
    return CJK_RUN.search(text) is not None


def cjk_share(text: str) -> float:
    """The fraction of non-space characters that are CJK."""
    letters = sum(1 for c in text if not c.isspace())
    if not letters:
        return 0.0
    return sum(len(m) for m in CJK_RUN.findall(text)) / letters


def join_spaced_cjk(text: str) -> str:
    return _SPACED.sub("", text)


def unwrap(text: str) -> str:
    """Join the lines of hard-wrapped Chinese text (a plain-text manual wrapped at 80 columns).

    Such a file breaks lines inside words ("引\n导加载程序"); left alone, the splitter would cut
    a chunk there. Only single line breaks between two CJK characters go, and only in a text
    wrapped at a fixed width: the lines of a list or a table keep their breaks.
    """
    # The lines that end inside CJK text: in a wrapped file, nearly all are as wide as the wrap.
    ends = [m.start() for m in _SOFT_BREAK.finditer(text)]
    if len(ends) < 3:
        return text
    widths = [_width(text[text.rfind("\n", 0, end) + 1 : end]) for end in ends]
    common = Counter(widths).most_common(1)[0][0]
    near = sum(1 for w in widths if abs(w - common) <= 2)
    if common < MIN_WRAP_WIDTH or near < WRAPPED_SHARE * len(widths):
        return text
    return _SOFT_BREAK.sub("", text)


def _width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line.rstrip())


@functools.cache
def _jieba() -> Any:
    with _lock:
        import jieba

        jieba.setLogLevel(logging.WARNING)  # else it prints "Building prefix dict..." to stderr
        jieba.initialize()
        return jieba


def words(text: str) -> list[str]:
    """jieba's precise segmentation: the pieces join back to `text` exactly."""
    return [w for w in _jieba().cut(text, HMM=True) if w]


def search_words(text: str) -> list[str]:
    """jieba's search-engine mode: words, plus the dictionary words inside long ones."""
    return [w for w in _jieba().cut_for_search(text, HMM=True) if w.strip()]


def bigrams(run: str) -> list[str]:
    """Overlapping character pairs (a single character stays itself)."""
    return [run[i : i + 2] for i in range(max(1, len(run) - 1))]
