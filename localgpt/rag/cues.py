"""What a question asks for, as words that a sentence answering it would hold.

Embedding similarity and keyword coverage rank the sentence that restates a question above the
one that answers it: for "What is the default port?" the page's "The port can be changed in..."
covers as many words as "(default: 8000)". The cues are the question's own signal of the answer's
shape, cheap and script-aware:

- a question about a default ("by default", "unless told otherwise", 默认) wants a sentence
  that says "default";
- one about a version or release wants a version number ("3.8.2");
- one that quotes a phrase ("the heading \"Error Logging Interface\"") wants the sentence holding
  that phrase, often a heading just before the answer;
- one that names something in code style (a dotted setting "profiling.limit", "SQLITE_IOERR_X",
  "date()", "--persist") wants the reference entry that name heads: in a config reference, a man
  page or an API list, "``limit``" opens an entry and its "(default: 30)" line, which shares no
  word with the question, is the answer. This cue counts double (NAME_CUES): the entry is the
  thing asked about, the other cues only say what about it.

Each was kept only where it raised extract mode's accuracy on the dev sets' tuning halves
(bench/README.md, "Which sentences make the quote"); a number for "how many" and an identifier
for "which function" were tried the same way and changed nothing or cost a Chinese answer.

Use: `Cues.of(question).met(sentence, entry)` -> how many cues the sentence meets (0-5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from localgpt.rag.quoted import flat, quoted_phrases

_DEFAULT_ASKED = re.compile(
    r"\bdefaults?\b|\bunless (?:told|specified|configured|set|given)\b|\bwhen (?:no|none)\b"
    r"|\bif (?:no|none)\b|\bomitted\b|\bnot (?:set|given|specified)\b|默认|缺省",
    re.IGNORECASE,
)
_DEFAULT_SAID = re.compile(r"\bdefault(?:s|ed)?\b|默认|缺省", re.IGNORECASE)
_VERSION_ASKED = re.compile(
    r"\b(?:which|what|oldest|earliest|first|minimum|newest|latest)\s+(?:\w+\s+)?(?:version|release)s?\b"
    r"|\bsince when\b|哪个版本|什么版本|版本号",
    re.IGNORECASE,
)
_VERSION_SAID = re.compile(r"(?<![A-Za-z0-9_.])v?\d+\.\d+")
# Names in code style: dotted ("web.port"), snake or upper snake case ("SQLITE_IOERR_CONVPATH"),
# a call ("date()"), a command-line option ("--verbose").
_NAME = re.compile(
    r"(?<![\w.-])(?:[A-Za-z_]\w*(?:\.[A-Za-z_]\w+)+|[A-Za-z]\w*_\w+|\w+(?=\(\))|--?[A-Za-z][\w-]*)"
)


# A sentence in the entry the question names: twice a cue. At once, "(default: 30)" under
# "``limit``" still lost to prose that says "default" and restates the question
# (bench/README.md, "Named entries of a reference list").
NAME_CUES = 2


@dataclass(frozen=True)
class Cues:
    default: bool
    version: bool
    phrases: tuple[str, ...]  # quoted in the question, folded (quoted.flat)
    names: tuple[str, ...] = ()  # code-style names, folded; a dotted one also by its last part

    @classmethod
    def of(cls, question: str) -> Cues:
        phrases = (flat(p) for p in quoted_phrases(question))
        return cls(
            default=bool(_DEFAULT_ASKED.search(question)),
            version=bool(_VERSION_ASKED.search(question)),
            phrases=tuple(p for p in phrases if p),
            names=tuple(dict.fromkeys(_names(question))),
        )

    def names_in(self, line: str) -> bool:
        """Whether `line` holds one of the question's code-style names."""
        return bool(line) and any(_holds_name(line, n) for n in self.names)

    def met(self, sentence: str, entry: str = "") -> int:
        """How many of the question's cues `sentence` meets; `entry` is the term line that heads
        the reference entry the sentence belongs to ("``limit``" over "(default: 30)")."""
        count = 0
        if self.names_in(entry):
            count += NAME_CUES
        if self.default and _DEFAULT_SAID.search(sentence):
            count += 1
        if self.version and _VERSION_SAID.search(sentence):
            count += 1
        if self.phrases:
            folded = flat(sentence)
            count += any(p in folded for p in self.phrases)
        return count


def _names(question: str) -> list[str]:
    out = []
    for m in _NAME.finditer(question):
        name = flat(m.group()).lstrip("-")
        out.append(name)
        if "." in name:  # "web.port" is "``port``" under the "``web``" section
            out.append(name.rsplit(".", 1)[1])
    return out


def _holds_name(line: str, name: str) -> bool:
    return re.search(r"(?<![\w.])" + re.escape(name) + r"(?![\w])", flat(line)) is not None
