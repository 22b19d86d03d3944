"""What every benchmark shares: offline env, the machine description, timed subprocesses, results.

Not a test helper: nothing here is imported by the package or the test suite.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
CONFIG = REPO / "config.toml"  # the shipped defaults; passed explicitly so no user config leaks in

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "CHROMA_ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "PYTHONWARNINGS": "ignore",
}
os.environ.update(OFFLINE_ENV)

VERSIONS = (
    "localgpt",
    "chromadb",
    "langchain",
    "langchain-core",
    "langchain-community",
    "langchain-chroma",
    "langchain-huggingface",
    "langchain-text-splitters",
    "sentence-transformers",
    "transformers",
    "torch",
    "onnxruntime",
    "llama_cpp_python",
    "bm25s",
    "numpy",
    "pypdf",
)


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a benchmarked subprocess: offline, no LOCALGPT_* from the caller's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALGPT_")}
    env.update(OFFLINE_ENV)
    env.update(extra)
    return env


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _physical_cores() -> int | None:
    try:
        import psutil

        return psutil.cpu_count(logical=False)
    except ImportError:
        return None


def machine() -> dict[str, Any]:
    versions = {}
    for name in VERSIONS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": _physical_cores(),
        "ram_gib": _mem_total_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
    }


def shipped_config() -> dict[str, Any]:
    """The settings every benchmarked command runs with (config.toml, the shipped defaults)."""
    from localgpt.settings.config import load_settings

    settings = load_settings(str(CONFIG), {}).settings.model_dump(mode="json")
    return {section: settings[section] for section in ("ingest", "embeddings", "retrieval", "llm")}


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


@dataclass
class Run:
    """One benchmarked subprocess."""

    argv: list[str]
    returncode: int
    wall_s: float
    stdout: str
    stderr: str
    peak_tree_rss_mb: float  # sampled sum over the process and its descendants
    max_rss_mb: float  # the largest single process (kernel's ru_maxrss via wait4)
    cpu_s: float = 0.0  # user + system CPU time of the process and its reaped children
    first_byte_s: float | None = None  # first byte on stdout, from process start
    extra: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.stdout)

    def check(self, ok: Sequence[int] = (0,)) -> Run:
        if self.returncode not in ok:
            raise RuntimeError(
                f"{shlex.join(self.argv)} exited {self.returncode}\n--- stderr ---\n{self.stderr[-4000:]}"
            )
        return self


class _RssSampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak = 0
        self._done = threading.Event()

    def run(self) -> None:
        try:
            import psutil
        except ImportError:
            log("psutil is missing (the bench extra): peak RSS of the process tree is not sampled")
            return
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._done.is_set():
            total = 0
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)
            self._done.wait(self.interval)

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=2)


def run_process(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stdin: str | None = None,
    first_byte: bool = False,
    timeout: float | None = None,
) -> Run:
    """Run a command; time it, sample its tree's RSS, and read its own max RSS from wait4."""
    argv = [str(a) for a in argv]
    with tempfile.TemporaryFile() as err_file:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err_file,
            env=env if env is not None else child_env(),
            cwd=cwd,
        )
        sampler = _RssSampler(proc.pid)
        sampler.start()
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer:
            timer.start()
        try:
            if stdin is not None:
                assert proc.stdin is not None
                proc.stdin.write(stdin.encode())
                proc.stdin.close()
            assert proc.stdout is not None
            first: float | None = None
            chunks: list[bytes] = []
            if first_byte:
                head = proc.stdout.read(1)
                first = time.perf_counter() - start if head else None
                chunks.append(head)
            chunks.append(proc.stdout.read())
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if timer:
                timer.cancel()
            sampler.stop()
            if proc.returncode is None:
                proc.kill()
                proc.wait()
        err_file.seek(0)
        stderr = err_file.read().decode(errors="replace")
    return Run(
        argv=argv,
        returncode=proc.returncode,
        wall_s=wall,
        stdout=b"".join(chunks).decode(errors="replace"),
        stderr=stderr,
        peak_tree_rss_mb=round(sampler.peak / 2**20, 1),
        max_rss_mb=round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
        cpu_s=round(usage.ru_utime + usage.ru_stime, 2),
        first_byte_s=first,
    )


