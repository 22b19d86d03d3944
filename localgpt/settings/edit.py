"""Set keys of one section in a TOML config file, keeping its comments and layout.

`localgpt models use` writes `[llm] model`; people annotate their config.toml, so the file is
edited with tomlkit (a style-preserving TOML library) rather than re-serialized. The result is
parsed back and checked, so a layout that can't take the edit is refused, never mangled.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from localgpt.errors import ConfigError
from localgpt.settings.atomic import write_atomically
from localgpt.settings.toml_text import decode_config


def set_keys(path: Path, section: str, values: dict[str, str]) -> None:
    """Set string `values` in `[section]` of the TOML file at `path` (created if missing)."""
    try:
        text = decode_config(path.read_bytes(), path) if path.exists() else ""
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        new_text = edit(text, section, values)
        parsed: dict[str, Any] = tomllib.loads(new_text)
        ok = all(parsed.get(section, {}).get(k) == v for k, v in values.items())
    except (TOMLKitError, tomllib.TOMLDecodeError, AttributeError, TypeError):
        ok = False
    if not ok:
        wanted = "\n".join(f"{k} = {tomlkit.string(v).as_string()}" for k, v in values.items())
        raise ConfigError(
            f"cannot edit {path} automatically (its [{section}] section has a layout this edit "
            f"does not handle); set these by hand under [{section}]: {wanted}"
        )
    try:
        write_atomically(path, new_text)
    except OSError as exc:
        raise ConfigError(f"cannot write config file {path}: {exc.strerror}") from None


def edit(text: str, section: str, values: dict[str, str]) -> str:
    """`text` with `values` set under `[section]` (added at the end when missing)."""
    doc = tomlkit.parse(text)
    table = doc.get(section)
    if table is None:
        table = tomlkit.table()
        doc[section] = table
    for key, value in values.items():
        table[key] = value
    return tomlkit.dumps(doc)
