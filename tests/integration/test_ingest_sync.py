"""`localgpt ingest` keeps a collection in step with folders: real Chroma, real embedder, real loaders."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from chromadb.api.client import SharedSystemClient

from localgpt.errors import ExitCode
from localgpt.index.chunk_ids import chunk_id
from localgpt.index.store import Store
from localgpt.settings.config import load_settings
from tests.conftest import run_cli
from tests.helpers import assert_consistent, read_index

DOC_NAMES = [
    "aurora-k7-manual.pdf",
    "faq.txt",
    "release-notes.html",
    "service-centres.docx",
    "spare-parts.csv",
    "warranty.md",
    "zh-quickstart.md",
]


def ingest(data_dir: Path, *args: str, expect: int = ExitCode.OK) -> dict[str, Any]:
    """Run `localgpt ingest ... --json`; check the exit code, return the summary."""
    proc = run_cli("--data-dir", str(data_dir), "ingest", *args, "--json")
    assert proc.returncode == expect, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    summary = json.loads(proc.stdout)
    assert summary["exit_code"] == expect
    return summary


def test_sync_lifecycle(data_dir: Path, docs: Path) -> None:
    paths = {name: str(docs / name) for name in DOC_NAMES}

    # 1. First ingest: everything is added.
    first = ingest(data_dir, str(docs))
    assert sorted(first["added"]) == sorted(paths.values())
    assert first["changed"] == first["moved"] == first["removed"] == first["skipped"] == []
    assert first["unchanged"] == 0
    assert first["chunks_added"] > 0
    assert first["files_total"] == 7
    index = read_index(data_dir)
    assert first["chunks_total"] == first["chunks_added"] == len(index.ids)
    assert all(meta.get("source") in paths.values() for meta in index.metas.values())
    assert set(index.per_source()) == set(paths.values()), "a file contributed no chunks"
    assert_consistent(index)
    pdf_ids = index.ids_of(paths["aurora-k7-manual.pdf"])
    assert {index.metas[i].get("page") for i in pdf_ids} == {1, 2, 3, 4}
    page2 = " ".join(index.texts[i] for i in pdf_ids if index.metas[i].get("page") == 2)
    assert "1.8 litres" in page2
    assert index.manifest[paths["aurora-k7-manual.pdf"]].pages == 4

    # 2. Nothing changed: nothing is written.
    again = ingest(data_dir, str(docs))
    assert again["added"] == again["changed"] == again["moved"] == again["removed"] == []
    assert again["unchanged"] == 7
    assert again["chunks_added"] == again["chunks_removed"] == 0
    assert read_index(data_dir).ids == index.ids

    # 3. A new mtime with the same bytes: the stamp is updated, nothing is re-embedded.
    faq = Path(paths["faq.txt"])
    stat = faq.stat()
    os.utime(faq, ns=(stat.st_atime_ns, stat.st_mtime_ns + 3_000_000_000))
    touched = ingest(data_dir, str(docs))
    assert touched["added"] == touched["changed"] == touched["moved"] == []
    assert touched["unchanged"] == 7 and touched["chunks_added"] == 0
    after_touch = read_index(data_dir)
    assert after_touch.ids == index.ids
    assert after_touch.manifest[str(faq)].mtime_ns == faq.stat().st_mtime_ns

    # 4. A changed file: its chunks are replaced, nobody else's are touched.
    warranty = Path(paths["warranty.md"])
    old_warranty = set(index.ids_of(warranty))
    warranty.write_text(
        warranty.read_text(encoding="utf-8") + "\n\n## Quokka clause\n\nQuokkas void the warranty.\n",
        encoding="utf-8",
    )
    changed = ingest(data_dir, str(docs))
    assert changed["changed"] == [str(warranty)]
    assert changed["added"] == changed["moved"] == changed["removed"] == []
    assert changed["unchanged"] == 6
    after_change = read_index(data_dir)
    new_warranty = set(after_change.ids_of(warranty))
    assert new_warranty and not (old_warranty & new_warranty), "old chunks of the changed file survived"
    assert len(new_warranty) == len(after_change.manifest[str(warranty)].chunk_ids)
    assert any("Quokkas void the warranty" in after_change.texts[i] for i in new_warranty)
    assert set(after_change.ids) - new_warranty == set(index.ids) - old_warranty
    assert changed["chunks_total"] == len(after_change.ids)
    assert_consistent(after_change)

    # 5. A deleted file: its chunks go.
    csv = Path(paths["spare-parts.csv"])
    csv_ids = after_change.ids_of(csv)
    csv.unlink()
    removed = ingest(data_dir, str(docs))
    assert removed["removed"] == [str(csv)]
    assert removed["chunks_removed"] == len(csv_ids)
    after_remove = read_index(data_dir)
    assert after_remove.ids_of(csv) == []
    assert str(csv) not in after_remove.manifest
    assert set(after_remove.ids) == set(after_change.ids) - set(csv_ids)
    assert_consistent(after_remove)

    # 6. A renamed file: its chunks are re-pointed, not re-embedded.
    faq_ids = after_remove.ids_of(faq)
    faq_sha = after_remove.manifest[str(faq)].sha256
    renamed = docs / "faq-renamed.txt"
    faq.rename(renamed)
    moved = ingest(data_dir, str(docs))
    assert moved["moved"] == [{"from": str(faq), "to": str(renamed)}]
    assert moved["added"] == moved["removed"] == moved["changed"] == []
    assert moved["chunks_added"] == 0, "a rename re-embedded the file"
    after_move = read_index(data_dir)
    assert after_move.ids_of(faq) == []
    assert str(faq) not in after_move.manifest
    new_ids = after_move.ids_of(renamed)
    assert len(new_ids) == len(faq_ids)
    assert sorted(new_ids) == sorted(chunk_id(str(renamed), faq_sha, n) for n in range(len(faq_ids)))
    assert len(after_move.ids) == len(after_remove.ids)
    assert_consistent(after_move)

    # 7. --dry-run reports the plan and writes nothing.
    zh = Path(paths["zh-quickstart.md"])
    zh.write_text(zh.read_text(encoding="utf-8") + "\n\n新增的一段。\n", encoding="utf-8")
    (docs / "new-note.txt").write_text("A brand new note about quokkas.\n", encoding="utf-8")
    Path(paths["release-notes.html"]).unlink()
    dry = ingest(data_dir, str(docs), "--dry-run")
    assert dry["dry_run"] is True
    assert dry["added"] == [str(docs / "new-note.txt")]
    assert dry["changed"] == [str(zh)]
    assert dry["removed"] == [paths["release-notes.html"]]
    assert dry["chunks_added"] == dry["chunks_removed"] == 0
    after_dry = read_index(data_dir)
    assert after_dry.ids == after_move.ids
    assert after_dry.metas == after_move.metas
    assert after_dry.manifest == after_move.manifest

    # ...and the real run then does exactly what the dry run announced.
    real = ingest(data_dir, str(docs))
    for key in ("added", "changed", "removed", "moved"):
        assert real[key] == dry[key], key
    assert_consistent(read_index(data_dir))


def _write_notes(folder: Path, count: int, topic: str) -> list[Path]:
    folder.mkdir()
    files = []
    for n in range(count):
        path = folder / f"{topic}-{n}.txt"
        path.write_text(f"Note {n} about {topic}. It says {topic} number {n} is special.\n", encoding="utf-8")
        files.append(path)
    return files


def test_syncing_one_folder_leaves_the_others_alone(data_dir: Path, tmp_path: Path) -> None:
    # "notes-old" shares a prefix with "notes": a sync of one must not prune the other.
    a_files = _write_notes(tmp_path / "notes", 2, "otters")
    b_files = _write_notes(tmp_path / "notes-old", 3, "beavers")
    first = ingest(data_dir, str(tmp_path / "notes"), str(tmp_path / "notes-old"))
    assert sorted(first["added"]) == sorted(str(p) for p in a_files + b_files)
    before = read_index(data_dir)
    assert set(before.manifest) == {str(p) for p in a_files + b_files}

    b_files[0].unlink()
    only_a = ingest(data_dir, str(tmp_path / "notes"))
    assert only_a["removed"] == [] and only_a["unchanged"] == 2
    after = read_index(data_dir)
    assert after.ids == before.ids
    assert after.manifest == before.manifest

    only_b = ingest(data_dir, str(tmp_path / "notes-old"))
    assert only_b["removed"] == [str(b_files[0])]
    final = read_index(data_dir)
    assert set(final.manifest) == {str(p) for p in a_files + b_files[1:]}
    assert final.ids_of(b_files[0]) == []
    assert_consistent(final)


def test_collections_are_separate(data_dir: Path, docs: Path) -> None:
    faq, warranty = docs / "faq.txt", docs / "warranty.md"
    ingest(data_dir, str(faq))
    other = ingest(data_dir, str(warranty), "--collection", "other")
    assert other["collection"] == "other" and other["added"] == [str(warranty)]

    def sources(*args: str) -> dict[str, Any]:
        proc = run_cli("--data-dir", str(data_dir), "sources", "--json", *args)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    listed = sources("--collection", "other")
    assert listed["collection"] == "other"
    assert [row["source"] for row in listed["files"]] == [str(warranty)]
    default = sources()
    assert default["collection"] == "documents"
    assert [row["source"] for row in default["files"]] == [str(faq)]

    assert set(read_index(data_dir).per_source()) == {str(faq)}
    other_index = read_index(data_dir, "other")
    assert set(other_index.per_source()) == {str(warranty)}
    assert_consistent(other_index)


def test_embedder_mismatch_needs_rebuild(data_dir: Path, docs: Path) -> None:
    faq, warranty = docs / "faq.txt", docs / "warranty.md"
    ingest(data_dir, str(faq))
    settings = load_settings(None, {"paths.data_dir": str(data_dir)}).settings
    try:
        store = Store.open(settings)
        real_name = store.recorded_embedder[0]
        assert real_name
        meta = dict(store.collection.metadata or {})
        store.collection.modify(metadata={**meta, "embedder": "some-other-model"})
    finally:
        SharedSystemClient.clear_system_cache()
    before = read_index(data_dir)
    assert before.collection_meta["embedder"] == "some-other-model"

    proc = run_cli("--data-dir", str(data_dir), "ingest", str(warranty), "--json")
    assert proc.returncode == ExitCode.INDEX_MISMATCH, proc.stderr
    assert proc.stdout == ""
    assert "--rebuild" in proc.stderr and "some-other-model" in proc.stderr
    assert "Traceback" not in proc.stderr
    refused = read_index(data_dir)
    assert refused.ids == before.ids and refused.manifest == before.manifest

    rebuilt = ingest(data_dir, str(warranty), "--rebuild")
    assert rebuilt["added"] == [str(warranty)]
    after = read_index(data_dir)
    assert after.collection_meta["embedder"] == real_name
    assert set(after.manifest) == {str(warranty)}  # a rebuild starts the collection over
    assert set(after.per_source()) == {str(warranty)}
    assert_consistent(after)
