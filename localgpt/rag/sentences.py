"""Split text into sentences with character offsets, for English-like and CJK text.

Each `Sentence` keeps `start`/`end` so that `text[start:end] == sentence.text`: quotes shown as
evidence can be located in the chunk they came from. Rules, in order:
- a blank line, or a line break before a list item, heading or table row, always ends a sentence
  (a single line break inside a paragraph is usually a PDF line wrap, so it does not);
- CJK sentence ends (。！？；…) end a sentence at once, closing quotes included;
- `.`, `!`, `?` end one when whitespace and a new sentence follow, except after common
  abbreviations ("e.g.", "Dr.") and single initials; decimals and file names ("1.8", "a.py")
  have no whitespace after the dot and never split;
- citation markers right after a sentence end ("… litres. [1]") stay with that sentence.
A regex splitter, not a library: pysbd and the like lose offsets on CJK and are unmaintained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from localgpt.index.keyword import tokenize

_CJK_END = "。！？；…"
_CLOSERS = "\"'”’」』）)]】》"
# Abbreviations that end with a dot but seldom end a sentence (lower-cased, without the dot).
_ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "vs",
        "cf",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "no",
        "fig",
        "figs",
        "eq",
        "sec",
        "ch",
        "vol",
        "approx",
        "incl",
        "max",
        "min",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
# A hard break: a blank line, or a line break before a list item, heading, table row or quote.
# A number item that ends the text ("…\n10.") breaks as it does mid-text: the streaming gate
# judges slices that end there, and the finished answer must split into the same sentences.
_HARD_BREAK = re.compile(r"\n[ \t]*\n|\n(?=[ \t]*(?:[-*+•]\s|\d{1,3}[.)](?:\s|\Z)|#{1,6}\s|\||>))")
# A line break after a short line without an end mark, before a capital: a title or heading line
# of a PDF page ("2. Filling and First Use"). Wrapped lines of body text are longer.
_TITLE_LINE = re.compile(r"^[^\n]{1,50}(?<![.,;:!?。，；：！？、(-])(?=\n[ \t]*[A-Z0-9\u3400-\u9fff])", re.M)
_LATIN_END = re.compile(r"[.!?]+[" + re.escape(_CLOSERS) + r"]*(?=\s)")
_CJK_END_RE = re.compile(r"[" + _CJK_END + r"]+[" + re.escape(_CLOSERS) + r"]*")
_CITATIONS = re.compile(r"[ \t]*(?:\[\d{1,3}\](?:[ \t,]*\[\d{1,3}\])*)[.。]?")
_NUMBERING = re.compile(r"(?:^|\n)[ \t]*\d{1,3}$")  # "2. Filling and First Use"
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")
_HAS_WORD = re.compile(r"\w")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # offsets into the split text: text == source[start:end]
    end: int


def split_sentences(text: str) -> list[Sentence]:
    """The sentences of `text`, in order, without surrounding whitespace; empty pieces dropped."""
    cuts = {m.start() for m in _HARD_BREAK.finditer(text)} | {m.end() for m in _TITLE_LINE.finditer(text)}
    out: list[Sentence] = []
    block_start = 0
    for cut in [*sorted(cuts), len(text)]:
        out.extend(_split_block(text, block_start, cut))
        block_start = cut
    return out


def _split_block(text: str, start: int, end: int) -> list[Sentence]:
    cuts = sorted(set(_ends(text, start, end)))
    out: list[Sentence] = []
    begin = start
    for cut in [*cuts, end]:
        if cut <= begin:
            continue
        piece = _trimmed(text, begin, cut)
        if piece is not None:
            out.append(piece)
        begin = cut
    return out


def _ends(text: str, start: int, end: int) -> list[int]:
    """Offsets just after each sentence end inside text[start:end], citations included."""
    block = text[start:end]
    ends: list[int] = []
    for m in _CJK_END_RE.finditer(block):
        ends.append(_after_citations(block, m.end()))
    for m in _LATIN_END.finditer(block):
        if m.group()[0] == "." and (
            _is_abbreviation(block[: m.start()]) or _NUMBERING.search(block[: m.start()])
        ):
            continue
        after = _after_citations(block, m.end())
        rest = block[after:].lstrip()
        if rest and rest[0].islower():
            continue  # "… see Fig. 3. then" / "approx. five": a lower-case start continues it
        ends.append(after)
    return [start + e for e in ends]


def _after_citations(block: str, pos: int) -> int:
    m = _CITATIONS.match(block, pos)
    return m.end() if m else pos


def _is_abbreviation(before: str) -> bool:
    m = _WORD_BEFORE.search(before)
    if not m:
        return False
    word = m.group(1).lower().rstrip(".")
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha() and m.group(1).isupper())


def _trimmed(text: str, start: int, end: int) -> Sentence | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    piece = text[start:end]
    if not _HAS_WORD.search(_CITATIONS.sub("", piece)):
        return None
    return Sentence(piece, start, end)


def strip_citations(sentence: str) -> str:
    """The sentence without its [n] markers (and the space before each): what is checked against
    the sources. Only the markers go: "ARG2 ..." keeps its space, so a quote still matches."""
    return " ".join(re.sub(r"\s*\[\d{1,3}\]", "", sentence).split())


def cited_numbers(sentence: str) -> list[int]:
    """The source numbers a sentence cites, in order, without repeats."""
    return list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d{1,3})\]", sentence)))


def is_cjk(text: str) -> bool:
    """Mostly Chinese, Japanese or Korean letters: word overlap must then use bigrams."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(1 for c in letters if _CJK.match(c)) * 2 >= len(letters)


# Chinese function characters: as single characters they match everything.
_CJK_FUNCTION = frozenset("的了是在和与或及吗呢吧么之也而就都把被")


def content_words(text: str) -> frozenset[str]:
    """Keyword tokens (stopwords out, English endings folded: "holds" = "hold"); CJK text gives
    its bigrams and its single characters, so "研磨度有多少档" meets "研磨度共有 12 档"."""
    words = {_stem(t) for t in tokenize(text) if t not in _CJK_FUNCTION}
    words.update(c for c in text if _CJK.match(c) and c not in _CJK_FUNCTION)
    return frozenset(words)


def _stem(word: str) -> str:
    if not word.isascii() or len(word) <= 4 or not word.isalpha():
        return word
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    return word
