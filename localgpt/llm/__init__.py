"""The chat models: one `ChatModel` interface (base.py), its backends, chat templates."""

import os

# llama.cpp's OpenMP threads spin while they wait for work (libgomp: 300,000 turns). Beside other
# busy processes (a browser, a compile, our own ingest) that spinning fights them for the cores,
# and decode collapses now and then: 2 of 5 runs at 4 tokens/s instead of ~40 on 2 cores beside
# two busy loops. A short spin yields the core soon, never collapsed, and costs nothing idle
# (bench/contention_bench.py; OMP_WAIT_POLICY=PASSIVE was 3x slower idle). libgomp reads it once,
# when llama.cpp's library loads: every import of llama_cpp comes after this package's. A user's
# own setting wins.
os.environ.setdefault("GOMP_SPINCOUNT", "1000")
