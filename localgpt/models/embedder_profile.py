"""Which embedder `[embeddings] model` names, where its files are, and how it wants its inputs.

`model` is "auto" (the bundled all-MiniLM-L6-v2), a catalogue name ("multilingual-e5-small",
pulled into `<models_dir>/multilingual-e5-small/`), the hub id of a catalogue embedder, a local
sentence-transformers folder, or a name sentence-transformers finds in its own cache. The
catalogue entry, when there is one, supplies the query and passage prefixes (e5 was trained on
"query: " / "passage: "; BGE's Chinese model on an instruction before each question), so that
nobody has to remember them. Nothing here loads a model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from localgpt.errors import ConfigError, ModelError
from localgpt.models.catalogue import CatalogueEntry, find_entry, load_catalogue
from localgpt.models.files import BUNDLED_EMBEDDER_NAME, resolve_embedder

# Written by `localgpt models pull` into the folder: which catalogue entry and commit it holds.
PULLED_MARKER = "localgpt-pull.json"
BUNDLED_ENTRY = "all-minilm-l6-v2"


@dataclass(frozen=True)
class EmbedderProfile:
    name: str  # recorded in the collection: another name means another vector space
    source: str  # the local folder, or a name for sentence-transformers' cache
    query_prefix: str = ""
    passage_prefix: str = ""
    languages: str = ""  # from the catalogue: "en" means English-only; "" unknown

    @property
    def english_only(self) -> bool:
        return self.languages.strip().lower() == "en"


def resolve_profile(model: str, models_dir: Path | None = None) -> EmbedderProfile:
    """The embedder `model` names; a catalogue name that isn't pulled yet says how to pull it."""
    try:
        entries = load_catalogue(models_dir)
    except ConfigError:  # a broken user catalogue must not stop questions; `models list` reports it
        entries = load_catalogue(None)
    if model == "auto":
        name, source = resolve_embedder(model)
        return _profile(name, source, find_entry(BUNDLED_ENTRY, entries))
    path = Path(model).expanduser()
    if path.exists():
        name, source = resolve_embedder(model)
        return _profile(name, source, _entry_of_folder(path, entries))
    entry = find_entry(model, entries)
    if entry is not None and entry.is_embedder:
        if entry.bundled:
            name, source = resolve_embedder("auto")
            return _profile(name, source, entry)
        folder = (models_dir or Path(".")) / entry.local_name
        if not (folder / PULLED_MARKER).is_file():
            raise ModelError(
                f"embedder '{entry.name}' is not downloaded ({folder}); "
                f"run `localgpt models pull {entry.name}` (the one command that uses the network)"
            )
        return _profile(entry.local_name, str(folder.resolve()), entry)
    name, source = resolve_embedder(model)
    return EmbedderProfile(name, source)


def _profile(name: str, source: str, entry: CatalogueEntry | None) -> EmbedderProfile:
    if entry is None:
        return EmbedderProfile(name, source)
    return EmbedderProfile(name, source, entry.query_prefix, entry.passage_prefix, entry.languages)


def _entry_of_folder(folder: Path, entries: list[CatalogueEntry]) -> CatalogueEntry | None:
    """A folder's catalogue entry: the one `models pull` recorded, else one of the folder's name."""
    try:
        recorded = json.loads((folder / PULLED_MARKER).read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        recorded = None
    entry = find_entry(str(recorded or folder.name), entries)
    if entry is None and folder.name == BUNDLED_EMBEDDER_NAME:
        entry = find_entry(BUNDLED_ENTRY, entries)
    return entry if entry is not None and entry.is_embedder else None
