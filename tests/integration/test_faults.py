"""Faults: a read-only or full data dir, a corrupt manifest, a corrupt Chroma folder.

Each gives exit 10 and one line that says what is wrong and what to do, and none of them costs the
index: what was committed before is still there, and the next run (or `ingest --rebuild`, for
damage) completes it. SIGKILL trials are in test_ingest_crash.py.

Faults are made two ways. Injected, always: the lowest Python call that writes (Chroma's
`Collection.upsert`, the manifest's SQLite connection) raises what a bad disk raises, inside the
real CLI run in a subprocess. Real, where this machine allows mounts (root in a private mount
namespace, as here): a read-only bind mount and a 3 MB tmpfs that fills up mid-ingest. The mounts
live in the namespace of the one command, so nothing outlives it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from chromadb.api.client import SharedSystemClient

from localgpt.errors import ExitCode
from localgpt.index.manifest import Manifest
from tests.conftest import EXAMPLES, ROOT, run_cli
from tests.helpers import Index, assert_consistent, copy_index, python_docs_corpus, read_index

QUESTION = "How much water does the Aurora K7 water tank hold?"

# Runs the real CLI after arming one fault. argv: FAULT, then the localgpt arguments.
DRIVER = r"""
import errno, os, sqlite3, sys

fault, argv = sys.argv[1], sys.argv[2:]

def failing_sqlite(message, prefixes):
    real_connect = sqlite3.connect

    class Connection:
        def __init__(self, db):
            self._db = db

        def execute(self, sql, *args):
            if sql.lstrip().upper().startswith(prefixes):
                raise sqlite3.OperationalError(message)
            return self._db.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self._db, name)

    def connect(database, *args, **kwargs):
        db = real_connect(database, *args, **kwargs)
        return Connection(db) if str(database).endswith("manifest.sqlite") else db

    sqlite3.connect = connect

def failing_upsert(code):
    from chromadb.api.models.Collection import Collection

    def upsert(self, *args, **kwargs):
        raise OSError(code, os.strerror(code))

    Collection.upsert = upsert

if fault == "store-erofs":
    failing_upsert(errno.EROFS)
elif fault == "store-enospc":
    failing_upsert(errno.ENOSPC)
elif fault == "manifest-readonly":
    # Its first write (the intent log) fails, as SQLite fails on a read-only file.
    failing_sqlite("attempt to write a readonly database", ("INSERT", "DELETE", "BEGIN", "UPDATE"))
elif fault == "manifest-full":
    # The commit fails after the chunks are stored: the worst moment.
    failing_sqlite("database or disk is full", ("INSERT OR REPLACE INTO FILES",))
else:
    raise SystemExit(f"unknown fault {fault}")

from localgpt.cli import main
sys.exit(main(argv))
"""


@pytest.fixture
def pristine(examples_index: Path) -> Path:
    return examples_index


@pytest.fixture
def index(pristine: Path, data_dir: Path) -> Path:
    return copy_index(pristine, data_dir)


@pytest.fixture
def extra(tmp_path: Path) -> Path:
    """Two new documents: ingesting them writes to the store and the manifest."""
    folder = tmp_path / "extra"
    folder.mkdir()
    (folder / "pump.txt").write_text(
        "The Zephyr 3000 garden pump moves 40 litres per minute and weighs 6 kilograms.\n", encoding="utf-8"
    )
    (folder / "kettle.md").write_text(
        "# Kettle\n\nThe Boreal kettle boils 1.7 litres in four minutes.\n", encoding="utf-8"
    )
    return folder


def state(data_dir: Path) -> tuple[Index, list[str]]:
    """The index as read in-process, and the manifest's intent log (files mid-write)."""
    index = read_index(data_dir)
    manifest = Manifest(data_dir / "manifest.sqlite", "documents")
    try:
        pending = manifest.pending()
    finally:
        manifest.close()
    return index, pending


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("localgpt: error: ")
    return lines[0]


def with_fault(fault: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", DRIVER, fault, *argv],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


# --- read-only and full, injected -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("store-erofs", "is read-only; make it writable"),
        ("store-enospc", "is full"),
        ("manifest-readonly", "is read-only; make it writable"),
    ],
)
def test_write_fault_before_any_write_leaves_the_index_as_it_was(
    index: Path, extra: Path, fault: str, words: str
) -> None:
    before, _ = state(index)
    proc = with_fault(fault, "--data-dir", str(index), "ingest", str(extra), "-q")
    assert proc.returncode == ExitCode.STORAGE, proc.stderr
    line = one_error_line(proc)
    assert words in line
    assert "--rebuild" not in line  # the index is fine: rebuilding would not help
    after, pending = state(index)
    assert after.ids == before.ids and after.texts == before.texts
    assert after.manifest == before.manifest
    # At most the intent-log row of the file being written, which the next run clears.
    assert len(pending) <= 1 and all(path.startswith(str(extra)) for path in pending)

    # With the fault gone, the same command completes.
    proc = run_cli("--data-dir", str(index), "ingest", str(extra), "--json")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert len(json.loads(proc.stdout)["added"]) == 2
    healed, pending = state(index)
    assert pending == []
    assert_consistent(healed)


