"""Which backend serves `[llm] backend`: the one place to add a chat-model backend.

A new backend is one module with a `ChatModel` subclass (or a loader function returning one) and
one entry here. Modules are imported only when chosen: llama_cpp is heavy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localgpt.llm.base import ChatModel
    from localgpt.settings.config import Settings

# backend -> "module:callable(settings) -> ChatModel"
BACKENDS: dict[str, str] = {
    "llama-cpp": "localgpt.llm.llama_cpp:load_llm",
    "openai": "localgpt.llm.openai_server:OpenAIServerLLM",
}


def load_chat_model(settings: Settings) -> ChatModel:
    module, name = BACKENDS[settings.llm.backend].split(":")
    model: ChatModel = getattr(importlib.import_module(module), name)(settings)
    return model
