"""What a question asks for, as words that a sentence answering it would hold.

Embedding similarity and keyword coverage rank the sentence that restates a question above the
one that answers it: for "What is the default port?" the page's "The port can be changed in..."
covers as many words as "(default: 8000)". The cues are the question's own signal of the answer's
shape, cheap and script-aware:

- a question about a default ("by default", "unless told otherwise", 默认) wants a sentence
  that says "default";
- one about a version or release wants a version number ("3.8.2");
- one that quotes a phrase ("the heading \"Error Logging Interface\"") wants the sentence holding
  that phrase, often a heading just before the answer.

Each was kept only where it raised extract mode's accuracy on the dev sets' tuning halves
(bench/README.md, "Which sentences make the quote"); a number for "how many" and an identifier
for "which function" were tried the same way and changed nothing or cost a Chinese answer.

Use: `Cues.of(question).met(sentence)` -> how many cues the sentence meets (0-3).
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


@dataclass(frozen=True)
class Cues:
    default: bool
    version: bool
    phrases: tuple[str, ...]  # quoted in the question, folded (quoted.flat)

    @classmethod
    def of(cls, question: str) -> Cues:
        phrases = (flat(p) for p in quoted_phrases(question))
        return cls(
            default=bool(_DEFAULT_ASKED.search(question)),
            version=bool(_VERSION_ASKED.search(question)),
            phrases=tuple(p for p in phrases if p),
        )

    def met(self, sentence: str) -> int:
        """How many of the question's cues `sentence` meets."""
        count = 0
        if self.default and _DEFAULT_SAID.search(sentence):
            count += 1
        if self.version and _VERSION_SAID.search(sentence):
            count += 1
        if self.phrases:
            folded = flat(sentence)
            count += any(p in folded for p in self.phrases)
        return count
