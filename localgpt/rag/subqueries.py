"""Multi-part questions: one search per part, the results interleaved.

"Tell me about the warranty period and the descaling interval and the water tank capacity" is
three questions. Searched as one, each part dilutes the others: no chunk is close to all three,
the best score stays under the abstain threshold, and the question is refused. Searched part by
part, each part finds its own passage, and the answer gets sources for all of them.

The split is deliberately cautious: it happens only when every part still reads as a question on
its own (two topic words, or a question word and one), so "salt and pepper" or "the K5 and the
K7" stay whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from localgpt.index.keyword import STOPWORDS, tokenize

MAX_PARTS = 4
_BACK_REFERENCES = frozenset(["it", "its", "they", "them", "their", "this", "that", "these", "those", "one"])
# "and" between clauses, ";" and "?" followed by more text.
_SEPARATORS = re.compile(r"\s*(?:;|\?(?=\s*\S)|,?\s+and\s+)\s*", re.IGNORECASE)
_QUESTION_WORDS = frozenset(
    ["how", "what", "when", "where", "which", "who", "why", "whom", "whose",
     "is", "are", "does", "do", "did", "can", "could", "should", "would", "will"]
)  # fmt: skip
# Politeness and framing that carry no topic ("please tell me about ...").
_FRAMING = frozenset(
    ["please", "tell", "me", "explain", "describe", "know", "want", "like", "give", "info", "information"]
)
_QUOTES = ('"', "“", "”", "«", "»", "`")
# Asking for several topics at once: "please tell me about", "can you explain", "describe".
_TOPIC_LIST = re.compile(
    r"^\s*(?:please\s+)?(?:(?:can|could|would)\s+you\s+)?(?:please\s+)?"
    r"(?:tell\s+me\s+about|tell\s+me|explain|describe|summari[sz]e|give\s+me|show\s+me|what\s+about|"
    r"i\s+(?:want|would\s+like|'d\s+like)\s+to\s+know\s+about)\b",
    re.IGNORECASE,
)
_LEAD = re.compile(r"^(?:(?:please|tell|me|about|explain|describe|also)\b[\s,]*)+", re.IGNORECASE)


def topic_words(part: str) -> list[str]:
    return [w for w in tokenize(part) if w not in STOPWORDS and w not in _FRAMING]


def _stands_alone(part: str) -> bool:
    said = [w.strip(",.;:!?'\"").lower() for w in part.split()]
    if _BACK_REFERENCES & set(said):
        return False  # "the gasket's price and its part number": "its" needs the first part
    words = topic_words(part)
    return len(words) >= 2 or (len(words) == 1 and bool(said) and said[0] in _QUESTION_WORDS)


def _starts_a_question(part: str) -> bool:
    first = part.split()[0].lower() if part.split() else ""
    # Not "who", "which", "whose": after "and" they mostly start a relative clause of the same question.
    return first in _QUESTION_WORDS - {"who", "whom", "whose", "which"}


def split_question(question: str) -> list[str]:
    """The parts of a multi-part question, or [question] when it is one question.

    "and" mostly joins nouns inside one question ("date and time functions", "bookmark, tag, and
    branch names"): a part after it counts as a question of its own only when it starts like one
    ("... and how do I register"), or when the whole question asks for a list of topics ("tell me
    about X and Y and Z"). Quoted text is never split.
    """
    if any(q in question for q in _QUOTES):
        return [question]
    parts = [p.strip(" ,.;?!") for p in _SEPARATORS.split(question.strip())]
    parts = [p for p in parts if p]
    if len(parts) < 2 or len(parts) > MAX_PARTS or not all(_stands_alone(p) for p in parts):
        return [question]
    if not _TOPIC_LIST.match(question) and not all(_starts_a_question(p) for p in parts[1:]):
        return [question]
    # "Please tell me about the warranty" is searched as "the warranty": the framing only blurs it.
    return [_LEAD.sub("", p) or p for p in parts]


def interleave(rankings: Sequence[Sequence[str]], k: int) -> list[str]:
    """Round robin over the parts' ranked ids, without repeats: each part gets its best chunks in."""
    out: list[str] = []
    seen: set[str] = set()
    depth = max((len(r) for r in rankings), default=0)
    for rank in range(depth):
        for ranking in rankings:
            if rank < len(ranking) and ranking[rank] not in seen:
                seen.add(ranking[rank])
                out.append(ranking[rank])
                if len(out) == k:
                    return out
    return out
