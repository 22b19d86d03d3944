"""The chat models: one `ChatModel` interface (base.py), its backends, chat templates."""

import os

# llama.cpp's OpenMP threads spin while they wait for work. Beside any other busy process (a
# browser, a compile, our own ingest) they fight it for the cores and decode collapses to a few
# tokens/s; waiting passively gives the fair share back (bench/contention_bench.py). OpenMP reads
# this once, when llama.cpp's library loads: every import of llama_cpp comes after this package's.
# A user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
