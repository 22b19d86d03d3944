"""The question's language decides the answer's: the refusal text and the prompt follow it.

Two languages have their own refusal text, English and Chinese. `Answer.abstained` (JSON
`abstained`, exit code 3) stays the machine-readable flag; the text is for people.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["en", "zh"]

CJK_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
ABSTAIN_TEXTS: dict[Language, str] = {
    "en": "I couldn't find this in your documents.",
    "zh": "我在你的文档中找不到相关内容。",
}
# What a model's refusal contains, in either language, once lower-cased and spaces squashed.
_REFUSALS = (
    "couldn't find this in your documents",
    "could not find this in your documents",
    "在你的文档中找不到相关内容",
    "在您的文档中找不到相关内容",
)


def is_cjk(text: str, share: float = 0.2) -> bool:
    """Mostly CJK: at least `share` of the letters and digits are CJK characters."""
    letters = [c for c in text if c.isalnum()]
    return bool(letters) and sum(bool(CJK_CHAR.match(c)) for c in letters) / len(letters) >= share


def language_of(question: str) -> Language:
    return "zh" if is_cjk(question) else "en"


def abstain_text(question: str) -> str:
    return ABSTAIN_TEXTS[language_of(question)]


def is_abstention(text: str) -> bool:
    norm = " ".join(text.lower().replace("’", "'").split())
    squashed = norm.replace(" ", "")
    return any(r in norm or r.replace(" ", "") in squashed for r in _REFUSALS)
