"""A small GGUF reader: the header, the metadata and the tensor table, never the weights.

It lets `doctor`, `models list` and the loader say what a model file is, and refuse a truncated
or foreign file with a clear message, without handing it to llama.cpp (which reports such files
only as "failed to load"). The layout is the one in ggml's docs/gguf.md: magic, version, tensor
count, KV count, the KV pairs, the tensor infos, padding to `general.alignment`, the data.

The file is memory-mapped and parsed with `struct.unpack_from`, so skipping the big tokenizer
arrays (tens of thousands of strings) costs a few milliseconds and nothing is copied.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localgpt.errors import ModelError

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32
# Far above any real model; a count past these means the file is corrupt, not huge.
_MAX_KV = 1 << 20
_MAX_TENSORS = 1 << 24
_MAX_DIMS = 8
_KEPT_STRING = 1 << 20  # longer string values (none in practice) are skipped, not kept

# GGUF value types (gguf.md): code -> struct format of a fixed-size scalar.
_UINT8, _INT8, _UINT16, _INT16, _UINT32, _INT32, _FLOAT32, _BOOL = range(8)
_STRING, _ARRAY, _UINT64, _INT64, _FLOAT64 = range(8, 13)
_SCALARS = {
    _UINT8: "B",
    _INT8: "b",
    _UINT16: "H",
    _INT16: "h",
    _UINT32: "I",
    _INT32: "i",
    _FLOAT32: "f",
    _BOOL: "?",
    _UINT64: "Q",
    _INT64: "q",
    _FLOAT64: "d",
}
TYPE_NAMES = {
    _UINT8: "uint8",
    _INT8: "int8",
    _UINT16: "uint16",
    _INT16: "int16",
    _UINT32: "uint32",
    _INT32: "int32",
    _FLOAT32: "float32",
    _BOOL: "bool",
    _STRING: "string",
    _ARRAY: "array",
    _UINT64: "uint64",
    _INT64: "int64",
    _FLOAT64: "float64",
}


def _ggml_type(code: int) -> tuple[str, int, int]:
    """(name, elements per block, bytes per block) of a ggml tensor type, from the `gguf` package
    that llama.cpp publishes; an unknown type gives (code, 0, 0) and just skips the size check."""
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    try:
        kind = GGMLQuantizationType(code)
    except ValueError:
        return str(code), 0, 0
    per_block, nbytes = GGML_QUANT_SIZES.get(kind, (0, 0))
    return kind.name, per_block, nbytes


class GGUFError(ModelError):
    """The file is not a GGUF, or not a whole one (exit code 5, like every model problem)."""


@dataclass(frozen=True)
class GGUFArray:
    """An array value, summarised: the tokenizer's are far too big to keep."""

    item_type: str
    count: int


@dataclass(frozen=True)
class GGUFInfo:
    path: Path
    version: int
    tensor_count: int
    metadata: dict[str, Any]
    file_size: int
    expected_size: int | None = None  # where the last tensor's data ends; None if unknowable
    parameter_count: int = 0  # elements of all tensors: the model's size in parameters

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name", ""))

    def _arch_int(self, key: str) -> int | None:
        value = self.metadata.get(f"{self.architecture}.{key}")
        return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    @property
    def context_length(self) -> int | None:
        return self._arch_int("context_length")

    @property
    def block_count(self) -> int | None:
        return self._arch_int("block_count")

    @property
    def has_chat_template(self) -> bool:
        template = self.metadata.get("tokenizer.chat_template")
        return isinstance(template, str) and bool(template.strip())

    @property
    def vocab_size(self) -> int | None:
        tokens = self.metadata.get("tokenizer.ggml.tokens")
        return tokens.count if isinstance(tokens, GGUFArray) else None

    def summary(self) -> dict[str, Any]:
        """The facts people ask about, JSON-ready."""
        return {
            "path": str(self.path),
            "size": self.file_size,
            "gguf_version": self.version,
            "architecture": self.architecture,
            "name": self.name,
            "context_length": self.context_length,
            "block_count": self.block_count,
            "chat_template": self.has_chat_template,
            "tensors": self.tensor_count,
            "vocab_size": self.vocab_size,
            "parameters": self.parameter_count,
        }


