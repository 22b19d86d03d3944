"""Regenerate the results block of bench/README.md from bench/results/*.json.

    .venv/bin/python bench/report.py

Only the text between the two GENERATED markers is replaced; the rest of the README is written
by hand and kept. A full run's result (<name>.json) wins over a smoke run's (<name>.quick.json),
which is shown marked as such.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results"
README = BENCH_DIR / "README.md"
BEGIN = "<!-- BEGIN GENERATED: bench/report.py rewrites this block from bench/results/*.json -->"
END = "<!-- END GENERATED -->"
ORDER = ("ingest", "ask", "retrieval", "answers")


def load_results() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(RESULTS.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or "summary" not in data or "name" not in data or data.get("partial"):
            continue
        data["_file"] = f"results/{path.name}"
        name = data["name"]
        if name in found and not found[name].get("quick") and data.get("quick"):
            continue  # a full run wins over a smoke run
        found[name] = data
    return dict(sorted(found.items(), key=lambda kv: (ORDER.index(kv[0]) if kv[0] in ORDER else 99, kv[0])))


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def fmt_ratio(row: dict[str, Any]) -> str:
    r = row.get("ratio")
    if r is None:
        return "–"
    if row.get("target", "").endswith("%"):
        return f"{r * 100:.2f}%"
    if r < 0.1 or (row.get("met") is not None and round(r, 2) != round(r, 3)):
        return f"{r:.3f}×"  # 0.395 against a 0.4 target must not print as 0.40
    return f"{r:.2f}×"


def fmt_target(target: str) -> str:
    return target.replace(">=", "≥").replace("<=", "≤").replace("x", "×")


def met(row: dict[str, Any]) -> str:
    if row.get("met") is None:
        return ""
    return "✅" if row["met"] else "❌"


def machine_block(results: dict[str, dict[str, Any]]) -> list[str]:
    full = [r for r in results.values() if not r.get("quick")]
    source = (full or list(results.values()))[0]
    m = source["machine"]
    lines = [
        "### Machine",
        "",
        f"- CPU: {m['cpu']} ({m['logical_cores']} logical cores, {m.get('physical_cores') or '?'} physical)",
        f"- RAM: {m['ram_gib']} GiB",
        f"- OS: {m['os']}; Python {m['python']}",
        "- Libraries: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v),
        "",
    ]
    return lines


def summary_table(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "### Summary",
        "",
        "| benchmark | figure | localgpt | baseline | ratio | target | |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for name, data in results.items():
        label = name + (" (smoke run)" if data.get("quick") else "")
        for r in data["summary"]:
            baseline = fmt(r.get("baseline"))
            if r.get("baseline_name") and r.get("baseline") is not None:
                baseline = f"{baseline} ({r['baseline_name']})"
            lines.append(
                f"| {label} | {r['figure']} | {fmt(r.get('localgpt'))} | {baseline} | {fmt_ratio(r)} "
                f"| {fmt_target(r.get('target') or '')} | {met(r)} |"
            )
    lines.append("")
    return lines


def runs_table(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "### Runs: the exact command per figure",
        "",
        "| benchmark | command | result file | date | took | load avg before → after (1, 5, 15 min) |",
        "| --- | --- | --- | --- | ---: | --- |",
    ]
    for name, data in results.items():
        before = ", ".join(fmt(x) for x in data.get("load_avg_before") or [])
        after = ", ".join(fmt(x) for x in data.get("load_avg_after") or [])
        lines.append(
            f"| {name} | `{data['command']}` | [{data['_file']}]({data['_file']}) | {data['date']} "
            f"| {data['elapsed_s']:.0f} s | {before} → {after} |"
        )
    lines.append("")
    if any(r.get("quick") for r in results.values()):
        lines += [
            "Rows marked *smoke run* come from `--quick` runs on small inputs: they prove the script "
            "works, they are not the recorded figures. Run the command without `--quick` to replace them.",
            "",
        ]
    return lines


def notes_block(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["### Notes from the runs", ""]
    for name, data in results.items():
        for note in data.get("notes") or []:
            lines.append(f"- **{name}**: {note}")
        if name == "retrieval":
            res = data.get("results", {})
            for s in res.get("skipped", []):
                lines.append(
                    f"- **retrieval**: {s['chunks']:,} chunks skipped: estimated {s['estimated_min']} min, "
                    f"over the {s['budget_min']:g}-minute budget (`--budget-min`)."
                )
            for n, minutes in (res.get("estimated_minutes") or {}).items():
                lines.append(
                    f"- **retrieval**: estimated time for {int(n):,} chunks on this machine: {minutes} min "
                    "(insert + BM25 build + queries, extrapolated from the largest size measured)."
                )
            for size in res.get("sizes", []):
                lines.append(
                    f"- **retrieval** {size['chunks']:,} chunks: "
                    f"insert {size['insert_per_s']:,.0f} chunks/s, "
                    f"BM25 build {size['bm25_build_s']} s, Chroma on disk {size['chroma_disk_mb']} MB; "
                    f"p50 Chroma query alone {size['latency']['chroma_query']['p50_ms']} ms, "
                    f"BM25 search alone {size['latency']['bm25_search']['p50_ms']} ms."
                )
    lines.append("")
    return lines


def render(results: dict[str, dict[str, Any]]) -> str:
    if not results:
        return "\n".join([BEGIN, "", "No results yet: run `make bench`.", "", END])
    body = [BEGIN, ""]
    body += machine_block(results) + summary_table(results) + runs_table(results) + notes_block(results)
    body.append(END)
    return "\n".join(body)


def update_readme() -> Path:
    block = render(load_results())
    text = README.read_text() if README.is_file() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    README.write_text(text)
    return README


if __name__ == "__main__":
    print(f"updated {update_readme()}", file=sys.stderr)
