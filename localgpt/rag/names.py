"""Names a question asks about that the collection never mentions: a sure sign it can't be answered.

"In which SQLite release was unistr() added?" over docs that predate unistr() retrieves passages
about SQLite functions. They are on topic, so the relevance gate's word coverage passes them,
and any answer drawn from them is about something else. But a specific name in the question
(an identifier, a version-like token, an acronym, a product or file name) that occurs in no
chunk of the whole collection can't be answered from it, in any language: "dh-cargo",
"IPC-2581", "XLOOKUP", "MusicXML".

Only names count, never ordinary words: a paraphrased question uses words the documents don't
("rigid" for "strict"), and that says nothing. A hyphenated run of plain words ("in-RAM",
"out-of-the-box") is a phrase, not a name, unless one of its long parts is itself unknown.
Measured on the dev sets' held-out halves (bench/extract_tune.py): beyond the relevance gate it
refuses 3 of 9 English and 5 of 10 Chinese on-topic unanswerable questions, and none of the 62
English and 36 Chinese answerable ones.

A plain word counts as a name too when the collection never uses it and no English dictionary
holds it (the bundled models' vocabularies, models/wordlist.py; inflections folded, so "uploading"
is known through "upload", "dropdown" through "drop" and "down"): "pptx", "webp", "Wayland",
"pybuild". A paraphrase's ordinary words ("rigid", "override") are in the dictionary, and a
question in another language written in Latin letters (French, German) is left alone. On the
tuning halves this refused 2 more of the 7 English and 2 more of the 8 Chinese on-topic
unanswerable questions that passed the gate, and none of the 91 answerable ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

from localgpt.index.keyword import STOPWORDS
from localgpt.rag.language import is_cjk

# A token with a digit and a letter, an internal capital, two or more capitals, parts joined by
# "-", "_" or ".", or a call "name()". Not glued to letters on either side.
_NAME = re.compile(
    r"(?<![\w-])(?:[A-Za-z0-9]+(?:[-_.][A-Za-z0-9]+)+|\w+\(\)|[A-Za-z]*\d[A-Za-z0-9]*"
    r"|[A-Z]?[a-z]+[A-Z][A-Za-z0-9]*|[A-Z]{2,}[A-Za-z0-9]*)(?![\w-])"
)
_SEPARATORS = re.compile(r"[-_.]")
MIN_PART = 4  # shorter parts of a hyphenated phrase are common words ("in", "the", "box")


def names_in(question: str) -> list[str]:
    """The name-like tokens of a question, in order, each once."""
    found = []
    for match in _NAME.finditer(question):
        name = match.group()
        bare = name.removesuffix("()")
        if len(bare) < 3 or not re.search(r"[A-Za-z]", bare):
            continue  # "A4", "2.24", "12": too short, or a bare number
        found.append(name)
    return list(dict.fromkeys(found))


def unknown_names(question: str, idf: Callable[[str], float]) -> tuple[str, ...]:
    """The question's names that no chunk contains (`idf` is 0 for a token the collection never
    uses, as `KeywordIndex.idf`)."""
    return tuple(name for name in names_in(question) if not _known(name, idf))


def _known(name: str, idf: Callable[[str], float]) -> bool:
    bare = name.removesuffix("()").lower()
    if idf(bare) > 0:
        return True
    parts = [p for p in _SEPARATORS.split(bare) if p]
    if len(parts) == 1:
        return False
    if any(any(c.isdigit() for c in p) for p in parts):
        return False  # "IPC-2581", "gtk-3.0": the whole is the name
    long_parts = [p for p in parts if len(p) >= MIN_PART]
    # "in-RAM": a phrase of short words; "python-docx": its parts are known; "dh-cargo": not.
    return all(idf(p) > 0 for p in long_parts)


# A run of letters: not part of a hyphenated phrase or a dotted name ("web.maxchanges": names_in
# has those), but "JIS" of "Shift_JIS" and "pptx" of ".pptx" are words of their own.
_WORD = re.compile(r"(?<![A-Za-z0-9-])(?<!\w\.)[A-Za-z]{3,}(?![A-Za-z0-9-])")
# Inflections, so "configuring" is known through "configure" and "uploads" through "upload".
_SUFFIXES = ("s", "es", "ed", "d", "ing", "er", "ers", "ly", "ies")
_LETTERS = re.compile(r"[^\W\d_]{3,}")  # words of three letters or more, accented ones too
ENGLISH_SHARE = 0.5  # the dev and OCR sets' English questions: 0.5-1.0; French, German: ~0.4
MIN_COMPOUND = 3  # the shortest part of a closed compound ("log" + "out")
_PREFIXES = ("re", "un", "de", "co", "pre", "non", "dis", "mis", "sub", "multi", "over", "under")  # "reruns"


def unknown_words(
    question: str, idf: Callable[[str], float], dictionary: Callable[[], Collection[str]]
) -> tuple[str, ...]:
    """The question's plain words that no chunk of the collection holds and no dictionary
    (`dictionary()`, read only when a word is in no chunk) knows."""
    # Stopwords are in no chunk (the keyword index drops them) and are never names: skipping
    # them spares most questions the dictionary's read.
    unseen = [
        m
        for m in _WORD.finditer(question)
        if m.group().lower() not in STOPWORDS and not any(idf(f) > 0 for f in _forms(m.group().lower()))
    ]
    if not unseen:
        return ()
    words = dictionary()
    if not is_cjk(question) and not _english(question, words):
        return ()  # "combien", "dauert": a French or German question's words are no names

    def known(word: str) -> bool:
        return any(f in words or idf(f) > 0 for f in _forms(word))

    found = []
    for match in unseen:
        word = match.group().lower()
        if known(word):
            continue
        # A closed compound of two known words, or a prefix and one, is a word ("dropdown",
        # "checkbox", "localhost", "reruns": the documents may write "drop-down" or "re-run"),
        # unless it is capitalised mid-sentence: a proper name ("Wayland") is a name whatever
        # its parts.
        proper = match.group()[0].isupper() and match.start() > 0
        if not proper and _compound(word, words, known):
            continue
        found.append(match.group())
    return tuple(dict.fromkeys(found))


def _english(question: str, words: Collection[str]) -> bool:
    """Most of its words are English ones (names and jargon aside), and none has an accent."""
    latin = _LETTERS.findall(question)
    if any(not w.isascii() for w in latin):
        return False
    english = sum(any(f in words for f in _forms(w.lower())) for w in latin)
    return english >= ENGLISH_SHARE * len(latin)


def _compound(word: str, words: Collection[str], known: Callable[[str], bool]) -> bool:
    """Two words ("drop" + "down"), or a prefix and a word ("re" + "runs")."""
    if any(word[:i] in words and known(word[i:]) for i in range(MIN_COMPOUND, len(word) - MIN_COMPOUND + 1)):
        return True
    return any(
        word.startswith(p) and len(word) - len(p) >= MIN_COMPOUND and known(word[len(p) :]) for p in _PREFIXES
    )


def _forms(word: str) -> list[str]:
    forms = [word]
    for suffix in _SUFFIXES:
        stem = word.removesuffix(suffix)
        if stem != word and len(stem) >= 3:
            forms += [stem, stem + "e", stem + "y"]
    return forms