class _Reader:
    """Bounds-checked reads from the mapped file; running off its end means it is truncated."""

    def __init__(self, buf: mmap.mmap | bytes, path: Path, order: str) -> None:
        self.buf = buf
        self.size = len(buf)
        self.pos = 0
        self.path = path
        self.order = order

    def _need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise GGUFError(
                f"{self.path} is truncated or corrupt: {what} at byte {self.pos} runs past the end "
                f"of the file ({self.size} bytes); download it again "
                "(`localgpt models pull NAME --force`)"
            )

    def scalar(self, fmt: str, what: str) -> Any:
        fmt = self.order + fmt
        n = struct.calcsize(fmt)
        self._need(n, what)
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return value

    def u32(self, what: str) -> int:
        return int(self.scalar("I", what))

    def u64(self, what: str) -> int:
        return int(self.scalar("Q", what))

    def string(self, what: str, keep: bool = True) -> str | None:
        length = self.u64(what + " length")
        self._need(length, what)
        start = self.pos
        self.pos += length
        if not keep or length > _KEPT_STRING:
            return None
        return bytes(self.buf[start : self.pos]).decode("utf-8", errors="replace")

    def skip(self, n: int, what: str) -> None:
        self._need(n, what)
        self.pos += n


def _value(r: _Reader, vtype: int, key: str, whole: bool = False) -> Any:
    if vtype in _SCALARS:
        return r.scalar(_SCALARS[vtype], f"value of '{key}'")
    if vtype == _STRING:
        return r.string(f"value of '{key}'")
    if vtype == _ARRAY:
        return _array(r, key, whole)
    raise GGUFError(f"{r.path} is corrupt: metadata '{key}' has unknown value type {vtype}")


def _array(r: _Reader, key: str, whole: bool) -> tuple[str, ...] | GGUFArray:
    """Stepped over (its type and length kept), or with `whole` an array of strings read whole."""
    item = r.u32(f"array type of '{key}'")
    count = r.u64(f"array length of '{key}'")
    if whole and item == _STRING and count <= r.size:
        return tuple(r.string(f"item {i} of '{key}'") or "" for i in range(count))
    _skip_items(r, item, count, key)
    return GGUFArray(TYPE_NAMES.get(item, str(item)), count)


def _skip_items(r: _Reader, item: int, count: int, key: str) -> None:
    """Step over an array without building it: one jump for fixed-size items."""
    if item in _SCALARS:
        r.skip(count * struct.calcsize(_SCALARS[item]), f"array '{key}'")
        return
    if item == _STRING:
        if count > r.size:
            r.skip(count, f"array '{key}'")  # more strings than bytes: cannot be whole
        fmt = r.order + "Q"
        unpack = struct.Struct(fmt).unpack_from
        buf, pos, size = r.buf, r.pos, r.size
        for _ in range(count):
            if pos + 8 > size:
                r.pos = pos
                r.skip(8, f"array '{key}'")
            (length,) = unpack(buf, pos)
            pos += 8 + length
        r.pos = pos
        r.skip(0, f"array '{key}'")  # the last string's bytes must be there too
        return
    if item == _ARRAY:
        for i in range(count):
            _value(r, _ARRAY, f"{key}[{i}]")
        return
    raise GGUFError(f"{r.path} is corrupt: array '{key}' has unknown item type {item}")


def _open(path: Path) -> tuple[Any, int]:
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise GGUFError(f"cannot read model file {path}: {exc.strerror}") from None
    size = path.stat().st_size
    return fh, size


