"""`localgpt serve`: a warm engine's first token, `ask` through it, and 8 concurrent clients.

With the shipped defaults and an index of examples/docs (built first, not timed), one invocation:
  (a) warm server: each question once as a streamed `POST /v1/chat/completions` (after one
      warm-up question that is not in the list): time to the first content delta; against a
      cold in-process `localgpt ask --no-server` of the same questions, first byte on stdout;
  (b) `localgpt ask` through the server (found by its server.json), process start to exit,
      against `localgpt ask --no-server`: the same question, the same stdout;
  (c) 8 clients at once, each asking every question (not streamed): answers/s and p95 latency,
      against one client asking them one after another;
  (d) search only: 8 clients at once on `POST /v1/search`: requests/s and p95, against one client.

    .venv/bin/python bench/server_bench.py            # 10 questions, 3 cold asks each
    .venv/bin/python bench/server_bench.py --quick    # 3 questions, 1 cold ask each
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from ask_bench import BATCH_QUESTIONS, base_args
from benchlib import (
    REPO,
    child_env,
    loadavg,
    log,
    median,
    percentile,
    ratio,
    row,
    run_process,
    scratch,
    served,
    write_result,
)

CLIENTS = 8
SEARCHES_PER_CLIENT = 25
MODEL = "localgpt:documents"
WARM_UP = "What is this documentation about?"


def first_content_s(client: httpx.Client, url: str, question: str) -> tuple[float, float]:
    """(first content delta, whole answer) of one streamed chat completion, in seconds."""
    body = {"model": MODEL, "messages": [{"role": "user", "content": question}], "stream": True}
    started = time.perf_counter()
    first = None
    with client.stream("POST", f"{url}/chat/completions", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if first is None and line.startswith("data: {") and _has_content(json.loads(line[6:])):
                first = time.perf_counter() - started
    total = time.perf_counter() - started
    return (first if first is not None else total), total


def _has_content(event: dict[str, Any]) -> bool:
    choices = event.get("choices") or [{}]
    return bool((choices[0].get("delta") or {}).get("content"))


def complete_s(client: httpx.Client, url: str, question: str) -> float:
    body = {"model": MODEL, "messages": [{"role": "user", "content": question}]}
    started = time.perf_counter()
    client.post(f"{url}/chat/completions", json=body).raise_for_status()
    return time.perf_counter() - started


def search_s(client: httpx.Client, url: str, question: str) -> float:
    started = time.perf_counter()
    client.post(f"{url}/search", json={"query": question}).raise_for_status()
    return time.perf_counter() - started


def load(url: str, clients: int, jobs: list[str], call: Any) -> dict[str, Any]:
    """Each of `clients` threads (its own connection) runs `call` on every job; wall and latencies."""

    def one_client(_: int) -> list[float]:
        with httpx.Client(timeout=600) as client:
            return [call(client, url, job) for job in jobs]

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [t for per_client in pool.map(one_client, range(clients)) for t in per_client]
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "wall_s": round(wall, 2),
        "per_s": round(len(latencies) / wall, 2),
        "p50_s": round(median(latencies), 3),
        "p95_s": round(percentile(latencies, 95), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 questions, 1 cold ask each (smoke run)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    questions = BATCH_QUESTIONS[:3] if args.quick else BATCH_QUESTIONS
    cold_reps = 1 if args.quick else 3
    started, load_before = time.perf_counter(), loadavg()
    env = child_env()
    with scratch("server", keep=args.keep) as root:
        data, docs = root / "data", root / "docs"
        shutil.copytree(REPO / "examples" / "docs", docs)
        log("indexing examples/docs (not timed)")
        run_process([*base_args(data), "ingest", str(docs), "--quiet", "--json"], env=env).check((0, 6))

        log(f"(a, b) cold in-process asks: {len(questions)} questions, {cold_reps} each")
        cold: dict[str, list[dict[str, Any]]] = {q: [] for q in questions}
        for _ in range(cold_reps):
            for q in questions:
                run = run_process(
                    [*base_args(data), "ask", "--no-server", q], env=env, first_byte=True
                ).check((0, 3))
                cold[q].append({"first_byte_s": run.first_byte_s or run.wall_s, "total_s": run.wall_s,
                                "stdout": run.stdout, "exit": run.returncode})  # fmt: skip

        with served(data, root, env) as url:
            base = f"{url}/v1"
            with httpx.Client(timeout=600) as client:
                first_content_s(client, base, WARM_UP)
                log(f"(a) warm server, streamed: {len(questions)} questions")
                warm = {q: first_content_s(client, base, q) for q in questions}
            log("(b) localgpt ask through the server")
            through: dict[str, dict[str, Any]] = {}
            for q in questions:
                run = run_process([*base_args(data), "ask", q], env=env, first_byte=True).check((0, 3))
                through[q] = {"first_byte_s": run.first_byte_s or run.wall_s, "total_s": run.wall_s,
                              "same_stdout": run.stdout == cold[q][0]["stdout"],
                              "same_exit": run.returncode == cold[q][0]["exit"]}  # fmt: skip
            log(f"(c) chat completions: 1 client, then {CLIENTS} at once")
            chat_one = load(base, 1, questions, complete_s)
            chat_many = load(base, CLIENTS, questions, complete_s)
            log(f"(d) search: 1 client, then {CLIENTS} at once")
            search_jobs = (questions * SEARCHES_PER_CLIENT)[:SEARCHES_PER_CLIENT]
            search_one = load(base, 1, search_jobs, search_s)
            search_many = load(base, CLIENTS, search_jobs, search_s)

    cold_first = median([median([r["first_byte_s"] for r in runs]) for runs in cold.values()])
    cold_total = median([median([r["total_s"] for r in runs]) for runs in cold.values()])
    warm_first = [w[0] for w in warm.values()]
    through_total = median([t["total_s"] for t in through.values()])
    results = {
        "questions": questions,
        "cold_in_process": {
            q: [{k: v for k, v in r.items() if k != "stdout"} for r in runs] for q, runs in cold.items()
        },
        "warm_server_s": {
            q: {"first_content": round(a, 3), "total": round(b, 3)} for q, (a, b) in warm.items()
        },
        "ask_through_server": through,
        "chat_one_client": chat_one,
        "chat_clients": chat_many,
        "search_one_client": search_one,
        "search_clients": search_many,
    }
    summary = [
        row("warm server: first token, median of the questions (s)", round(median(warm_first), 3),
            round(cold_first, 3), ratio(cold_first, median(warm_first)), "", "s",
            "cold in-process ask, first byte"),
        row("warm server: first token, slowest question (s)", round(max(warm_first), 3), unit="s"),
        row("`localgpt ask` through the server: process start to exit (s)", round(through_total, 3),
            round(cold_total, 3), ratio(cold_total, through_total), "", "s", "`localgpt ask --no-server`"),
        row(f"{CLIENTS} clients, chat completions: answers/s", chat_many["per_s"], chat_one["per_s"],
            ratio(chat_many["per_s"], chat_one["per_s"]), "", "1/s", "one client, one after another"),
        row(f"{CLIENTS} clients, chat completions: p95 latency (s)", chat_many["p95_s"], chat_one["p95_s"],
            ratio(chat_many["p95_s"], chat_one["p95_s"]), "", "s", "one client"),
        row(f"{CLIENTS} clients, search: requests/s", search_many["per_s"], search_one["per_s"],
            ratio(search_many["per_s"], search_one["per_s"]), "", "1/s", "one client, one after another"),
        row(f"{CLIENTS} clients, search: p95 latency (s)", search_many["p95_s"], search_one["p95_s"],
            ratio(search_many["p95_s"], search_one["p95_s"]), "", "s", "one client"),
    ]  # fmt: skip
    notes = [
        "The server and its clients share this machine's 2 cores: 8 clients cannot be faster than "
        "the cores allow; the figures show that every client is answered and how latency grows.",
        f"`ask` through the server printed the same stdout as in-process for "
        f"{sum(t['same_stdout'] for t in through.values())} of {len(through)} questions, "
        f"with the same exit code for {sum(t['same_exit'] for t in through.values())}.",
    ]
    params = {"questions": len(questions), "cold_reps": cold_reps, "clients": CLIENTS,
              "searches_per_client": len(search_jobs)}  # fmt: skip
    write_result("server", args.quick, params, results, summary, started, load_before, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
