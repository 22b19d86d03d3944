"""The chat model through llama-cpp-python: load once, count tokens, stream a completion."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localgpt.errors import ModelError
from localgpt.llm.base import ChatModel, Events, LoadReport
from localgpt.llm.chat_format import Message, Rendered, pick_renderer
from localgpt.llm.cpu_load import OtherLoad, decode_threads
from localgpt.llm.prefix_state import PrefixStates
from localgpt.models.files import resolve_llm_model
from localgpt.models.gguf import read_gguf
from localgpt.settings.layout import DataDir

if TYPE_CHECKING:
    from localgpt.settings.config import Settings


# The exact commands, because "rebuild with CUDA" sends people searching. llama-cpp-python compiles
# llama.cpp from source when CMAKE_ARGS is set; --no-cache-dir stops pip reusing the CPU-only wheel.
GPU_REINSTALL = {
    "CUDA": 'CMAKE_ARGS="-DGGML_CUDA=on" pip install --force-reinstall --no-cache-dir llama-cpp-python',
    "Metal": 'CMAKE_ARGS="-DGGML_METAL=on" pip install --force-reinstall --no-cache-dir llama-cpp-python',
    "Vulkan": 'CMAKE_ARGS="-DGGML_VULKAN=on" pip install --force-reinstall --no-cache-dir llama-cpp-python',
}


def no_gpu_message() -> str:
    """One line: this build can't offload, and how to get one that can."""
    commands = "; ".join(f"{backend}: {command}" for backend, command in GPU_REINSTALL.items())
    return (
        "this llama-cpp-python build has no GPU support, so the model runs on the CPU; "
        f"reinstall it with GPU support ({commands})"
    )


