"""Set keys of one section in a TOML config file, keeping everything else byte for byte.

`localgpt models use` writes `[llm] model`; people annotate their config.toml, so a rewrite by a
TOML serializer (which would drop the comments) is not acceptable. The edit is line-based: replace
the key's line inside the section (keeping its indentation and trailing comment), or add the key
at the end of the section, or add the section. The result is parsed back and checked, so a layout
this can't handle (a dotted `llm.model = ...` key, an inline table) is refused, never mangled.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from localgpt.errors import ConfigError
from localgpt.settings.toml_text import decode_config

_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")


def toml_string(value: str) -> str:
    # JSON's string escapes are all valid in a TOML basic string.
    return json.dumps(value, ensure_ascii=False)


def _split_comment(rest: str) -> tuple[str, str]:
    """'"x" # note' -> ('"x"', ' # note'): the first '#' after which the value still parses."""
    for match in re.finditer("#", rest):
        value = rest[: match.start()]
        try:
            tomllib.loads(f"x = {value}")
        except tomllib.TOMLDecodeError:
            continue
        return value.rstrip(), rest[len(value.rstrip()) :]
    return rest.rstrip(), ""


def set_keys(path: Path, section: str, values: dict[str, str]) -> None:
    """Set string `values` in `[section]` of the TOML file at `path` (created if missing)."""
    try:
        text = decode_config(path.read_bytes(), path) if path.exists() else ""
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    new_text = edit(text, section, values)
    try:
        parsed: dict[str, Any] = tomllib.loads(new_text)
        ok = all(parsed.get(section, {}).get(k) == v for k, v in values.items())
    except (tomllib.TOMLDecodeError, AttributeError):
        ok = False
    if not ok:
        wanted = "\n".join(f"{k} = {toml_string(v)}" for k, v in values.items())
        raise ConfigError(
            f"cannot edit {path} automatically (its [{section}] section has a layout this edit "
            f"does not handle); set these by hand under [{section}]: {wanted}"
        )
    _write_atomically(path, new_text)


def edit(text: str, section: str, values: dict[str, str]) -> str:
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _is_header(line, section)), None)
    if start is None:
        block = "".join(f"{k} = {toml_string(v)}\n" for k, v in values.items())
        if not text.strip():
            return f"{text}[{section}]\n{block}"
        prefix = "" if text.endswith("\n") else "\n"
        return f"{text}{prefix}\n[{section}]\n{block}"
    end = next((i for i in range(start + 1, len(lines)) if _ANY_HEADER.match(lines[i])), len(lines))
    missing = dict(values)
    for i in range(start + 1, end):
        match = re.match(r"^(\s*)([A-Za-z0-9_-]+|\"[^\"]*\")(\s*=\s*)(.*?)(\r?\n)?$", lines[i])
        if not match:
            continue
        key = match.group(2).strip('"')
        if key in missing:
            _, comment = _split_comment(match.group(4))
            newline = match.group(5) or ""
            lines[i] = f"{match.group(1)}{match.group(2)}{match.group(3)}{toml_string(missing.pop(key))}"
            lines[i] += f"{comment}{newline}"
    if missing:
        # After the section's last non-blank line, so its trailing blank lines still separate it.
        last = end - 1
        while last > start and not lines[last].strip():
            last -= 1
        if not lines[last].endswith("\n"):
            lines[last] += "\n"
        added = [f"{k} = {toml_string(v)}\n" for k, v in missing.items()]
        lines[last + 1 : last + 1] = added
    return "".join(lines)


def _is_header(line: str, section: str) -> bool:
    match = _HEADER.match(line)
    return match is not None and match.group(1).strip().strip('"') == section


def _write_atomically(path: Path, text: str) -> None:
    """Write a sibling temp file and rename it over: a crash never leaves half a config."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"cannot write config file {path}: {exc.strerror}") from None