def test_full_disk_at_the_manifest_commit_keeps_the_committed_index(index: Path, extra: Path) -> None:
    before, _ = state(index)
    proc = with_fault("manifest-full", "--data-dir", str(index), "ingest", str(extra), "-q")
    assert proc.returncode == ExitCode.STORAGE, proc.stderr
    line = one_error_line(proc)
    assert "database or disk is full" in line and "is full" in line and "free some space" in line
    after, pending = state(index)
    # The chunks of the file being committed are stored, but its manifest row never was: it
    # is in the intent log, and the committed index is exactly as it was.
    assert after.manifest == before.manifest
    assert len(pending) == 1 and pending[0].startswith(str(extra))
    assert set(before.ids) <= set(after.ids)
    assert {after.metas[i]["source"] for i in set(after.ids) - set(before.ids)} <= set(pending)
    assert all(after.texts[i] == before.texts[i] for i in before.ids)

    proc = run_cli("--data-dir", str(index), "ingest", str(extra), "--json")
    assert proc.returncode == ExitCode.OK, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["recovered"] == 1 and len(summary["added"]) == 2
    healed, pending = state(index)
    assert pending == []
    assert_consistent(healed)


# --- read-only and full, for real ---------------------------------------------------------------


def _can_mount() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs tmpfs /mnt"],
        capture_output=True,
    )
    return probe.returncode == 0


CAN_MOUNT = _can_mount()
needs_mount = pytest.mark.skipif(not CAN_MOUNT, reason="needs root and mount(2) (unshare --mount)")


