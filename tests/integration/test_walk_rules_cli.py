"""`localgpt ingest` keeps out what is not the user's documents: files reached through symlinks that
leave the folder, special files, its own data and models folders, VCS folders, virtualenvs and
whatever the ignore patterns name. Real files, real symlinks, real Chroma, the real embedder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from localgpt.errors import ExitCode
from tests.conftest import run_cli
from tests.integration.test_ingest_sync import assert_consistent, ingest, read_index

SECRET = "TOPSECRET-7f3a9 the vault opens with 4471"


def secret_folder(tmp_path: Path) -> tuple[Path, Path]:
    """docs/ holds a note and links to a secret in another folder; returns (docs, the secret)."""
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "folder").mkdir(parents=True)
    secret = elsewhere / "secret.txt"
    secret.write_text(f"Vault memo. {SECRET}.\n")
    (elsewhere / "folder" / "more.txt").write_text(f"Another copy: {SECRET}.\n")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.md").write_text("# Notes\n\nThe Boreal kettle boils 1.7 litres in four minutes.\n")
    (docs / "shadow.txt").symlink_to(secret)
    (docs / "linked").symlink_to(elsewhere / "folder", target_is_directory=True)
    (docs / "kernel.txt").symlink_to("/proc/self/environ")
    os.mkfifo(docs / "pipe.txt")
    return docs, secret


def reasons(summary: dict[str, object]) -> dict[str, str]:
    rows = summary["skipped"] + summary["ignored"]  # type: ignore[operator]
    return {Path(row["path"]).name: row["reason"] for row in rows}


def test_a_symlink_to_a_secret_outside_stays_out_of_the_index(data_dir: Path, tmp_path: Path) -> None:
    docs, _ = secret_folder(tmp_path)
    summary = ingest(data_dir, str(docs), expect=ExitCode.INGEST_PARTIAL)
    assert summary["added"] == [str(docs / "notes.md")]
    assert reasons(summary) == {
        "shadow.txt": "symlink outside the folder",
        "linked": "symlink outside the folder",
        "kernel.txt": "symlink into /proc",
        "pipe.txt": "not a regular file (fifo)",
    }
    index = read_index(data_dir)
    assert_consistent(index)
    assert index.texts, "the note was indexed"
    assert not [text for text in index.texts.values() if SECRET in text]


def test_following_outside_links_takes_a_flag_or_the_config_key(data_dir: Path, tmp_path: Path) -> None:
    docs, _ = secret_folder(tmp_path)
    config = tmp_path / "opt-in.toml"
    config.write_text("[ingest]\nfollow_external_symlinks = true\nfollow_symlinks = true\n")
    planned = run_cli("--config", str(config), "--data-dir", str(data_dir), "ingest", str(docs), "--dry-run",
                      "--json")  # fmt: skip
    plan = json.loads(planned.stdout)
    assert sorted(Path(p).name for p in plan["added"]) == ["more.txt", "notes.md", "shadow.txt"]
    assert reasons(plan)["kernel.txt"] == "symlink into /proc"  # never, opted in or not

    summary = ingest(data_dir, str(docs), "--follow-external-symlinks", expect=ExitCode.INGEST_PARTIAL)
    assert sorted(Path(p).name for p in summary["added"]) == ["notes.md", "shadow.txt"]
    assert any(SECRET in text for text in read_index(data_dir).texts.values())


def make_project(root: Path, embedder_cache: Path) -> None:
    """A repo-like folder with localgpt's config, data dir and models dir inside it."""
    (root / "docs" / "sub").mkdir(parents=True)
    (root / "docs" / "guide.md").write_text("# Guide\n\nThe Aurora K7 descales every 90 days.\n")
    (root / "docs" / "sub" / "notes.md").write_text("# Notes\n\nThe tank holds 1.8 litres.\n")
    (root / "docs" / "sub" / "private.md").write_text("# Private\n\nNot for the index.\n")
    (root / "docs" / "sub" / ".localgptignore").write_text("private.md\n")
    (root / "scratch.tmp").write_text("temporary\n")
    (root / "debug.log").write_text("log line\n")
    (root / ".localgptignore").write_text("*.log\n")
    (root / "config.toml").write_text(
        '[paths]\ndata_dir = "data"\nmodels_dir = "models"\n\n'
        '[ingest]\nexclude = ["*.tmp", "node_modules/"]\n'
    )
    data = root / "data"
    data.mkdir()
    (data / "embedders").symlink_to(embedder_cache, target_is_directory=True)
    (root / "models").mkdir()
    (root / "models" / "README.md").write_text("Put GGUF files here.\n")
    (root / ".git").mkdir()
    (root / ".git" / "description").write_text("Unnamed repository.\n")
    (root / "venv" / "lib").mkdir(parents=True)
    (root / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "venv" / "lib" / "site.py").write_text("print('installed package')\n")
    (root / "node_modules" / "x").mkdir(parents=True)
    (root / "node_modules" / "x" / "README.md").write_text("A package.\n")


def test_ingest_dot_with_the_data_dir_inside_is_stable(
    tmp_path: Path, embedder_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    make_project(project, embedder_cache)
    monkeypatch.chdir(project)  # ./config.toml is found, data_dir = "data" resolves inside
    wanted = {"config.toml", "docs/guide.md", "docs/sub/notes.md"}
    totals = []
    for run in range(3):
        proc = run_cli("ingest", ".", "--json")
        assert proc.returncode == ExitCode.OK, proc.stderr
        summary = json.loads(proc.stdout)
        totals.append(summary["chunks_total"])
        assert summary["files_total"] == len(wanted), summary
        if run:
            assert summary["added"] == summary["changed"] == summary["removed"] == []
    assert totals[0] == totals[1] == totals[2] > 0
    index = read_index(project / "data")
    assert {os.path.relpath(path, project) for path in index.manifest} == wanted
    assert_consistent(index)
