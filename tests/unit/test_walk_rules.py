"""The walk's rules on real folders: symlinks, special files, localgpt's own folders, ignore patterns."""

from __future__ import annotations

import os
from pathlib import Path

from ingest.scan import WalkRules, scan


def names(root: Path, rules: WalkRules) -> set[str]:
    return {os.path.relpath(info.path, root) for info in scan([root], rules=rules).files}


def refused(root: Path, rules: WalkRules) -> dict[str, str]:
    return {os.path.relpath(path, root): why for path, why in scan([root], rules=rules).refused}


def write(path: Path, text: str = "some text\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_links_leaving_the_folder_are_refused_unless_opted_in(tmp_path: Path) -> None:
    outside = write(tmp_path / "elsewhere" / "secret.txt")
    write(tmp_path / "elsewhere" / "folder" / "more.txt")
    root = tmp_path / "docs"
    write(root / "notes.md")
    (root / "shadow.txt").symlink_to(outside)
    (root / "linked").symlink_to(tmp_path / "elsewhere" / "folder", target_is_directory=True)
    (root / "relative.txt").symlink_to("../elsewhere/secret.txt")
    (root / "inside.txt").symlink_to("notes.md")
    (root / "kernel.txt").symlink_to("/proc/self/environ")
    (root / "device").symlink_to("/dev/zero")

    got = refused(root, WalkRules())
    assert got == {
        "shadow.txt": "symlink outside the folder",
        "linked": "symlink outside the folder",
        "relative.txt": "symlink outside the folder",
        "kernel.txt": "symlink into /proc",
        "device": "symlink into /dev",
    }
    assert names(root, WalkRules()) == {"notes.md", "inside.txt"}

    opted_in = WalkRules(follow_external_symlinks=True, follow_symlinks=True)
    assert names(root, opted_in) == {
        "notes.md",
        "inside.txt",
        "shadow.txt",
        "relative.txt",
        "linked/more.txt",
    }
    # Never into the kernel's or the devices' folders, opted in or not.
    assert refused(root, opted_in) == {"kernel.txt": "symlink into /proc", "device": "symlink into /dev"}


def test_special_files_are_listed_never_opened(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    write(root / "notes.md")
    os.mkfifo(root / "pipe.txt")  # opening it for reading would block the walk forever
    assert refused(root, WalkRules()) == {"pipe.txt": "not a regular file (fifo)"}
    assert names(root, WalkRules()) == {"notes.md"}


def test_system_folders_are_refused_as_roots(tmp_path: Path) -> None:
    result = scan([Path("/proc/self")], rules=WalkRules())
    assert result.files == []
    assert result.refused == [("/proc/self", "inside /proc")]


def test_data_and_models_folders_vcs_and_virtualenvs_are_never_walked(tmp_path: Path) -> None:
    root = tmp_path / "project"
    write(root / "README.md")
    data, models = root / "data", root / "models"
    write(data / "chroma" / "notes.txt")
    write(models / "README.md")
    write(root / ".git" / "HEAD", "ref: refs/heads/main\n")
    write(root / "env" / "pyvenv.cfg", "home = /usr/bin\n")  # a virtualenv, whatever its name
    write(root / "env" / "lib" / "site.py")
    write(root / "conda" / "conda-meta" / "history")
    (root / "also-data").symlink_to(data, target_is_directory=True)  # another path to the data dir
    rules = WalkRules(protected=(data, models), follow_symlinks=True)
    assert names(root, rules) == {"README.md"}
    # Named directly, the data dir is refused, not indexed.
    assert scan([data / "chroma"], rules=rules).refused == [
        (str(data / "chroma"), "inside localgpt's data or models folder")
    ]


def test_localgptignore_at_every_level_and_the_exclude_list(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    for name in ("a.md", "debug.log", "drafts/d.md", "scratch.tmp", "build/out.md", "sub/build/x.md",
                 "sub/private.md", "sub/keep.log", "sub/deep/private.md", "sub/deep/other.log", "only/x.md",
                 "nested/only/y.md"):  # fmt: skip
        write(root / name)
    write(root / ".localgptignore", "# comments and blank lines are fine\n\n*.log\ndrafts/\n/only/\n")
    write(root / "sub" / ".localgptignore", "private.md\n!keep.log\n")
    rules = WalkRules(exclude=("*.tmp", "build/"))
    assert names(root, rules) == {"a.md", "sub/keep.log", "nested/only/y.md"}


def test_exclude_patterns_keep_the_old_name_globs_working(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    for name in ("a.md", "x.pyc", "pkg/__pycache__/m.md", "node_modules/lib/readme.md", ".hg/store.txt"):
        write(root / name)
    rules = WalkRules(exclude=(".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "*.pyc"))
    assert names(root, rules) == {"a.md"}


def test_an_undecodable_name_is_indexed_under_an_escaped_name(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    raw = os.path.join(os.fsencode(root), b"caf\xe9.txt")
    with open(raw, "wb") as fh:
        fh.write(b"Latin-1 named\n")
    (info,) = scan([root], rules=WalkRules()).files
    assert info.path == str(root / "caf\\xe9.txt")
    info.path.encode("utf-8")  # storable: no lone surrogates
    assert os.fsencode(info.open_path) == raw
