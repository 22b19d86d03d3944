"""Decode tokens/s of the bundled model beside two busy processes, per thread setting (issue 14 §5).

Each configuration runs in a fresh child (OpenMP reads OMP_WAIT_POLICY once, at start-up): load the
model with n_threads / n_threads_batch, evaluate a short prompt, then time DECODE_TOKENS decode
steps. The same configuration runs idle and beside two `yes > /dev/null` loops; the figure that
matters is busy / idle-baseline (the fair share on two cores is about 50%).

    .venv/bin/python bench/contention_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from benchlib import child_env, loadavg, log, ratio, row, write_result

DECODE_TOKENS = 48
# libgomp spins this many times before it sleeps (300,000 by default): a short spin keeps idle
# speed, and yields the core soon when another process wants it.
SPIN_COUNTS = (1_000, 10_000)
CHILD = r"""
import json, sys, time, llama_cpp
from localgpt.llm.llama_cpp import cpu_has_amx, model_params, use_flash_attention
from localgpt.models.files import bundled_llm_path
threads, batch_threads, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
with model_params(repack=not cpu_has_amx()):  # AMX faults on some VMs (see localgpt/llm/llama_cpp.py)
    llm = llama_cpp.Llama(model_path=str(bundled_llm_path()), n_ctx=512, n_threads=threads,
                          n_threads_batch=batch_threads, verbose=False, seed=1,
                          flash_attn=use_flash_attention("auto", 0))  # as localgpt chooses on the CPU
prompt = llm.tokenize(b"Write a long story about a kettle that boils water every morning.")
tokens = llm.generate(prompt, temp=0.0)
next(tokens)  # the prompt is evaluated (batch threads) and the first token sampled
started = time.perf_counter()
for done, _ in enumerate(tokens, 1):
    if done >= n:
        break
print(json.dumps({"tokens_per_s": n / (time.perf_counter() - started)}))
"""
# What `ask` does: localgpt's own LLM.stream (the bundled model, n_threads = 0), which evaluates
# the prompt with every thread and decodes with the cores other processes left free meanwhile
# (localgpt/llm/cpu_load.py). The prompt is as long as an answer's (~1,500 tokens), so that the
# measuring window is a real one.
CHILD_LOCALGPT = r"""
import json, sys, time
from localgpt.llm.llama_cpp import load_llm
from localgpt.settings.config import Settings
n = int(sys.argv[3])
llm = load_llm(Settings(llm={"n_ctx": 2048, "temperature": 0.0, "seed": 1, "n_threads": int(sys.argv[1])}))
story = "The kettle on the stove boils water every morning before the house wakes up. " * 90
messages = [{"role": "user", "content": story + "Write a long story about that kettle."}]
rendered = llm.render(messages)
times = []
llm.stream(messages, rendered.prompt, [], n + 1, on_token=lambda _: times.append(time.perf_counter()))
speed = (len(times) - 1) / (times[-1] - times[0])
print(json.dumps({"tokens_per_s": speed, "decode_threads": llm.decode_threads}))
"""
LOCALGPT = "localgpt's own stream: all threads for the prompt, the free cores for decoding (what ask does)"
LOCALGPT_FIXED = "localgpt's own stream, [llm] n_threads fixed to all cores (no adapting)"
OWN_STREAM = (LOCALGPT, LOCALGPT_FIXED)  # run CHILD_LOCALGPT, compared with their own idle decode


def measure(threads: int, batch_threads: int, omp: dict[str, str], busy: bool, child: str = CHILD) -> float:
    env = child_env()
    env.pop("OMP_WAIT_POLICY", None)
    env.pop("GOMP_SPINCOUNT", None)
    env.update(omp)
    hogs = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(2 if busy else 0)]
    try:
        time.sleep(0.5 if busy else 0)
        out = subprocess.run(
            [sys.executable, "-c", child, str(threads), str(batch_threads), str(DECODE_TOKENS)],
            capture_output=True, text=True, env=env, timeout=600, check=True,
        )  # fmt: skip
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    got = json.loads(out.stdout.strip().splitlines()[-1])
    if "decode_threads" in got:
        log(f"  decoded with {got['decode_threads']} thread(s)")
    return float(got["tokens_per_s"])


def summary_rows(results: dict[str, Any], default: str) -> list[dict[str, Any]]:
    """One README row per configuration: its busy decode against the default's idle decode, and
    localgpt's own stream against its own idle decode (same prompt)."""
    rows = []
    for label, r in results.items():
        own = label in OWN_STREAM
        baseline = r["idle"] if own else results[default]["idle"]
        rows.append(row(
            f"decode beside 2 busy processes: {label} (tokens/s; idle {r['idle']:.1f})", round(r["busy"], 1),
            round(baseline, 1), ratio(r["busy"], baseline, 3), ">= 0.4" if label == LOCALGPT else "", "tok/s",
            "its own idle decode" if own else "the default's idle decode",
        ))  # fmt: skip
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run per configuration (default 3)")
    parser.add_argument("--runs", type=int, help="runs per configuration and load (default 3)")
    parser.add_argument("--only", help="configurations whose label contains this")
    args = parser.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    cores = os.cpu_count() or 2
    half = max(1, cores // 2)
    passive = {"OMP_WAIT_POLICY": "PASSIVE"}
    configs: list[tuple[str, int, int, dict[str, str]]] = [
        ("before: all threads, OpenMP's default spin-wait", cores, cores, {}),
        ("OMP_WAIT_POLICY=PASSIVE, all threads", cores, cores, passive),
        ("PASSIVE, decode on half the threads", half, cores, passive),
        *[(f"GOMP_SPINCOUNT={n:,}, all threads", cores, cores, {"GOMP_SPINCOUNT": str(n)})
          for n in SPIN_COUNTS],
        ("GOMP_SPINCOUNT=1,000, decode on half the threads", half, cores, {"GOMP_SPINCOUNT": "1000"}),
        (LOCALGPT, 0, 0, {}),  # localgpt sets GOMP_SPINCOUNT=1000 itself
        (LOCALGPT_FIXED, cores, cores, {}),
    ]  # fmt: skip
    if args.only:
        configs = [c for c in configs if c == configs[0] or args.only in c[0]]
    started, load_before = time.perf_counter(), loadavg()
    results: dict[str, Any] = {}
    for label, threads, batch, omp in configs:
        for busy in (False, True):
            speeds = []
            for _ in range(runs):
                child = CHILD_LOCALGPT if label in OWN_STREAM else CHILD
                speeds.append(measure(threads, batch, omp, busy, child))
                log(f"{label}, {'busy' if busy else 'idle'}: {speeds[-1]:.1f} tokens/s")
            results.setdefault(label, {})["busy" if busy else "idle"] = sorted(speeds)[len(speeds) // 2]
    summary = summary_rows(results, configs[0][0])
    params = {"decode_tokens": DECODE_TOKENS, "runs": runs, "cores": cores, "busy_processes": 2}
    write_result("contention", args.quick, params, results, summary, started, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
