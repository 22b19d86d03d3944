"""JSON and JSON Lines: the scalar fields of each record as "key.path: value" lines."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

from langchain_core.documents import Document

from ingest.loaders.base import make_doc
from ingest.loaders.sniff import open_text, read_text
from localgpt.errors import LoaderError


def load_json(path: pathlib.Path) -> list[Document]:
    records: list[tuple[str, int | None]]  # (text, row)
    try:
        data = json.loads(read_text(path))
        if isinstance(data, list):
            records = [(_text(item), number) for number, item in enumerate(data, 1)]
        else:
            records = [(_text(data), None)]
    except json.JSONDecodeError as exc:
        raise LoaderError(f"invalid json: {exc}") from exc
    except RecursionError as exc:
        raise LoaderError("invalid json: nested too deeply") from exc
    return [make_doc(text, path, "json", row=row) for text, row in records if text.strip()]


def load_jsonl(path: pathlib.Path) -> list[Document]:
    docs = []
    with open_text(path) as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                text = _text(json.loads(line))
            except json.JSONDecodeError as exc:
                raise LoaderError(f"invalid json: line {number}: {exc}") from exc
            except RecursionError as exc:
                raise LoaderError(f"invalid json: line {number}: nested too deeply") from exc
            if text.strip():
                docs.append(make_doc(text, path, "json", row=number))
    return docs


def _text(value: object) -> str:
    return "\n".join(f"{key}: {item}" if key else item for key, item in _fields(value, ""))


def _fields(value: object, key: str) -> Iterator[tuple[str, str]]:
    """(dotted key, value) for every string, number and boolean, depth first.

    List items keep their parent's key: "tags: a", "tags: b" reads better than indices.
    """
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _fields(item, f"{key}.{name}" if key else str(name))
    elif isinstance(value, list):
        for item in value:
            yield from _fields(item, key)
    elif isinstance(value, bool):
        yield key, "true" if value else "false"
    elif isinstance(value, str | int | float) and str(value).strip():
        yield key, str(value)
