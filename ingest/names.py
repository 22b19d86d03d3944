"""The name a file is indexed under, for names that are not valid UTF-8.

Linux file names are bytes. One written on an old Latin-1 system ("caf\\xe9.txt") reaches Python
with its bad byte as a lone surrogate, which SQLite, Chroma and JSON all refuse ("surrogates not
allowed"). Such a name is indexed with each bad byte as a `\\xNN` escape: always the same for the
same file, so a re-run finds it unchanged, while reads go through the real name.
"""

from __future__ import annotations

import os


def index_name(path: str) -> str:
    """`path` as valid Unicode: itself when it already is, else with `\\xNN` for each bad byte."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "backslashreplace")
    return path