def read_gguf(path: Path, check_size: bool = True, strings: Collection[str] = ()) -> GGUFInfo:
    """Parse the header, metadata and tensor table of `path`.

    Raises GGUFError (exit 5) for a file that is not a GGUF, is cut short anywhere, or (with
    `check_size`) is shorter than its own tensor table says its data should be. Without
    `check_size`, `expected_size` is None: the ggml type tables (the `gguf` package, ~0.1 s to
    import) are not needed for the parameter count, which `ask` reads on every start.
    `strings` names string arrays to read whole (a tuple in `metadata`), such as
    "tokenizer.ggml.tokens"; every other array is stepped over.
    """
    path = Path(path)
    fh, size = _open(path)
    with fh:
        magic = fh.read(4)
        if magic != MAGIC:
            raise GGUFError(
                f"{path} is not a GGUF model file (bad magic {magic!r}); "
                "download a .gguf (e.g. `localgpt models pull llama-2-7b-chat`)"
            )
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _parse(buf, path, size, check_size, frozenset(strings))


def _parse(buf: mmap.mmap, path: Path, size: int, check_size: bool, strings: frozenset[str]) -> GGUFInfo:
    order = "<"
    r = _Reader(buf, path, order)
    r.pos = 4
    version = r.u32("version")
    if version > 0xFFFF:
        # A big-endian file (s390x builds): its version reads byte-swapped.
        order = ">"
        r.order = order
        r.pos = 4
        version = r.u32("version")
    if version not in (1, 2, 3):
        raise GGUFError(f"{path} has GGUF version {version}, which this reader does not know (1-3)")
    # Version 1 used 32-bit counts and lengths; llama.cpp dropped it long ago.
    if version == 1:
        raise GGUFError(f"{path} is a GGUF version 1 file, which llama.cpp no longer loads; get a newer one")
    tensor_count = r.u64("tensor count")
    kv_count = r.u64("metadata count")
    if kv_count > _MAX_KV or tensor_count > _MAX_TENSORS:
        raise GGUFError(
            f"{path} is corrupt: implausible header ({tensor_count} tensors, {kv_count} metadata keys)"
        )
    metadata: dict[str, Any] = {}
    for i in range(kv_count):
        key = r.string(f"metadata key #{i}") or f"#{i}"
        vtype = r.u32(f"value type of '{key}'")
        metadata[key] = _value(r, vtype, key, whole=key in strings)

    expected, parameters = _tensor_table(r, tensor_count, metadata, check_size)
    info = GGUFInfo(
        path=path,
        version=version,
        tensor_count=tensor_count,
        metadata=metadata,
        file_size=size,
        expected_size=expected,
        parameter_count=parameters,
    )
    if check_size and expected is not None and size < expected:
        raise GGUFError(
            f"{path} is truncated: {size} bytes, but its tensors need {expected}; "
            "the download was probably cut short, so pull it again "
            "(`localgpt models pull NAME --force`)"
        )
    return info


def _tensor_table(r: _Reader, count: int, metadata: dict[str, Any], sizes: bool) -> tuple[int | None, int]:
    """Read the tensor infos; return where the data should end (None when a type is unknown, or
    without `sizes`) and the number of parameters (elements of all tensors)."""
    end = 0
    parameters = 0
    known = sizes
    for i in range(count):
        r.string(f"name of tensor #{i}", keep=False)
        n_dims = r.u32(f"dimensions of tensor #{i}")
        if n_dims > _MAX_DIMS:
            raise GGUFError(f"{r.path} is corrupt: tensor #{i} has {n_dims} dimensions")
        elements = 1
        for d in range(n_dims):
            elements *= r.u64(f"dimension {d} of tensor #{i}")
        parameters += elements
        ggml_type = r.u32(f"type of tensor #{i}")
        offset = r.u64(f"offset of tensor #{i}")
        if not sizes:
            continue
        _, per_block, nbytes = _ggml_type(ggml_type)
        if not per_block:
            known = False
            continue
        end = max(end, offset + (elements + per_block - 1) // per_block * nbytes)
    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        alignment = DEFAULT_ALIGNMENT
    data_offset = (r.pos + alignment - 1) // alignment * alignment
    return (data_offset + end if known else None), parameters
