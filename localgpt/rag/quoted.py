"""The phrases a text quotes, and the folding they are compared under.

Used both ways round: the grounding check looks for an answer's quoted names in the passages, and
extract mode for a question's quoted phrase in a sentence (cues.py).
"""

from __future__ import annotations

import re
import unicodedata

# "...", “...”, `...`, 「...」, 『...』 on one line; single quotes are mostly apostrophes.
_QUOTED = re.compile(
    r'"([^"\n]{2,80})"|“([^”\n]{2,80})”|`([^`\n]{1,80})`|「([^」\n]{1,80})」|『([^』\n]{1,80})』'
)


def quoted_phrases(text: str) -> list[str]:
    """What `text` puts in quotes or backticks, in order."""
    return [next(group for group in m.groups() if group) for m in _QUOTED.finditer(text)]


def flat(text: str) -> str:
    """Case, width and spacing folded: how quoted names and identifiers are compared."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


_CODE_SPAN = re.compile(r"`([^`\n]{1,80})`")
_WORD_RUN = re.compile(r"\w+")


def code_spans(text: str) -> list[str]:
    """What `text` puts in backticks: code, a command, an option, in order."""
    return _CODE_SPAN.findall(text)


def code_tokens(text: str) -> str:
    """Its runs of letters, digits and underscores, case folded, one space apart: how a code span
    is looked for ("set  Theme" is "set theme", "--persist" is "persist", "- [ ]" is nothing)."""
    return " ".join(_WORD_RUN.findall(flat(text)))
