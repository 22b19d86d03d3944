"""`localgpt ingest`: bring a collection in step with one or more folders.

Order of writes, per file: mark pending -> upsert chunks -> delete its stale chunks -> commit the
manifest row. A crash at any point leaves either the old version or the new one, never both:
the next run's recovery step removes whatever a pending file left behind.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ingest.names import index_name
from ingest.plan import Plan, Work, make_plan
from ingest.scan import SPECIAL_REASON, WalkRules, scan
from ingest.worker import Failed, Parsed, ParseWorker
from localgpt.errors import ExitCode
from localgpt.index.chunk_ids import chunk_id
from localgpt.index.manifest import FileRecord
from localgpt.settings.display import shown

if TYPE_CHECKING:
    from localgpt.index.store import Store
    from localgpt.rag.resources import Resources

# Reasons that mean "not a document" rather than "a document we failed to read".
IGNORED_REASONS = ("binary file", SPECIAL_REASON)
# Chunks embedded together: across small files, so batches are full and length-sorted.
EMBED_WINDOW = 256


class Reporter(Protocol):
    def planned(self, plan: Plan, chunks_before: int) -> None: ...
    def file_done(self, path: str, status: str, chunks: int) -> None: ...
    def file_skipped(self, path: str, reason: str) -> None: ...


@dataclass
class Summary:
    collection: str
    roots: list[str]
    dry_run: bool = False
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0
    files_total: int = 0
    chunks_total: int = 0
    recovered: int = 0
    elapsed_s: float = 0.0

    @property
    def exit_code(self) -> ExitCode:
        if not self.skipped:
            return ExitCode.OK
        ingested = len(self.added) + len(self.changed) + len(self.moved) + self.unchanged
        return ExitCode.INGEST_PARTIAL if ingested else ExitCode.INGEST_NOTHING

    def as_dict(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "roots": self.roots,
            "dry_run": self.dry_run,
            "added": self.added,
            "changed": self.changed,
            "moved": [{"from": a, "to": b} for a, b in self.moved],
            "removed": self.removed,
            "unchanged": self.unchanged,
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "ignored": [{"path": p, "reason": r} for p, r in self.ignored],
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
            "files_total": self.files_total,
            "chunks_total": self.chunks_total,
            "recovered": self.recovered,
            "elapsed_s": round(self.elapsed_s, 3),
            "exit_code": int(self.exit_code),
        }


class Ingestor:
    """Runs one sync. Heavy parts (store, embedder) load only if there is work for them."""

    def __init__(self, resources: Resources, reporter: Reporter) -> None:
        self.res = resources
        self.settings = resources.settings
        self.manifest = resources.manifest
        self.reporter = reporter

    @property
    def store(self) -> Store:
        return self.res.store(create=True)

    def recover(self) -> int:
        """Finish what a killed run left: drop chunks of files that never got committed."""
        pending = self.manifest.pending()
        if not pending:
            return 0
        for path in pending:
            record = self.manifest.get(path)
            keep = set(record.chunk_ids) if record else set()
            stale = [i for i in self.store.ids_for_source(path) if i not in keep]
            self.store.delete(stale)
            if record and record.chunk_ids:
                present = self.store.fetch(list(record.chunk_ids))["ids"]
                if len(present) != len(record.chunk_ids):
                    self.manifest.remove([path])  # incomplete: the plan will re-add it
            self.manifest.clear_pending(path)
        return len(pending)

    def plan(self, roots: Sequence[Path]) -> tuple[Plan, list[tuple[str, str]]]:
        cfg = self.settings.ingest
        paths = self.settings.paths
        rules = WalkRules(
            exclude=cfg.exclude,
            max_bytes=int(cfg.max_file_mb * 1_048_576),
            follow_symlinks=cfg.follow_symlinks,
            follow_external_symlinks=cfg.follow_external_symlinks,
            protected=(paths.data_dir, paths.models_dir),
        )
        scanned = scan(roots, rules=rules)
        top = [Path(index_name(str(Path(p).absolute()))) for p in roots]
        plan = make_plan(scanned.files, self.manifest.all(), top)
        return plan, scanned.refused + plan.unreadable

    def run(self, roots: Sequence[Path], dry_run: bool = False) -> Summary:
        start = time.monotonic()
        summary = Summary(
            self.settings.store.collection,
            [index_name(str(Path(r).absolute())) for r in roots],
            dry_run=dry_run,
        )
        if not dry_run:
            # Open the collection first: an unreadable index must fail the run, not report
            # every file "unchanged".
            self._check_collection()
            summary.recovered = self.recover()
        plan, refused = self.plan(roots)
        for path, reason in refused:
            self._skip(summary, path, reason)
        summary.unchanged = len(plan.unchanged) + len(plan.touched)
        if plan.writes:
            self._check_collection()
        self.reporter.planned(plan, self.manifest.count()[1])
        if dry_run:
            summary.added = [w.info.path for w in plan.added]
            summary.changed = [w.info.path for w in plan.changed]
            summary.moved = [(old.path, new.info.path) for old, new in plan.moved]
            summary.removed = [rec.path for rec in plan.removed]
        else:
            self._apply(plan, summary)
        summary.files_total, summary.chunks_total = self.manifest.count()
        summary.elapsed_s = time.monotonic() - start
        return summary

    def _check_collection(self) -> None:
        """Fail on an embedder mismatch before any parsing or embedding is spent."""
        from localgpt.errors import NoIndexError

        # A new collection is created, with its embedder recorded, on the first write.
        with contextlib.suppress(NoIndexError):
            self.res.store()

    def _apply(self, plan: Plan, summary: Summary) -> None:
        for rec in plan.removed:
            self._remove(rec, summary)
        to_parse = [new for old, new in plan.moved if not self._move(old, new, summary)]
        for work in plan.touched:
            record = self.manifest.get(work.info.path)
            if record:
                self.manifest.commit_file(_record(work, record.chunk_ids, record.pages))
        reusable = {rec.sha256: rec for rec in self.manifest.all().values()}
        for work in plan.to_parse:
            twin = reusable.get(work.sha256)
            if twin and twin.path != work.info.path and self._copy(twin, work):
                self._record_change(work, plan, summary, len(twin.chunk_ids))
            else:
                to_parse.append(work)
        if to_parse:
            self._parse_and_store(to_parse, plan, summary)

    def _parse_and_store(self, works: list[Work], plan: Plan, summary: Summary) -> None:
        worker = ParseWorker(
            self.res.embedder_source[1],
            self.settings.ingest.chunk_size,
            self.settings.ingest.chunk_overlap,
            self.res.embedder_max_tokens,
            self.settings.ingest.file_timeout_s,
        )
        window: list[Parsed] = []

        def flush() -> None:
            texts = [c[1] for parsed in window for c in parsed.chunks]
            # First use loads the embedder, while the child keeps parsing ahead.
            vectors = self.res.embedder.embed_documents(texts)
            offset = 0
            for parsed in window:
                n = len(parsed.chunks)
                self._store(parsed, vectors[offset : offset + n])
                offset += n
                self._record_change(parsed.work, plan, summary, n)
            window.clear()

        try:
            for result in worker.run(works):
                if isinstance(result, Failed):
                    self._skip(summary, result.work.info.path, result.reason)
                    continue
                window.append(result)
                if sum(len(p.chunks) for p in window) >= EMBED_WINDOW:
                    flush()
            if window:
                flush()
        finally:
            worker.close()

    def _record_change(self, work: Work, plan: Plan, summary: Summary, chunks: int) -> None:
        status = "changed" if work in plan.changed else "added"
        (summary.changed if status == "changed" else summary.added).append(work.info.path)
        summary.chunks_added += chunks
        self.reporter.file_done(work.info.path, status, chunks)

    def _skip(self, summary: Summary, path: str, reason: str) -> None:
        if reason.startswith(IGNORED_REASONS):
            summary.ignored.append((path, reason))
        else:
            summary.skipped.append((path, reason))
        self.reporter.file_skipped(path, reason)

    def _store(self, parsed: Parsed, vectors: list[list[float]]) -> None:
        path = parsed.work.info.path
        ids = [c[0] for c in parsed.chunks]
        texts = [c[1] for c in parsed.chunks]
        metas = [c[2] for c in parsed.chunks]
        self.manifest.mark_pending(path)
        self.store.upsert(ids, vectors, texts, metas)
        keep = set(ids)
        self.store.delete([i for i in self.store.ids_for_source(path) if i not in keep])
        self.manifest.commit_file(_record(parsed.work, ids, parsed.pages))

    def _copy(self, twin: FileRecord, work: Work) -> bool:
        """Reuse the chunks and vectors of identical content indexed under another path."""

        got = self.store.fetch(list(twin.chunk_ids), embeddings=True)
        if len(got["ids"]) != len(twin.chunk_ids):
            return False
        order = {cid: n for n, cid in enumerate(got["ids"])}
        path = work.info.path
        ids, texts, metas, vectors = [], [], [], []
        for index, old_id in enumerate(twin.chunk_ids):
            n = order[old_id]
            ids.append(chunk_id(path, work.sha256, index))
            texts.append(got["documents"][n])
            metas.append({**got["metadatas"][n], "source": path})
            vectors.append(list(got["embeddings"][n]))
        self.manifest.mark_pending(path)
        self.store.upsert(ids, vectors, texts, metas)
        keep = set(ids)
        self.store.delete([i for i in self.store.ids_for_source(path) if i not in keep])
        self.manifest.commit_file(_record(work, ids, twin.pages))
        return True

    def _move(self, old: FileRecord, new: Work, summary: Summary) -> bool:
        """Re-point a renamed file's chunks; False if they are gone and it must be re-parsed."""
        copied = self._copy(old, new)
        self.store.delete(list(old.chunk_ids))
        self.manifest.remove([old.path])
        if copied:
            summary.moved.append((old.path, new.info.path))
            self.reporter.file_done(new.info.path, f"moved from {shown(old.path)}", len(old.chunk_ids))
        else:
            summary.removed.append(old.path)
        return copied

    def _remove(self, rec: FileRecord, summary: Summary) -> None:
        self.store.delete(list(rec.chunk_ids))
        self.store.delete_source(rec.path)
        self.manifest.remove([rec.path])
        summary.removed.append(rec.path)
        summary.chunks_removed += len(rec.chunk_ids)
        self.reporter.file_done(rec.path, "removed", 0)


def _record(work: Work, ids: Sequence[str], pages: int | None) -> FileRecord:
    info = work.info
    return FileRecord(info.path, info.size, info.mtime_ns, work.sha256, tuple(ids), pages)
