"""Team mode: two machines, one collection in a real `chroma run`, one share under two paths.

Two data dirs stand for two laptops; the share (a copy of examples/docs) is reached through two
symlinked roots, as one NFS export is mounted at different places, and each machine sets
`[store] source_root` to its own mount. The manifest lives in the server
(localgpt/index/shared_manifest.py), so what one machine indexes the other sees.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from localgpt.errors import ExitCode
from localgpt.models.files import bundled_llm_path
from tests.conftest import EXAMPLES, run_cli
from tests.helpers import chroma_run, clean_env


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real Chroma server on 127.0.0.1, stopped after the module."""
    with chroma_run(tmp_path_factory.mktemp("chroma-team")) as url:
        yield url


@dataclass
class Machine:
    data: Path
    mount: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli("--data-dir", str(self.data), *args, env=self.env)

    def ingest(self, expect: int = ExitCode.OK) -> dict[str, Any]:
        proc = self.run("ingest", str(self.mount), "--json")
        assert proc.returncode == expect, proc.stderr
        summary: dict[str, Any] = json.loads(proc.stdout)
        return summary

    def sources(self) -> dict[str, int]:
        proc = self.run("sources", "--json")
        assert proc.returncode == ExitCode.OK, proc.stderr
        return {f["source"]: f["chunks"] for f in json.loads(proc.stdout)["files"]}


@pytest.fixture
def team(tmp_path: Path, embedder_cache: Path, chroma_url: str) -> tuple[Machine, Machine]:
    share = tmp_path / "share"
    shutil.copytree(EXAMPLES, share)
    collection = f"team-{tmp_path.name[-20:].strip('_-') or 'x'}".replace("_", "-")
    machines = []
    for name in ("a", "b"):
        mount = tmp_path / f"mnt-{name}"
        mount.symlink_to(share, target_is_directory=True)
        data = tmp_path / f"data-{name}"
        data.mkdir()
        (data / "embedders").symlink_to(embedder_cache, target_is_directory=True)
        env = {
            **clean_env(tmp_path / f"home-{name}"),
            "LOCALGPT_STORE__URL": chroma_url,
            "LOCALGPT_STORE__COLLECTION": collection,
            "LOCALGPT_STORE__SOURCE_ROOT": str(mount),
            "OMP_WAIT_POLICY": "PASSIVE",
        }
        machines.append(Machine(data, mount, env))
    return machines[0], machines[1]


def test_second_machine_sees_the_first_and_the_first_sees_its_changes(team: tuple[Machine, Machine]) -> None:
    a, b = team
    first = a.ingest()
    assert len(first["added"]) == 7
    on_a = a.sources()
    assert sorted(on_a) == sorted(str(a.mount / p.name) for p in EXAMPLES.iterdir())

    # B reaches the same files through its own mount: nothing to do, nothing embedded.
    second = b.ingest()
    assert (second["added"], second["changed"], second["removed"]) == ([], [], [])
    assert second["chunks_added"] == 0
    assert second["unchanged"] == 7
    assert b.sources() == {str(b.mount / Path(p).name): n for p, n in on_a.items()}

    # B edits one file and deletes another; A's view follows.
    faq = b.mount / "faq.txt"
    added = "\nQ: What colour is the descaling light?\nA: The descaling light is violet.\n"
    faq.write_text(faq.read_text() + added)
    (b.mount / "warranty.md").unlink()
    third = b.ingest()
    assert third["changed"] == [str(faq)] and third["removed"] == [str(b.mount / "warranty.md")]
    after = a.sources()
    assert str(a.mount / "warranty.md") not in after and len(after) == 6
    # A's own re-sync agrees: nothing left to do.
    again = a.ingest()
    assert (again["added"], again["changed"], again["removed"]) == ([], [], [])

    found = a.run("search", "What colour is the descaling light?", "--json", "-k", "3")
    assert found.returncode == ExitCode.OK, found.stderr
    sources = [s["source"] for s in json.loads(found.stdout)["sources"]]
    assert sources[0] == str(a.mount / "faq.txt")  # A's own path for B's edit
    assert not any(s.endswith("warranty.md") for s in sources)
    if bundled_llm_path() is not None:
        asked = a.run("ask", "--json", "What colour is the descaling light?")
        assert asked.returncode == ExitCode.OK, asked.stderr
        cited = [s["source"] for s in json.loads(asked.stdout)["sources"]]
        # What the small model writes is its own affair; what it was given is B's edit, by A's path.
        assert cited[0] == str(a.mount / "faq.txt")
        assert not any(s.endswith("warranty.md") for s in cited)


