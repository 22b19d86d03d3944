"""A shared model server: any OpenAI-compatible `/v1/chat/completions` (llama.cpp, vLLM, Ollama).

The server applies its own chat template, so the budget is counted on a ChatML rendering with
the server's tokenizer where it offers one (llama.cpp, vLLM), plus a margin for the template's
own tokens. Without a tokenize endpoint, bytes/2 over-estimates tokens for any tokenizer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from localgpt.errors import ModelError, NetworkError
from localgpt.llm.chat_format import Message, Rendered, render_chatml
from localgpt.llm.llama_cpp import Completion, LoadReport, drain

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


class OpenAIServerLLM:
    """Same interface as `localgpt.llm.llama_cpp.LLM`; generation happens on the server."""

    def __init__(self, settings: Settings) -> None:
        import httpx

        cfg = settings.llm
        if not cfg.base_url:
            raise ModelError("[llm] backend = 'openai' needs [llm] base_url, e.g. http://127.0.0.1:8080/v1")
        base = cfg.base_url.rstrip("/")
        self.api = base if base.endswith("/v1") else base + "/v1"
        self.root = self.api[: -len("/v1")]
        self.settings = cfg
        self.n_ctx = cfg.n_ctx
        self.lock = threading.Lock()
        self.chat_format = "server"
        self.report = LoadReport()
        headers = {"Authorization": f"Bearer {cfg.api_key}"} if cfg.api_key else {}
        timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        self._http = httpx.Client(headers=headers, timeout=timeout)
        self.name = cfg.model if cfg.model != "auto" else self._server_model()
        self.path = None
        self._tokenizer: tuple[str, str, str] | bool | None = None

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

    def tokenize(self, text: str) -> list[int]:
        counted = self._server_tokens(text)
        if counted is None:
            counted = list(range(len(text.encode("utf-8")) // 2 + 1))
        return counted + [0] * TEMPLATE_MARGIN

    def _server_tokens(self, text: str) -> list[int] | None:
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
                return [int(t) if isinstance(t, int) else 0 for t in tokens]
        self._tokenizer = False
        return None

    def count(self, text: str) -> int:
        return len(self.tokenize(text))

    def stream(
        self,
        prompt_tokens: list[int],
        stop: Sequence[str],
        max_tokens: int,
        on_token: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        temperature: float | None = None,
        messages: Sequence[Message] | None = None,
    ) -> Completion:
        import httpx

        body = {
            "model": self.name,
            "messages": list(messages or []),
            "max_tokens": max_tokens,
            "temperature": self.settings.temperature if temperature is None else temperature,
            "seed": self.settings.seed,
            "stream": True,
        }
        if stop:
            body["stop"] = list(stop)
        result = Completion(prompt_tokens=len(prompt_tokens) - TEMPLATE_MARGIN)
        try:
            with self.lock, self._http.stream("POST", f"{self.api}/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ModelError(
                        f"the model server answered {response.status_code}: {response.text[:200]}"
                    )
                drain(_events(response.iter_lines(), result), result, on_token, cancel)
        except httpx.HTTPError as exc:
            raise NetworkError(f"the model server at {self.api} failed mid-answer: {exc}") from None
        return result


def _events(lines: Iterable[str], result: Completion) -> Iterator[tuple[str, str | None]]:
    """(piece, finish_reason) from server-sent events; the server's prompt count when it gives one."""
    for line in lines:
        event = _event(line)
        if event is None:
            continue
        if event == "[DONE]":
            return
        usage = event.get("usage") or {}
        if usage.get("prompt_tokens"):
            result.prompt_tokens = int(usage["prompt_tokens"])
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
