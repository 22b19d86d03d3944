"""The fixed start of every prompt (chat template and system prompt), evaluated once and kept.

Every answer's prompt opens with the same ~100 tokens. A cold `localgpt ask` evaluated them each
time: 0.3 s with the bundled SmolLM2 here, seconds with a 7B model on a CPU. Their llama.cpp state
(the KV cells and the last logits) is kept in memory and in the data dir, keyed by the model file,
the llama.cpp build and the context settings, and restored in milliseconds.

Every prompt with a system message is evaluated as this prefix, then the rest. Restored or
computed, the prefix's state is the same bytes, so `ask` in process and through `localgpt serve`
still answer word for word alike.
"""

from __future__ import annotations

import ctypes
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from localgpt.settings.atomic import write_atomically

KEEP_FILES = 8  # one per system prompt (language) and model; older ones are deleted


class PrefixStates:
    """Saved states of prompt prefixes for one loaded model; `folder` None keeps them in memory."""

    def __init__(self, folder: Path | None, identity: str) -> None:
        self.folder = folder
        self.identity = identity
        self._memory: dict[str, bytes] = {}

    def restore(self, llama: Any, prefix: Sequence[int]) -> None:
        """Leave `llama` holding exactly `prefix` evaluated, from a saved state when there is one."""
        import llama_cpp

        key = hashlib.sha256(f"{self.identity}|{','.join(map(str, prefix))}".encode()).hexdigest()[:32]
        state = self._memory.get(key) or self._read(key)
        ctx = llama._ctx.ctx
        if state is not None:
            buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
            if llama_cpp.llama_state_set_data(ctx, buffer, len(state)) == len(state):
                llama.input_ids[: len(prefix)] = prefix
                llama.n_tokens = len(prefix)
                llama._requires_eval = True  # the restored logits are not a live decode's
                self._memory[key] = state
                return
        llama.reset()
        llama.eval(list(prefix))
        size = llama_cpp.llama_state_get_size(ctx)
        buffer = (ctypes.c_uint8 * size)()
        state = bytes(buffer[: llama_cpp.llama_state_get_data(ctx, buffer, size)])
        self._memory[key] = state
        self._write(key, state)

    def _read(self, key: str) -> bytes | None:
        if self.folder is None:
            return None
        try:
            return (self.folder / f"{key}.state").read_bytes()
        except OSError:
            return None

    def _write(self, key: str, state: bytes) -> None:
        """Best effort: a read-only or full data dir only means the next process evaluates again."""
        if self.folder is None:
            return
        try:
            write_atomically(self.folder / f"{key}.state", state)
            saved = sorted(self.folder.glob("*.state"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in saved[KEEP_FILES:]:
                old.unlink(missing_ok=True)
        except OSError:
            pass
