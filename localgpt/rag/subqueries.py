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
_LEAD = re.compile(r"^(?:(?:please|tell|me|about|explain|describe|also)\b[\s,]*)+", re.IGNORECASE)


def topic_words(part: str) -> list[str]:
    return [w for w in tokenize(part) if w not in STOPWORDS and w not in _FRAMING]


def _stands_alone(part: str) -> bool:
    said = [w.strip(",.;:!?'\"").lower() for w in part.split()]
    if _BACK_REFERENCES & set(said):
        return False  # "the gasket's price and its part number": "its" needs the first part
    words = topic_words(part)
    return len(words) >= 2 or (len(words) == 1 and bool(said) and said[0] in _QUESTION_WORDS)


def split_question(question: str) -> list[str]:
    """The parts of a multi-part question, or [question] when it is one question."""
    parts = [p.strip(" ,.;?!") for p in _SEPARATORS.split(question.strip())]
    parts = [p for p in parts if p]
    if len(parts) < 2 or len(parts) > MAX_PARTS or not all(_stands_alone(p) for p in parts):
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