@contextlib.contextmanager
def scratch(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A temp folder, removed afterwards unless `keep`."""
    path = Path(tempfile.mkdtemp(prefix=f"localgpt-bench-{prefix}-"))
    try:
        yield path
    finally:
        if keep:
            print(f"kept {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def ratio(a: float | None, b: float | None, digits: int = 2) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, digits)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def command_line(quick: bool, extra: Sequence[str] = ()) -> str:
    """The command that reproduces this run, as the README shows it."""
    script = Path(sys.argv[0]).resolve()
    with contextlib.suppress(ValueError):
        script = script.relative_to(REPO)
    args = [a for a in sys.argv[1:] if a not in ("--quick",)] + list(extra)
    return shlex.join([".venv/bin/python", str(script), *(["--quick"] if quick else []), *args])


def write_result(
    name: str,
    quick: bool,
    params: dict[str, Any],
    results: dict[str, Any],
    summary: list[dict[str, Any]],
    started: float,
    load_before: list[float] | None,
    notes: list[str] | None = None,
    partial: bool = False,
) -> Path:
    """results/<name>.json, or <name>.quick.json for a smoke run (the README marks it as such), or
    <name>.partial.json for a run of only some parts (the README leaves it out)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = ".partial" if partial else ".quick" if quick else ""
    path = RESULTS / f"{name}{suffix}.json"
    payload = {
        "name": name,
        "quick": quick,
        "partial": partial,
        "command": command_line(quick),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "load_avg_before": load_before,
        "load_avg_after": loadavg(),
        "machine": machine(),
        "config": shipped_config(),
        "params": params,
        "summary": summary,
        "notes": notes or [],
        "results": results,
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({"summary": summary}, indent=2, ensure_ascii=False))
    log(f"wrote {path.relative_to(REPO)}")
    return path


def row(
    figure: str,
    localgpt: Any,
    baseline: Any = None,
    ratio_value: float | None = None,
    target: str = "",
    unit: str = "",
    baseline_name: str = "",
) -> dict[str, Any]:
    """One line of the README summary table."""
    met = None
    if target and ratio_value is not None:
        op, _, number = target.partition(" ")
        limit = float(number.rstrip("x%"))
        value = ratio_value * 100 if number.endswith("%") else ratio_value
        met = value >= limit if op == ">=" else value <= limit
    return {
        "figure": figure,
        "localgpt": localgpt,
        "baseline": baseline,
        "baseline_name": baseline_name,
        "ratio": ratio_value,
        "target": target,
        "met": met,
        "unit": unit,
    }


def write_calibration(filename: str, out: dict[str, Any]) -> None:
    """A tuning script's results/<filename> (with its per-question `rows`); the rest on stdout."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / filename).write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "rows"}, indent=1))


SERVER_STARTUP_S = 180


def wait_for(check: Any, what: str, proc: subprocess.Popen[bytes], limit_s: float = SERVER_STARTUP_S) -> None:
    """Poll `check()` until it is true; fail when `proc` exits or `limit_s` passes."""
    import httpx

    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited {proc.returncode}")
        try:
            if check():
                return
        except (OSError, ValueError, httpx.HTTPError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{what}: not up within {limit_s} s")


def start_process(argv: list[str], log_path: Path, cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True,
                                env=env)  # fmt: skip


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def served(data: Path, root: Path, env: dict[str, str], *extra: str) -> Iterator[str]:
    """A real `localgpt serve --port 0` on `data`, its models loaded: yields its base URL."""
    import httpx

    argv = [sys.executable, "-m", "localgpt", "--config", str(CONFIG), "--data-dir", str(data), "serve",
            "--port", "0", *extra]  # fmt: skip
    server = start_process(argv, root / f"serve-{data.name}.log", root, env)
    try:
        wait_for(lambda: (data / "server.json").is_file(), "localgpt serve", server)
        url = str(json.loads((data / "server.json").read_text())["url"])
        ready = lambda: httpx.get(f"{url}/health", timeout=5).json()["status"] in ("ready", "failed")  # noqa: E731
        wait_for(ready, "localgpt serve's models", server)
        yield url
    finally:
        stop_process(server)
