"""The int8 export's file name, on every CPU preset."""

from __future__ import annotations

import pytest

from localgpt.embed import export


@pytest.mark.parametrize("arch", sorted(export.QUANT_SUFFIX))
def test_int8_file_is_named_as_the_library_named_it(arch: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Caches exported before we passed the name ourselves must still be found: the name is the
    preset's weight type, then the preset (the AVX2 preset quantizes weights unsigned)."""
    from optimum.onnxruntime.configuration import AutoQuantizationConfig

    weights = getattr(AutoQuantizationConfig, arch)(is_static=False).weights_dtype.name.lower()
    monkeypatch.setattr(export, "quant_arch", lambda: arch)
    assert export.onnx_file("onnx-int8") == f"onnx/model_{weights}_{arch}.onnx"
    assert export.onnx_file("onnx") == "onnx/model.onnx"
