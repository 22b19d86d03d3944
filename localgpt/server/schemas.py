"""Request bodies. Unknown fields are ignored, as OpenAI clients send many (top_p, n, user, ...);
a wrong type or a missing field is a 400 that names the field."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_MESSAGES = 256
MAX_EMBED_INPUTS = 2048


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TextPart(_Body):
    type: str
    text: str | None = None


class ChatMessage(_Body):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class StreamOptions(_Body):
    include_usage: bool = False


class ChatRequest(_Body):
    model: str
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: StreamOptions | None = None
    # Ours: chunks to retrieve, and a glob restricting the files (like `ask -k` and `--source`).
    k: int | None = Field(None, ge=1, le=100)
    source: str | None = Field(None, max_length=1000)


class EmbeddingsRequest(_Body):
    model: str = ""
    input: str | list[str]  # token arrays are refused (a 400): this server embeds text
    encoding_format: Literal["float", "base64"] = "float"

    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else list(self.input)


class SearchRequest(_Body):
    query: str = Field(min_length=1)
    model: str = ""  # the collection, as `localgpt:<name>`; the default one when empty
    k: int | None = Field(None, ge=1, le=100)
    source: str | None = Field(None, max_length=1000)
