"""Remote embeddings: any OpenAI-compatible `/v1/embeddings` (`localgpt serve`, llama.cpp server
`--embeddings`, vLLM, TEI), so a laptop hands the heavy part of an ingest to a GPU box.

Token counts drive the splitter, and this machine can't see the server's tokenizer. When
`[embeddings] model` names a model this machine also has (the bundled MiniLM, a pulled
embedder, a local folder), its own tokenizer counts exactly, so chunks are the same as with
in-process embedding. Otherwise the count is an estimate, UTF-8 bytes / 2 (`estimate_tokens`),
which over-counts for every tokenizer we know (English runs about 4 bytes a token, CJK about 3),
so a chunk never outgrows the model; chunks are only smaller. The vector dimension comes from a
probe at load, which also checks the address and the token before any file is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from localgpt.embed.base import Embedder
from localgpt.errors import ModelError, NetworkError

if TYPE_CHECKING:
    from collections.abc import Callable

    from localgpt.settings.config import EmbeddingsSettings

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 120.0
ATTEMPTS = 5  # one try and four retries, 0.5 s .. 4 s apart: rides out a server restart
# Max input of a model whose config this machine lacks: the common BERT-family limit; with the
# over-counting estimate a chunk stays well under it.
DEFAULT_MAX_TOKENS = 512
PROBE = "dimension probe"


def estimate_tokens(text: str) -> int:
    """An upper bound on tokens for a tokenizer we can't see (see the module docstring)."""
    return len(text.encode("utf-8")) // 2 + 1


def token_counter(tokenizer_dir: str) -> Callable[[str], int] | None:
    """The model's own counter when `tokenizer_dir` holds its tokenizer.json, else None."""
    tokenizer_json = Path(tokenizer_dir) / "tokenizer.json" if tokenizer_dir else None
    if tokenizer_json is None or not tokenizer_json.is_file():
        return None
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    tok.no_truncation()
    tok.no_padding()
    return lambda text: len(tok.encode(text, add_special_tokens=True).ids)


class _Retryable(Exception):
    """A failure worth another try: no connection, a timeout, a 5xx or a 429."""


class OpenAIEmbedder(Embedder):
    """Vectors from a server; see the module docstring for token counts."""

    def __init__(self, name: str, source: str, settings: EmbeddingsSettings, cache_dir: Path) -> None:
        import httpx

        if not settings.base_url:
            raise ModelError(
                "[embeddings] backend = 'openai' needs [embeddings] base_url, e.g. http://gpu-box:8080/v1"
            )
        base = settings.base_url.rstrip("/")
        self.api = base if base.endswith("/v1") else base + "/v1"
        self.batch_size = settings.batch_size
        # The model asked for: a local name the server knows too, else the configured string.
        self.request_model = name if settings.model == "auto" else settings.model
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        self._http = httpx.Client(headers=headers, timeout=timeout)
        # A folder with the same model's tokenizer counts exactly; the ingest worker reads it too.
        self.tokenizer_dir = source if token_counter(source) is not None else ""
        self._count = token_counter(self.tokenizer_dir) or estimate_tokens
        self.max_tokens = _max_seq_length(self.tokenizer_dir) or DEFAULT_MAX_TOKENS
        vectors, served_name = self._embed([PROBE])
        # The name the server gives is what the collection records, so an index built in-process
        # with the same model is shared with machines that embed remotely.
        self.name = served_name or self.request_model
        self.dimension = int(vectors.shape[1])

    def count_tokens(self, text: str) -> int:
        return self._count(text)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [
            self._embed(texts[i : i + self.batch_size])[0] for i in range(0, len(texts), self.batch_size)
        ]
        return np.vstack(parts)

    def _embed(self, texts: Sequence[str]) -> tuple[np.ndarray, str]:
        """Unit vectors for one batch, and the model name the server answered with."""
        from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_exponential

        post = retry(
            retry=retry_if_exception_type(_Retryable),
            stop=stop_after_attempt(ATTEMPTS),
            wait=wait_exponential(multiplier=0.5, max=4),
            reraise=True,
        )(self._post)
        try:
            data = post({"model": self.request_model, "input": list(texts), "encoding_format": "float"})
        except _Retryable as exc:
            raise NetworkError(
                f"cannot reach the embedding server at {self.api} after {ATTEMPTS} tries: {exc}"
            ) from None
        rows = sorted(data.get("data") or [], key=lambda row: int(row.get("index", 0)))
        if len(rows) != len(texts):
            raise ModelError(
                f"the embedding server at {self.api} sent {len(rows)} vectors for {len(texts)} texts"
            )
        vectors = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12), str(data.get("model") or "")

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        try:
            response = self._http.post(f"{self.api}/embeddings", json=body)
        except httpx.HTTPError as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retryable(f"it answered {response.status_code}: {response.text[:200]}")
        if response.status_code in (401, 403):
            raise ModelError(
                f"the embedding server at {self.api} refused the token ({response.status_code}); "
                "check [embeddings] api_key"
            )
        if response.status_code >= 400:
            raise ModelError(
                f"the embedding server at {self.api} answered {response.status_code}: {_detail(response)}"
            )
        try:
            result: dict[str, Any] = response.json()
        except ValueError:
            raise ModelError(
                f"the embedding server at {self.api} sent no JSON: {response.text[:200]}"
            ) from None
        return result


def _detail(response: Any) -> str:
    try:
        return str(response.json().get("error", {}).get("message") or response.text[:200])
    except (ValueError, AttributeError):
        return str(response.text[:200])


def _max_seq_length(folder: str) -> int:
    import json

    if not folder:
        return 0
    try:
        return int(json.loads((Path(folder) / "sentence_bert_config.json").read_text())["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0