def in_mount_namespace(
    setup: str, argv: list[str], after: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`localgpt ARGV` in a private mount namespace: `setup` mounts, `after` runs when it ends."""
    script = f'set -e; {setup}; set +e; "$@"; rc=$?; {after or ":"}; exit $rc'
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
         sys.executable, "-m", "localgpt", *argv],
        capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})},
    )  # fmt: skip


@needs_mount
def test_read_only_data_dir_for_real(index: Path, extra: Path) -> None:
    before, _ = state(index)
    ro = f"mount --bind {index} {index} && mount -o remount,bind,ro {index}"
    for argv, shown in (
        (["ingest", str(extra), "-q"], f"cannot write to {index}/locks"),
        (["ingest", "--rebuild", str(extra), "-q"], f"cannot write to {index}/locks"),
    ):
        proc = in_mount_namespace(ro, ["--data-dir", str(index), *argv])
        assert proc.returncode == ExitCode.STORAGE, (argv, proc.stderr)
        line = one_error_line(proc)
        assert shown in line, line
        assert "--rebuild" not in line

    # Reading works: before, `ask` and `sources` exited 10, and doctor called the manifest damaged.
    env = {"LOCALGPT_LLM__MAX_TOKENS": "16"}
    proc = in_mount_namespace(ro, ["--data-dir", str(index), "ask", "--json", QUESTION], env=env)
    assert proc.returncode == ExitCode.OK, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["sources"] and any("1.8" in s["text"] for s in payload["sources"])
    proc = in_mount_namespace(ro, ["--data-dir", str(index), "sources"])
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert all(path in proc.stdout for path in before.manifest)
    proc = in_mount_namespace(ro, ["--data-dir", str(index), "doctor", "--json"])
    report = json.loads(proc.stdout)
    index_checks = {c["name"]: c for c in report["checks"] if c["section"] == "index"}
    assert proc.returncode == ExitCode.OK, index_checks
    assert {index_checks[n]["status"] for n in ("manifest", "chroma", "consistency")} == {"ok"}
    assert index_checks["writable"]["status"] == "warn" and "read-only" in index_checks["writable"]["detail"]
    assert not any("--rebuild" in c["fix"] or "damaged" in c["detail"] for c in index_checks.values())
    assert not list(Path(tempfile.gettempdir()).glob("localgpt-readonly-index-*"))  # the copy is gone

    after, pending = state(index)
    assert after.ids == before.ids and after.texts == before.texts and after.manifest == before.manifest
    assert pending == [] and not list(index.glob("*.broken-*"))


@pytest.mark.slow
@needs_mount
def test_full_disk_for_real(index: Path, tmp_path: Path) -> None:
    """A 3 MB tmpfs: the examples index fits, the ~1,000 chunks of the Python reference do not."""
    docs = python_docs_corpus(tmp_path / "python-docs")
    before, _ = state(index)
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    proc = in_mount_namespace(
        f"mount -t tmpfs -o size=3m tmpfs {disk} && cp -a {index}/. {disk}/",
        ["--data-dir", str(disk), "ingest", str(docs), "-q"],
        after=f"cp -a {disk}/. {out}/",
    )
    assert proc.returncode == ExitCode.STORAGE, proc.stderr
    line = one_error_line(proc)
    assert "is full" in line and "MB free" in line and "free some space" in line, line
    assert "--rebuild" not in line

    # Read back on a real disk: it opens, and everything committed is intact.
    after, pending = state(out)
    assert len(pending) <= 1
    assert set(before.ids) <= set(after.ids)
    assert all(after.texts[i] == before.texts[i] for i in before.ids)
    committed = {cid for rec in after.manifest.values() for cid in rec.chunk_ids}
    assert committed <= set(after.ids), "a committed file lost chunks"
    assert set(after.manifest) - set(before.manifest) <= {str(p) for p in docs.rglob("*")}

    # With room again, the same command completes, and the result is consistent.
    proc = run_cli("--data-dir", str(out), "ingest", str(docs), "--json")
    assert proc.returncode == ExitCode.OK, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["files_total"] == 7 + len(list(docs.rglob("*.txt")))
    healed, pending = state(out)
    assert pending == []
    assert_consistent(healed)


# --- damage: doctor reports it, --rebuild recovers --------------------------------------------------


GARBAGE = b"\0this is not a database"


def _garbage(path: Path) -> None:
    for extra in ("-wal", "-shm", "-journal"):
        path.with_name(path.name + extra).unlink(missing_ok=True)
    path.write_bytes(GARBAGE * 4096)


def _assert_rebuilt(index: Path, pristine_ids: list[str], moved: str) -> subprocess.CompletedProcess[str]:
    proc = run_cli("--data-dir", str(index), "ingest", "--rebuild", str(EXAMPLES), "--json")
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"moved it to {index / moved}.broken-" in proc.stderr
    summary = json.loads(proc.stdout)
    assert len(summary["added"]) == 7 and summary["files_total"] == 7
    rebuilt = read_index(index)
    assert_consistent(rebuilt)
    assert rebuilt.ids == pristine_ids  # chunk ids are stable: the same as the first ingest's
    doctor = run_cli("--data-dir", str(index), "doctor", "--json")
    assert json.loads(doctor.stdout)["failures"] == 0, doctor.stdout
    return proc


def test_corrupt_manifest_is_reported_and_rebuild_recovers(index: Path) -> None:
    pristine_ids = read_index(index).ids
    manifest = index / "manifest.sqlite"
    _garbage(manifest)
    for argv in (
        ["ask", QUESTION],
        ["sources"],
        ["ingest", str(EXAMPLES), "-q"],
        ["forget", str(EXAMPLES / "faq.txt")],
    ):
        proc = run_cli("--data-dir", str(index), *argv)
        assert proc.returncode == ExitCode.STORAGE, (argv, proc.stderr)
        line = one_error_line(proc)
        assert f"manifest {manifest} is unreadable" in line and "ingest --rebuild" in line, line

    doctor = run_cli("--data-dir", str(index), "doctor")
    assert doctor.returncode == ExitCode.STORAGE
    assert any(row.strip().startswith("fail") and "manifest" in row for row in doctor.stdout.splitlines()), (
        doctor.stdout
    )

    _assert_rebuilt(index, pristine_ids, "manifest.sqlite")
    kept = list(index.glob("manifest.sqlite.broken-*"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(GARBAGE)  # kept, not deleted


def test_corrupt_chroma_is_reported_and_rebuild_recovers(index: Path) -> None:
    pristine_ids = read_index(index).ids
    SharedSystemClient.clear_system_cache()
    _garbage(index / "chroma" / "chroma.sqlite3")
    for argv in (["ask", QUESTION], ["ingest", str(EXAMPLES), "-q"]):
        proc = run_cli("--data-dir", str(index), *argv)
        assert proc.returncode == ExitCode.STORAGE, (argv, proc.stderr)
        line = one_error_line(proc)
        assert f"cannot open the index in {index / 'chroma'}" in line and "ingest --rebuild" in line

    doctor = run_cli("--data-dir", str(index), "doctor")
    assert doctor.returncode == ExitCode.STORAGE
    assert any(row.strip().startswith("fail") and "chroma" in row for row in doctor.stdout.splitlines()), (
        doctor.stdout
    )

    _assert_rebuilt(index, pristine_ids, "chroma")
    (kept,) = index.glob("chroma.broken-*")
    assert (kept / "chroma.sqlite3").read_bytes().startswith(GARBAGE)
