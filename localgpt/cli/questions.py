"""Questions as they reach `ask`: an argument, stdin, or `--batch` lines; all checked here.

Input is taken as bytes. A question that is not valid UTF-8 (a Latin-1 terminal, a binary file
piped in by mistake) is a usage error with its own line, never a crash deep in the tokenizer.
"""

from __future__ import annotations

import os
from typing import Any

from localgpt.errors import LocalGPTError, UsageError

# Characters per token of the context window: English averages about 4, so a longer question
# cannot fit with any room left for passages. Refused before retrieval, in a moment.
CHARS_PER_CONTEXT_TOKEN = 4


def from_argument(text: str) -> bytes:
    """The argument's bytes: Python hands undecodable argv bytes over as lone surrogates."""
    return os.fsencode(text)


def decode_question(raw: bytes, n_ctx: int) -> str:
    """The question as text, or a UsageError saying what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"the question is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "convert it to UTF-8, e.g. with iconv"
        ) from None
    text = text.lstrip("\ufeff").strip()
    if not text:
        raise UsageError("empty question: pass QUESTION, or '-' to read it from stdin")
    limit = CHARS_PER_CONTEXT_TOKEN * n_ctx
    if len(text) > limit:
        raise UsageError(
            f"the question is too long ({len(text):,} characters; at most {limit:,} fit the "
            f"context window of {n_ctx} tokens): shorten it or raise [llm] n_ctx"
        )
    return text


def shown_question(raw: bytes) -> str:
    """The question for a JSON error line: valid UTF-8 whatever came in (bad bytes as \\xNN)."""
    return raw.decode("utf-8", "backslashreplace").strip()


def error_payload(raw: bytes, exc: LocalGPTError) -> dict[str, Any]:
    """The JSON object `ask --json` and `ask --batch` print for a question that failed."""
    return {"question": shown_question(raw), "error": str(exc), "exit_code": int(exc.exit_code)}
