"""Compare what is on disk with the manifest: what to add, replace, re-point or remove."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ingest.scan import FileInfo
from localgpt.index.manifest import FileRecord


def sha256_file(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


@dataclass(frozen=True)
class Work:
    info: FileInfo
    sha256: str


@dataclass
class Plan:
    added: list[Work] = field(default_factory=list)
    changed: list[Work] = field(default_factory=list)
    moved: list[tuple[FileRecord, Work]] = field(default_factory=list)  # (old record, new place)
    removed: list[FileRecord] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    touched: list[Work] = field(default_factory=list)  # same content, new mtime: update the stamp
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    @property
    def to_parse(self) -> list[Work]:
        return self.added + self.changed

    @property
    def writes(self) -> bool:
        return bool(self.added or self.changed or self.moved or self.removed or self.touched)


def make_plan(
    files: list[FileInfo],
    known: dict[str, FileRecord],
    roots: list[Path],
) -> Plan:
    """`known` is the whole manifest; only records under `roots` can be removed."""
    plan = Plan()
    on_disk = {info.path for info in files}
    new_files: list[Work] = []
    for info in files:
        record = known.get(info.path)
        if record and record.size == info.size and record.mtime_ns == info.mtime_ns:
            plan.unchanged.append(info.path)  # a stat is all an unchanged file costs
            continue
        try:
            sha = sha256_file(info.open_path)
        except OSError as exc:
            plan.unreadable.append((info.path, (exc.strerror or "unreadable").lower()))
            continue
        work = Work(info, sha)
        if record is None:
            new_files.append(work)
        elif record.sha256 == sha:
            plan.touched.append(work)
        else:
            plan.changed.append(work)

    gone = [rec for path, rec in known.items() if _under(path, roots) and path not in on_disk]
    gone_by_sha: dict[str, list[FileRecord]] = {}
    for rec in gone:
        gone_by_sha.setdefault(rec.sha256, []).append(rec)
    for work in new_files:
        candidates = gone_by_sha.get(work.sha256)
        if candidates:
            plan.moved.append((candidates.pop(), work))
        else:
            plan.added.append(work)
    moved_from = {old.path for old, _ in plan.moved}
    plan.removed = [rec for rec in gone if rec.path not in moved_from]
    return plan


def _under(path: str, roots: list[Path]) -> bool:
    for root in roots:
        top = str(root)
        if path == top or path.startswith(top.rstrip("/") + "/"):
            return True
    return False
