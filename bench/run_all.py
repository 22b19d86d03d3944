"""Run every benchmark in sequence, then regenerate the results block of bench/README.md.

    .venv/bin/python bench/run_all.py                  # the recorded figures (make bench)
    .venv/bin/python bench/run_all.py --quick          # smoke runs on small inputs
    .venv/bin/python bench/run_all.py --only ask,retrieval

Timings are only worth recording on a quiet machine: it warns when the load average is high.
A failing benchmark doesn't stop the others; the exit code is 1 if any failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from report import update_readme  # noqa: E402

BENCHMARKS = {
    "ingest": "ingest_bench.py",
    "ask": "ask_bench.py",
    "retrieval": "retrieval_bench.py",
    "answers": "answer_bench.py",
}
QUIET_LOAD = 1.5
BENCH_EXTRA = ("langchain_community", "docx2txt", "psutil")  # pyproject's `bench` extra


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smoke runs on small inputs")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    missing = [m for m in BENCH_EXTRA if importlib.util.find_spec(m) is None]
    if missing:
        print(
            f"run_all: missing {', '.join(missing)}: install the bench extra first:\n"
            "  .venv/bin/pip install -c constraints.txt -e '.[bench]'",
            file=sys.stderr,
        )
        return 2
    load = os.getloadavg()[0]
    if load > QUIET_LOAD and not args.quick:
        print(
            f"run_all: warning: load average {load:.1f} on {os.cpu_count()} cores; "
            "timings taken now will be noisy (each result records the load it ran under)",
            file=sys.stderr,
        )
    failed = []
    for name in names:
        argv = [sys.executable, str(BENCH_DIR / BENCHMARKS[name]), *(["--quick"] if args.quick else [])]
        print(f"run_all: {name}: {' '.join(argv[1:])}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call(argv, cwd=BENCH_DIR.parent)
        print(
            f"run_all: {name}: exit {rc} after {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True
        )
        if rc != 0:
            failed.append(name)
    print(f"run_all: updated {update_readme()}", file=sys.stderr)
    if failed:
        print(f"run_all: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
