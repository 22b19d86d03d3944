"""Text encodings and text-or-binary guesses for files whose extension says nothing."""

from __future__ import annotations

import codecs
import io
import pathlib
from collections.abc import Iterator

from charset_normalizer import from_bytes

from localgpt.errors import LoaderError

SAMPLE_BYTES = 64 * 1024
STREAM_SAMPLE_BYTES = 1 << 20

_BOMS = (
    (
        codecs.BOM_UTF32_LE,
        "utf-32",
    ),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Control bytes that never show up in text (tab, newlines, form feed and ESC do).
_CONTROL = frozenset(range(32)) - {8, 9, 10, 12, 13, 27}


def bom_encoding(data: bytes) -> str | None:
    return next((name for bom, name in _BOMS if data.startswith(bom)), None)


def detect_encoding(data: bytes, *, truncated: bool = False) -> str | None:
    """The encoding of `data`, or None if it does not look like text.

    UTF-8 is tried first because a detector can mistake short UTF-8 for something
    else. `truncated` says `data` is a sample that may end inside a character.
    """
    if encoding := bom_encoding(data):
        return encoding
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=not truncated)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    results = from_bytes(data)
    best = results.best()
    if best is None:
        return None
    # Short Western European text often scores a hair better as a Baltic or Central
    # European code page ("crème" -> "crčme"). Windows-1252, the usual encoding of
    # unlabelled legacy text, wins when it is nearly as plausible.
    for match in results:
        if "cp1252" in match.could_be_from_charset and match.chaos <= best.chaos + 0.1:
            return "cp1252"
    return best.encoding


def read_text(path: pathlib.Path) -> str:
    """The whole file decoded; LoaderError if no encoding fits."""
    data = path.read_bytes()
    encoding = detect_encoding(data)
    if encoding is None:
        raise LoaderError("unknown text encoding")
    return data.decode(encoding, errors="replace")


def file_encoding(path: pathlib.Path) -> str | None:
    """The encoding of a whole file, read in blocks rather than into memory.

    UTF-8 is checked over every byte (cheap); anything else is guessed from the first MiB.
    """
    with path.open("rb") as fh:
        head = fh.read(STREAM_SAMPLE_BYTES)
        if encoding := bom_encoding(head):
            return encoding
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            decoder.decode(head)
            while block := fh.read(STREAM_SAMPLE_BYTES):
                decoder.decode(block)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
    return detect_encoding(head, truncated=True)


def iter_text_blocks(path: pathlib.Path, block_chars: int) -> Iterator[str]:
    """The decoded file in pieces of about `block_chars`, each cut after a line end where
    there is one, so memory stays flat however big the file is."""
    encoding = file_encoding(path)
    if encoding is None:
        raise LoaderError("unknown text encoding")
    carry = ""
    with path.open(encoding=encoding, errors="replace", newline="") as fh:
        while block := fh.read(block_chars):
            text = carry + block
            cut = _line_end(text, len(text) // 2)
            carry = text[cut:]
            yield text[:cut]
    if carry:
        yield carry


def _line_end(text: str, start: int) -> int:
    """Just past the last paragraph break after `start`, else the last line end, else the end."""
    for mark in ("\n\n", "\n"):
        at = text.rfind(mark, start)
        if at != -1:
            return at + len(mark)
    return len(text)


def open_text(path: pathlib.Path) -> io.TextIOWrapper:
    """A streaming text reader whose encoding is guessed from the first 64 KiB."""
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    encoding = detect_encoding(sample, truncated=len(sample) == SAMPLE_BYTES)
    if encoding is None:
        raise LoaderError("unknown text encoding")
    # errors="replace": a stray bad byte past the sample must not lose the whole file.
    return path.open(encoding=encoding, errors="replace", newline="")


def looks_binary(sample: bytes) -> bool:
    """Guess from the first bytes of a file whether it is binary."""
    if not sample or bom_encoding(sample) in ("utf-16", "utf-32"):
        return False  # UTF-16/32 text is full of NULs but is still text
    if b"\x00" in sample:
        return True
    controls = sum(1 for byte in sample if byte in _CONTROL)
    return controls / len(sample) > 0.1
