"""Team mode: remote embeddings through `localgpt serve`, and a second machine's re-sync.

One invocation, one corpus (the dev corpus, or a small sample with --quick), this machine:
  (a) `localgpt ingest CORPUS` embedding in-process, into a fresh data dir (after a warm-up
      ingest of one file, so the one-time ONNX export is paid before the clock starts);
  (b) the same ingest with `[embeddings] backend = "openai"` through a real `localgpt serve` on
      127.0.0.1 (its embedder warmed first): the overhead ratio (b)/(a). The server runs on the
      same 2 cores, so this is the cost of the HTTP hop and the JSON vectors, not a GPU's gain;
  (c) a real `chroma run`: machine A ingests the corpus through one symlinked mount, then machine
      B (another data dir, another mount of the same folder, its own `[store] source_root`)
      re-syncs the unchanged shared collection: B's time as a share of A's full ingest (goal:
      at most 2 %, as a local re-sync).

    .venv/bin/python bench/team_bench.py            # the dev corpus
    .venv/bin/python bench/team_bench.py --quick    # a 20-file sample, for a smoke run
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import httpx
from benchlib import (
    CONFIG,
    REPO,
    child_env,
    loadavg,
    log,
    ratio,
    row,
    run_process,
    scratch,
    served,
    start_process,
    stop_process,
    wait_for,
    write_result,
)

DEFAULT_CORPUS = REPO.parent / "shared" / "eval" / "dev" / "corpus"
QUICK_FILES = 20


def ingest(data: Path, corpus: Path, **env: str) -> float:
    argv = [sys.executable, "-m", "localgpt", "--config", str(CONFIG), "--data-dir", str(data),
            "ingest", str(corpus), "--quiet", "--json"]  # fmt: skip
    run = run_process(argv, env=child_env(OMP_WAIT_POLICY="PASSIVE", **env)).check((0, 6))
    summary = run.json()
    log(f"  {data.name}: {len(summary['added'])} added, {summary['unchanged']} unchanged, "
        f"{summary['chunks_total']} chunks in {run.wall_s:.1f} s")  # fmt: skip
    return run.wall_s


def quick_corpus(source: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for n, path in enumerate(sorted(p for p in source.rglob("*") if p.is_file() and p.suffix != ".pdf")):
        if n >= QUICK_FILES:
            break
        shutil.copy(path, target / f"{n:02d}-{path.name}")
    return target


def data_dir(root: Path, name: str, embedders: Path) -> Path:
    path = root / name
    path.mkdir()
    (path / "embedders").symlink_to(embedders, target_is_directory=True)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    started, load_before = time.perf_counter(), loadavg()
    with scratch("team") as root:
        corpus = quick_corpus(args.corpus, root / "corpus") if args.quick else args.corpus
        embedders = root / "embedders"
        embedders.mkdir()
        warm = data_dir(root, "warm", embedders)
        sample = root / "one"
        sample.mkdir()
        (sample / "one.txt").write_text("warm-up: the ONNX export is made once, before any clock starts")
        ingest(warm, sample)

        log("(a) in-process embeddings")
        local_s = ingest(data_dir(root, "local", embedders), corpus)

        log("(b) remote embeddings through localgpt serve on 127.0.0.1")
        gpu_box = data_dir(root, "gpu-box", embedders)
        with served(gpu_box, root, child_env(OMP_WAIT_POLICY="PASSIVE")) as url:
            remote_s = ingest(data_dir(root, "remote", embedders), corpus,
                              LOCALGPT_EMBEDDINGS__BACKEND="openai",
                              LOCALGPT_EMBEDDINGS__BASE_URL=f"{url}/v1")  # fmt: skip

        log("(c) a shared collection in chroma run: A ingests, B re-syncs")
        chroma_cli = Path(sys.executable).with_name("chroma")
        port = _free_port()
        chroma = start_process([str(chroma_cli), "run", "--path", str(root / "chroma"), "--port", str(port),
                                "--host", "127.0.0.1"], root / "chroma.log", root,
                               child_env(OMP_WAIT_POLICY="PASSIVE"))  # fmt: skip
        try:
            chroma_url = f"http://127.0.0.1:{port}"
            wait_for(lambda: httpx.get(f"{chroma_url}/api/v2/heartbeat", timeout=2).status_code == 200,
                     "chroma run", chroma)  # fmt: skip
            times = {}
            for machine in ("a", "b"):
                mount = root / f"mnt-{machine}"
                mount.symlink_to(corpus.resolve(), target_is_directory=True)
                shared = {"LOCALGPT_STORE__URL": chroma_url, "LOCALGPT_STORE__SOURCE_ROOT": str(mount)}
                times[machine] = ingest(data_dir(root, f"machine-{machine}", embedders), mount, **shared)
        finally:
            stop_process(chroma)

    overhead = ratio(remote_s, local_s)
    share = ratio(times["b"], times["a"], 4)
    summary = [
        row("ingest with remote embeddings (localgpt serve, same machine) vs in-process",
            round(remote_s, 1), round(local_s, 1), overhead, unit="s", baseline_name="in-process"),
        row("second machine's re-sync of the unchanged shared collection, share of a full ingest",
            round(times["b"], 2), round(times["a"], 1), share, target="<= 2%", unit="s",
            baseline_name="machine A's full ingest"),
    ]  # fmt: skip
    results = {"in_process_s": local_s, "remote_s": remote_s, "overhead_ratio": overhead,
               "machine_a_full_s": times["a"], "machine_b_resync_s": times["b"],
               "resync_share": share}  # fmt: skip
    notes = [
        "The embedding server shares this machine's CPU cores with the ingest: the ratio is the "
        "protocol's overhead, not what a GPU box would gain.",
        "Machine A's full ingest embeds in-process and writes chunks and manifest to the Chroma server.",
    ]
    params = {"corpus": str(args.corpus), "quick_files": QUICK_FILES if args.quick else None}
    write_result("team", args.quick, params, results, summary, started, load_before, notes)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
