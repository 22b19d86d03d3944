"""How paths and other untrusted text are shown to people.

A file name can hold any byte but '/' and NUL: ESC/OSC sequences that retitle or clear the
terminal, newlines that forge extra output lines, bidi overrides that reorder what is read. Every
name printed for a human goes through `shown()` (or `printable()`); JSON keeps the true name.
"""

from __future__ import annotations

import os
import re

# C0 and C1 controls, DEL, and the invisible format characters that reorder or hide text
# (bidi overrides and isolates, zero-width joiners, the BOM), plus lone surrogates left by
# undecodable bytes: each is shown as a Python-style escape.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as os.fsdecode carries it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` with every control or invisible formatting character escaped (`\\x1b`, `\\n`)."""
    return _UNSAFE.sub(_escape, text)


def shown(path: str) -> str:
    """Paths under the working directory are shown relative to it, others in full; escaped."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        rel = path
    return printable(path if rel.startswith("..") else rel)


def human_size(n: int | None) -> str:
    """Bytes in the unit people read: "1.2 GB"."""
    if n is None:
        return "?"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"
