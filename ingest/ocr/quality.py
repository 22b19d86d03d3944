"""When is a PDF text layer "clearly garbage"? A measurable rule, so `ocr = "auto"` can replace it.

Broken or subset fonts without a ToUnicode map come out of text extraction as `(cid:123)` runs,
private-use code points, U+FFFD or control characters. A page is garbage when, among its
non-space characters (at least MIN_CHARS of them), more than MAX_BAD_SHARE are such characters
(Unicode categories Co, Cn, Cc, Cs, or U+FFFD), or CID tokens make up more than MAX_CID_SHARE of
the text. Punctuation and symbols are not counted against a page: a table of contents is mostly
dot leaders, and it is real text.
"""

from __future__ import annotations

import re
import unicodedata

MIN_CHARS = 20
MAX_BAD_SHARE = 0.3
MAX_CID_SHARE = 0.1
_CID = re.compile(r"\(cid:\d+\)|/uni[0-9A-Fa-f]{4}|/g\d+")


def is_garbage(text: str) -> bool:
    cid_chars = sum(len(m) for m in _CID.findall(text))
    chars = [c for c in text if not c.isspace()]
    if len(chars) < MIN_CHARS:
        return False
    if cid_chars > MAX_CID_SHARE * len(chars):
        return True
    bad = sum(1 for c in chars if c == "\ufffd" or unicodedata.category(c) in ("Co", "Cn", "Cc", "Cs"))
    return bad > MAX_BAD_SHARE * len(chars)
