"""The text of a config file, from its bytes: TOML is UTF-8, but editors save other things.

A UTF-8 byte order mark (Notepad's "UTF-8 with BOM") is dropped. UTF-16 and UTF-32 with a byte
order mark are decoded: the mark says which they are. Anything else that is not UTF-8 (Latin-1,
UTF-16 without a mark) can't be told apart reliably, so it is refused with one line that says
how to fix it.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from localgpt.errors import ConfigError

# Longest marks first: UTF-32-LE's mark begins with UTF-16-LE's.
_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_FIX = "save it as UTF-8"


def decode_config(data: bytes, path: Path) -> str:
    for mark, encoding in _MARKS:
        if data.startswith(mark):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise ConfigError(f"config file {path} is not valid {encoding.upper()}; {_FIX}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"config file {path} is not UTF-8 (byte 0x{data[exc.start]:02x} on line {line}; "
            f"Latin-1 or another legacy encoding?); {_FIX}"
        ) from None
    if "\x00" in text:
        raise ConfigError(f"config file {path} holds NUL bytes (UTF-16 without a byte order mark?); {_FIX}")
    return text
