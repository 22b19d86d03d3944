"""A shared model server: any OpenAI-compatible `/v1/chat/completions` (llama.cpp, vLLM, Ollama).

The server applies its own chat template, so the budget is counted on a ChatML rendering with
the server's tokenizer where it offers one (llama.cpp, vLLM), plus a margin for the template's
own tokens. Without a tokenize endpoint the backend says so (`counts_exactly = False`) and the
budget uses an estimate: UTF-8 bytes / 2, which over-counts for every tokenizer we know (English
runs about 4 bytes a token, CJK about 3), so the prompt always fits. The prompt size reported
after an answer is then the server's own `usage`, or unknown.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from localgpt.errors import ModelError, NetworkError
from localgpt.llm.base import ChatModel, Completion, Events, LoadReport
from localgpt.llm.chat_format import Message, Rendered, render_chatml

if TYPE_CHECKING:
    from localgpt.settings.config import Settings

TEMPLATE_MARGIN = 32
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 300.0
# (path, request field, response field) of the tokenize endpoints servers offer.
TOKENIZE_ENDPOINTS = (
    ("/extras/tokenize", "input", "tokens"),  # llama-cpp-python's server
    ("/tokenize", "content", "tokens"),  # llama.cpp's server
    ("/tokenize", "prompt", "tokens"),  # vLLM
)


class OpenAIServerLLM(ChatModel):
    """Generation happens on the server; see the module docstring for token counts."""

    def __init__(self, settings: Settings) -> None:
        import httpx

        super().__init__()

        cfg = settings.llm
        if not cfg.base_url:
            raise ModelError("[llm] backend = 'openai' needs [llm] base_url, e.g. http://127.0.0.1:8080/v1")
        base = cfg.base_url.rstrip("/")
        self.api = base if base.endswith("/v1") else base + "/v1"
        self.root = self.api[: -len("/v1")]
        self.settings = cfg
        self.n_ctx = cfg.n_ctx
        self.chat_format = "server"
        self.report = LoadReport()
        headers = {"Authorization": f"Bearer {cfg.api_key}"} if cfg.api_key else {}
        timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        self._http = httpx.Client(headers=headers, timeout=timeout)
        self.name = cfg.model if cfg.model != "auto" else self._server_model()
        self.path = None
        self._tokenizer: tuple[str, str, str] | bool | None = None
        self._usage: dict[str, int] = {}

    def _server_model(self) -> str:
        data = self._request("GET", f"{self.api}/models")
        models = data.get("data") or []
        if not models:
            raise ModelError(f"the server at {self.api} lists no models; set [llm] model")
        return str(models[0].get("id"))

    def _request(self, method: str, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        import httpx

        try:
            response = self._http.request(method, url, json=body)
        except httpx.HTTPError as exc:
            raise NetworkError(f"cannot reach the model server at {self.api}: {exc}") from None
        if response.status_code >= 400:
            raise ModelError(f"the model server answered {response.status_code}: {response.text[:200]}")
        result: dict[str, Any] = response.json()
        return result

    def render(self, messages: Sequence[Message]) -> Rendered:
        rendered = render_chatml(messages)
        return Rendered(rendered.prompt, ())  # the server knows its own stop tokens

    def count(self, text: str) -> int:
        counted = self._server_count(text)
        if counted is None:
            self.counts_exactly = False
            return len(text.encode("utf-8")) // 2 + 1 + TEMPLATE_MARGIN
        return counted + TEMPLATE_MARGIN

    def _server_count(self, text: str) -> int | None:
        if self._tokenizer is False:
            return None
        candidates = [self._tokenizer] if isinstance(self._tokenizer, tuple) else TOKENIZE_ENDPOINTS
        for path, field_in, field_out in candidates:
            try:
                response = self._http.post(self.root + path, json={field_in: text})
                tokens = response.json().get(field_out) if response.status_code == 200 else None
            except Exception:
                tokens = None
            if isinstance(tokens, list):
                self._tokenizer = (path, field_in, field_out)
                return len(tokens)
        self._tokenizer = False
        return None

    def prompt_tokens(self, prompt: str, streamed: Completion) -> int | None:
        if self._usage.get("prompt_tokens"):
            return self._usage["prompt_tokens"]  # the server's own figure
        return self.count(prompt) - TEMPLATE_MARGIN if self.counts_exactly else None

    @contextlib.contextmanager
    def _events(
        self,
        messages: Sequence[Message],
        prompt: str,
        stop: Sequence[str],
        max_tokens: int,
        temperature: float,
    ) -> Iterator[Events]:
        import httpx

        body: dict[str, Any] = {
            "model": self.name,
            "messages": list(messages),
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": self.settings.seed,
            "stream": True,
        }
        if stop:
            body["stop"] = list(stop)
        self._usage = {}
        try:
            with self._http.stream("POST", f"{self.api}/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ModelError(
                        f"the model server answered {response.status_code}: {response.text[:200]}"
                    )
                yield _events(response.iter_lines(), self._usage)
        except httpx.HTTPError as exc:
            raise NetworkError(f"the model server at {self.api} failed mid-answer: {exc}") from None


def _events(lines: Iterable[str], usage: dict[str, int]) -> Events:
    """(piece, finish_reason) from server-sent events; the server's prompt count when it gives one."""
    for line in lines:
        event = _event(line)
        if event is None:
            continue
        if event == "[DONE]":
            return
        if (event.get("usage") or {}).get("prompt_tokens"):
            usage["prompt_tokens"] = int(event["usage"]["prompt_tokens"])
        choice = (event.get("choices") or [{}])[0]
        yield (choice.get("delta") or {}).get("content") or "", choice.get("finish_reason")


def _event(line: str) -> Any:
    if not line.startswith("data:"):
        return None
    payload = line[len("data:") :].strip()
    if payload == "[DONE]":
        return payload
    try:
        return json.loads(payload)
    except ValueError:
        return None