# ---- writers across machines ---------------------------------------------------------------------


def chunk_ids_in_server(url: str, collection: str) -> list[str]:
    import chromadb

    host, port = url.rsplit(":", 1)
    client = chromadb.HttpClient(host=host.split("//")[1], port=int(port))
    return list(client.get_collection(collection).get(include=[])["ids"])


def lease_of(url: str, collection: str) -> dict[str, Any] | None:
    import chromadb

    from localgpt.index.shared_manifest import companion_name

    host, port = url.rsplit(":", 1)
    client = chromadb.HttpClient(host=host.split("//")[1], port=int(port))
    try:
        got = client.get_collection(companion_name(collection)).get(ids=["lease"], include=["metadatas"])
    except Exception:
        return None
    return dict(got["metadatas"][0]) if got["ids"] else None


def assert_one_clean_index(machine: Machine, files: int) -> None:
    """The collection holds exactly the chunks the shared manifest lists, each once."""
    listed = machine.sources()
    assert len(listed) == files
    url, collection = machine.env["LOCALGPT_STORE__URL"], machine.env["LOCALGPT_STORE__COLLECTION"]
    ids = chunk_ids_in_server(url, collection)
    assert len(ids) == len(set(ids)) == sum(listed.values())


def spawn_ingest(machine: Machine, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "localgpt", "--data-dir", str(machine.data), "ingest", str(machine.mount),
         "--json", *args],
        env={**machine.env, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def test_concurrent_ingests_from_two_machines_end_in_one_clean_ingest(team: tuple[Machine, Machine]) -> None:
    a, b = team
    procs = [spawn_ingest(m, "--wait", "600") for m in (a, b)]
    results = [p.communicate(timeout=900) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == ExitCode.OK, err
    summaries = [json.loads(out) for out, _ in results]
    # One did the work under the lease; the other then found every file unchanged.
    assert sorted(len(s["added"]) for s in summaries) == [0, 7]
    assert sorted(s["chunks_added"] for s in summaries)[0] == 0
    assert_one_clean_index(a, 7)
    assert lease_of(a.env["LOCALGPT_STORE__URL"], a.env["LOCALGPT_STORE__COLLECTION"]) is None


@pytest.mark.slow
def test_a_busy_lease_refuses_a_writer_not_a_reader_and_a_killed_writers_lease_expires(
    team: tuple[Machine, Machine],
) -> None:
    import os
    import signal
    import time

    from tests.helpers import python_docs_corpus

    a, b = team
    python_docs_corpus(a.mount / "python")  # enough work that A is still writing when B comes
    url, collection = a.env["LOCALGPT_STORE__URL"], a.env["LOCALGPT_STORE__COLLECTION"]
    writer = spawn_ingest(a, LOCALGPT_STORE__LEASE_S="8")
    try:
        deadline = time.monotonic() + 180
        while lease_of(url, collection) is None:
            assert writer.poll() is None, writer.communicate()[1]
            assert time.monotonic() < deadline, "A never took the lease"
            time.sleep(0.2)
        refused = b.run("ingest", str(b.mount))
        assert refused.returncode == ExitCode.BUSY, refused.stderr
        assert refused.stderr.strip().count("\n") == 0 and "another ingest" in refused.stderr
        assert "pid" in refused.stderr
        assert b.run("sources", "--json").returncode == ExitCode.OK  # readers never wait
        assert writer.poll() is None, "A finished too soon for the kill -9 half of the test"
        os.killpg(writer.pid, signal.SIGKILL)
        writer.wait()
    finally:
        if writer.poll() is None:
            os.killpg(writer.pid, signal.SIGKILL)
            writer.wait()
    assert lease_of(url, collection) is not None  # nobody released it: it can only expire
    done = b.run("ingest", str(b.mount), "--json", "--wait", "120")
    assert done.returncode == ExitCode.OK, done.stderr
    assert_one_clean_index(b, 7 + 79)
