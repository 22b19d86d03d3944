"""Download a sentence-transformers embedder (a folder of files) from the hub.

1. The hub's model API (`/api/models/{repo}/revision/{revision}?blobs=true`) names the commit the
   revision points at and lists its files with the hashes the hub publishes: the LFS sha256 of
   large files (the weights), the git blob sha1 of small ones (configs, tokenizer).
2. Only what sentence-transformers needs is taken: the top-level configs and tokenizer files, the
   module folders' configs (`1_Pooling/config.json`), and one weights file (safetensors when there
   is one). ONNX, OpenVINO, TensorFlow copies and images are left on the hub.
3. Each file is fetched from that commit through `pull.pull` (so resume, time limits and exit
   codes are the GGUF pull's) into `<models_dir>/.<name>.partial/`, and checked against its hash;
   a catalogue sha256 for the weights file must agree with the hub's too.
4. When every file is verified, a marker (`localgpt-pull.json`: entry, repo, commit, hashes) is
   written and the folder renamed to `<models_dir>/<name>/` in one step. An interrupted pull
   keeps the staging folder; the same command resumes it.

The int8 ONNX export is made on first use, offline, like the bundled model's (embed/export.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from localgpt.errors import ModelError, NetworkError, StorageError
from localgpt.models.catalogue import CatalogueEntry, PullSpec
from localgpt.models.embedder_profile import PULLED_MARKER
from localgpt.models.pull import Progress, _get, _host, hub_endpoint, pull

WEIGHTS = ("model.safetensors", "pytorch_model.bin")
TOP_LEVEL = re.compile(r"^[^/]+\.(json|txt|model)$")  # configs, vocab.txt, sentencepiece.bpe.model
MODULE_CONFIG = re.compile(r"^\d+_[A-Za-z]+/[^/]+\.json$")  # 1_Pooling/config.json
REQUIRED = ("config.json", "modules.json")


@dataclass(frozen=True)
class HubFile:
    path: str
    size: int | None
    sha256: str | None  # LFS files
    git_sha1: str | None  # small files: the git blob id

    @property
    def checked(self) -> bool:
        return self.sha256 is not None or self.git_sha1 is not None


@dataclass(frozen=True)
class EmbedderPullResult:
    path: Path
    commit: str
    files: list[str]
    size: int
    already_present: bool = False


def pull_embedder(
    entry: CatalogueEntry,
    models_dir: Path,
    revision: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> EmbedderPullResult:
    """Download `entry` into `<models_dir>/<entry.local_name>/`; see the module docstring."""
    assert entry.repo is not None
    target = models_dir / entry.local_name
    if (target / PULLED_MARKER).is_file() and not force:
        marker = json.loads((target / PULLED_MARKER).read_text(encoding="utf-8"))
        return EmbedderPullResult(target, str(marker.get("commit", "")), [], 0, already_present=True)
    commit, listing = hub_listing(entry.repo, revision or entry.revision or "main")
    files = choose_files(listing, entry)
    staging = models_dir / f".{entry.local_name}.partial"
    if force:
        shutil.rmtree(staging, ignore_errors=True)
    total = sum(f.size or 0 for f in files)
    done_before = 0
    for hub_file in files:
        folder = staging / Path(hub_file.path).parent
        spec = PullSpec(
            repo=entry.repo, file=hub_file.path, revision=commit, sha256=hub_file.sha256, size=hub_file.size
        )

        def report(done: int, _total: int | None, base: int = done_before) -> None:
            if progress:
                progress(base + done, total or None)

        result = pull(spec, folder, progress=report)
        if hub_file.git_sha1 and git_blob_sha1(result.path) != hub_file.git_sha1:
            result.path.unlink(missing_ok=True)
            raise ModelError(
                f"{entry.repo}/{hub_file.path} does not match the hub's hash for it (git blob "
                f"{hub_file.git_sha1}); it was deleted: run the same command again"
            )
        done_before += hub_file.size or result.size
    marker = {
        "name": entry.name,
        "repo": entry.repo,
        "commit": commit,
        "files": {f.path: f.sha256 or f"git-sha1:{f.git_sha1}" for f in files},
    }
    try:
        (staging / PULLED_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        if target.exists():  # --force over an older copy
            shutil.rmtree(target)
        os.replace(staging, target)
    except OSError as exc:
        raise StorageError(f"cannot move the download into {target}: {exc.strerror or exc}") from None
    return EmbedderPullResult(target, commit, [f.path for f in files], total)


def hub_listing(repo: str, revision: str) -> tuple[str, list[HubFile]]:
    """(commit, files with their published hashes) for `repo` at `revision`."""
    url = f"{hub_endpoint()}/api/models/{repo}/revision/{quote(revision, safe='')}?blobs=true"
    response = _get(url, 0)
    with response:
        try:
            info: dict[str, Any] = response.json()
        except ValueError:
            raise NetworkError(f"{_host(url)} did not answer with the model's file list ({url})") from None
    files = []
    for sibling in info.get("siblings") or []:
        lfs = sibling.get("lfs") or {}
        files.append(
            HubFile(
                path=str(sibling["rfilename"]),
                size=lfs.get("size", sibling.get("size")),
                sha256=lfs.get("sha256"),
                git_sha1=None if lfs else sibling.get("blobId"),
            )
        )
    commit = str(info.get("sha") or revision)
    return commit, files


def choose_files(listing: list[HubFile], entry: CatalogueEntry) -> list[HubFile]:
    """What sentence-transformers needs from the repo (see the module docstring)."""
    by_path = {f.path: f for f in listing}
    chosen = [f for f in listing if TOP_LEVEL.match(f.path) or MODULE_CONFIG.match(f.path)]
    weights = next((by_path[w] for w in WEIGHTS if w in by_path), None)
    missing = [name for name in REQUIRED if name not in by_path]
    if weights is None or missing:
        what = ", ".join(missing + ([] if weights else [" or ".join(WEIGHTS)]))
        raise ModelError(f"{entry.repo} is not a sentence-transformers model: it has no {what}")
    if entry.sha256 and weights.path == entry.file and weights.sha256 != entry.sha256:
        raise ModelError(
            f"the hub's {entry.repo}/{weights.path} has sha256 {weights.sha256}, but the catalogue "
            f"expects {entry.sha256}: the file on the hub has changed; nothing was downloaded"
        )
    unchecked = [f.path for f in [*chosen, weights] if not f.checked]
    if unchecked:
        raise ModelError(f"the hub published no hash for {', '.join(unchecked)}; nothing was downloaded")
    return [*chosen, weights]


def git_blob_sha1(path: Path) -> str:
    """The id git gives a file's contents: sha1 of "blob <size>\\0" + the bytes."""
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