class LLM(ChatModel):
    """A GGUF model loaded in this process by llama-cpp-python. Token counts are exact."""

    def __init__(
        self,
        llama: Any,
        path: Path,
        settings: Settings,
        report: LoadReport,
        prefixes: PrefixStates | None = None,
    ) -> None:
        super().__init__()
        self._llama = llama
        self.path = path
        self.name = path.name
        self.settings = settings.llm
        self.report = report
        self.n_ctx = int(llama.n_ctx())
        meta = llama.metadata or {}
        bos = self._token_text(llama.token_bos())
        eos = self._token_text(llama.token_eos())
        self.chat_format, self._render = pick_renderer(
            self.settings.chat_format, meta.get("tokenizer.chat_template"), bos, eos, self.name
        )
        self._prefixes = prefixes or PrefixStates(None, str(path))
        self._prefix_tokens: dict[str, list[int]] = {}
        self.decode_threads = int(llama.n_threads)  # the last answer's, after cpu_load's choice

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        return self._llama.detokenize([token], special=True).decode("utf-8", errors="ignore")

    def render(self, messages: Sequence[Message]) -> Rendered:
        return self._render(messages)

    def tokenize(self, text: str) -> list[int]:
        # The rendered prompt spells its own BOS/special tokens, so none are added here.
        tokens: list[int] = self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return tokens

    def count(self, text: str) -> int:
        return len(self.tokenize(text))

    def forget_prompt(self) -> None:
        """Evaluate the next prompt from scratch. Reusing the cached prefix is faster but rounds
        differently, and `localgpt serve` must answer word for word as `ask` does in process."""
        with self.lock:
            self._llama.reset()

    def fixed_prefix(self, messages: Sequence[Message]) -> list[int]:
        """The tokens every prompt with this system message starts with, whatever the user asks:
        the template's opening, the system prompt, and the user turn's opening."""
        if not messages or messages[0]["role"] != "system":
            return []
        system = messages[0]["content"]
        if system not in self._prefix_tokens:
            one, two = (
                self.tokenize(self.render([messages[0], {"role": "user", "content": text}]).prompt)
                for text in ("a", "zebra")
            )
            pairs = enumerate(zip(one, two, strict=False))  # the shorter one may end first
            same = next((i for i, (x, y) in pairs if x != y), min(len(one), len(two)))
            self._prefix_tokens[system] = one[:same]
        return self._prefix_tokens[system]

    @contextlib.contextmanager
    def _events(
        self,
        messages: Sequence[Message],
        prompt: str,
        stop: Sequence[str],
        max_tokens: int,
        temperature: float,
    ) -> Iterator[Events]:
        window = OtherLoad.start()  # other processes' CPU use while the prompt is evaluated
        tokens = self.tokenize(prompt)
        prefix = self.fixed_prefix(messages)
        if prefix and tokens[: len(prefix)] == prefix:
            self._prefixes.restore(self._llama, prefix)  # llama.cpp then evaluates only the rest
            # ... in batches that start where a whole prompt's would: each batch attends to the
            # KV cells padded to the batch's end, so shifted batches cost ~6 % more here.
            aligned = -(-len(prefix) // self._llama.n_batch) * self._llama.n_batch
            if aligned < len(tokens):
                self._llama.eval(tokens[len(prefix) : aligned])
        chunks: Iterator[Any] = self._llama.create_completion(
            prompt=tokens,
            max_tokens=max_tokens,
            temperature=temperature,
            seed=self.settings.seed,
            repeat_penalty=self.settings.repeat_penalty,
            stop=list(stop),
            stream=True,
        )
        try:
            choices = (c["choices"][0] for c in chunks)
            events = ((c.get("text") or "", c.get("finish_reason")) for c in choices)
            yield self._decode_on_free_cores(events, window)
        finally:
            with contextlib.suppress(Exception):
                chunks.close()  # type: ignore[attr-defined]

    def _decode_on_free_cores(self, events: Events, window: OtherLoad) -> Events:
        """After the prompt (all threads), the answer's tokens use the cores that other processes
        left free while it was evaluated (cpu_load.py). A fixed [llm] n_threads is kept as set."""
        for i, event in enumerate(events):
            if i == 0 and self.settings.n_threads == 0:
                import llama_cpp

                batch = int(self._llama.n_threads_batch)
                self.decode_threads = decode_threads(batch, window.busy_cpus())
                llama_cpp.llama_set_n_threads(self._llama.ctx, self.decode_threads, batch)
            yield event


def _threads(configured: int) -> int | None:
    if configured > 0:
        return configured
    return max(1, (os.cpu_count() or 2))


def cpu_has_amx() -> bool:
    try:
        return "amx_tile" in Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False


@contextlib.contextmanager
def model_params(repack: bool) -> Iterator[None]:
    """llama-cpp-python has no argument for `use_extra_bufts`, so its default params are wrapped
    while one model loads (under the Resources lock, so no other load sees the wrapper)."""
    import llama_cpp.llama_cpp as raw

    if repack:
        yield
        return
    original = raw.llama_model_default_params

    def without_extra_buffers() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    raw.llama_model_default_params = without_extra_buffers
    try:
        yield
    finally:
        raw.llama_model_default_params = original


def load_llm(settings: Settings) -> LLM:
    path = resolve_llm_model(settings.llm.model, settings.paths.models_dir)
    # The whole header and tensor table, so a truncated or foreign file is refused with a clear
    # message (exit 5) instead of llama.cpp's bare "failed to load".
    info = read_gguf(path)
    import llama_cpp

    report = LoadReport(gpu_supported=bool(llama_cpp.llama_supports_gpu_offload()))
    wanted = settings.llm.n_gpu_layers
    layers = (-1 if report.gpu_supported else 0) if wanted == "auto" else int(wanted)
    if layers != 0 and not report.gpu_supported:
        # Only when GPU layers were asked for by number: with "auto" a CPU-only machine is normal.
        report.notes.append(f"[llm] n_gpu_layers = {wanted} asks for GPU offload, but " + no_gpu_message())
        layers = 0
    attempts = [0] if layers == 0 else _fallback_layers(layers, info.block_count)
    last_error: Exception | None = None
    for n in attempts:
        repack = settings.llm.cpu_repack == "on" or (settings.llm.cpu_repack == "auto" and not cpu_has_amx())
        try:
            with model_params(repack), _llama_log() as log:
                llama = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=settings.llm.n_ctx,
                    n_batch=min(settings.llm.n_batch, settings.llm.n_ctx),
                    n_threads=_threads(settings.llm.n_threads),
                    n_gpu_layers=n,
                    seed=settings.llm.seed,
                    flash_attn=use_flash_attention(settings.llm.flash_attn, n),
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            last_error = exc
            continue
        report.gpu_layers = _offloaded(log, n)
        if n != attempts[0]:
            total = f" of {info.block_count + 1}" if info.block_count else ""
            where = f"loaded with {n}{total} layers asked on the GPU" if n else "running on the CPU"
            report.notes.append(
                f"not enough GPU memory to load with n_gpu_layers = {attempts[0]}: {where}; "
                "set [llm] n_gpu_layers to a number, or use a smaller model or n_ctx, to choose yourself"
            )
        stat = path.stat()
        identity = "|".join(map(str, (
            path.resolve(), stat.st_size, stat.st_mtime_ns, llama_cpp.__version__, settings.llm.n_ctx,
            settings.llm.n_batch, n, repack, use_flash_attention(settings.llm.flash_attn, n),
        )))  # fmt: skip
        prefixes = PrefixStates(DataDir(settings.paths.data_dir).prompt_states, identity)
        return LLM(llama, path, settings, report, prefixes)
    raise ModelError(
        f"cannot load model {path}: {last_error}; the file may be truncated or corrupt, "
        "or too big for this machine's memory (try a smaller quantization)"
    )


def use_flash_attention(setting: str, gpu_layers: int) -> bool:
    """`[llm] flash_attn`; "auto" is on only with layers on a GPU. On CPU cores llama.cpp's flash
    attention evaluates a 1,367-token prompt ~10 % faster (4.65 s against 5.18 s, 2 cores), but then
    decodes at 35 tokens/s instead of 62, and beside two busy processes at 12-14 instead of 25-27
    (bench/README.md, "flash attention off on the CPU"): a whole answer is slower with it."""
    return setting == "on" or (setting == "auto" and gpu_layers != 0)


def _fallback_layers(layers: int, block_count: int | None = None) -> list[int]:
    """The asked-for offload first, then halving it, then the CPU: out of GPU memory is not fatal.

    -1 means every layer: `block_count` repeating blocks plus the output layer. Halving from the
    real count (not a guess) keeps the retries few: a 7B model (33 layers) tries -1, 16, 8, 4, 2,
    1, 0.
    """
    total = (block_count + 1) if block_count else 80
    n = total if layers < 0 else min(layers, total)
    steps = [layers]
    while n > 1:
        n //= 2
        steps.append(n)
    steps.append(0)
    return list(dict.fromkeys(steps))


@contextlib.contextmanager
def _llama_log() -> Iterator[list[str]]:
    """What llama.cpp logs while a model loads (it says how many layers it really offloaded)."""
    import ctypes

    import llama_cpp
    import llama_cpp._logger as quiet

    lines: list[str] = []

    @llama_cpp.llama_log_callback
    def record(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        lines.append(text.decode("utf-8", errors="replace"))

    llama_cpp.llama_log_set(record, ctypes.c_void_p(0))
    try:
        yield lines
    finally:
        llama_cpp.llama_log_set(quiet.llama_log_callback, ctypes.c_void_p(0))


_OFFLOADED = re.compile(r"offloaded (\d+)/(\d+) layers to GPU")


def _offloaded(log: Sequence[str], requested: int) -> int:
    """Layers llama.cpp reports it put on the GPU; 0 when it says nothing (a CPU-only build)."""
    if requested == 0:
        return 0
    found = _OFFLOADED.search("".join(log))
    return int(found.group(1)) if found else 0
