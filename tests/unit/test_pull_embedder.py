"""Which files of a hub repo an embedder pull takes, and the hashes it checks them against."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from localgpt.errors import ModelError
from localgpt.models.catalogue import find_entry, load_catalogue
from localgpt.models.pull_embedder import HubFile, choose_files, git_blob_sha1

E5 = find_entry("multilingual-e5-small", load_catalogue())


def small(path: str) -> HubFile:
    return HubFile(path, 100, None, "a" * 40)


def big(path: str) -> HubFile:
    return HubFile(path, 10**8, "b" * 64, None)


# The layout of intfloat/multilingual-e5-small on the hub (file names only).
E5_REPO = [
    small(".gitattributes"), small("README.md"), small("config.json"), small("modules.json"),
    small("sentence_bert_config.json"), small("special_tokens_map.json"), small("tokenizer.json"),
    small("tokenizer_config.json"), big("sentencepiece.bpe.model"), small("1_Pooling/config.json"),
    big("model.safetensors"), big("pytorch_model.bin"), big("onnx/model.onnx"), small("onnx/config.json"),
    big("tf_model.h5"), big("openvino/openvino_model.bin"),
]  # fmt: skip


def test_takes_configs_tokenizer_and_one_weights_file() -> None:
    assert E5 is not None
    chosen = [f.path for f in choose_files(E5_REPO, E5)]
    assert sorted(chosen) == sorted([
        "config.json", "modules.json", "sentence_bert_config.json", "special_tokens_map.json",
        "tokenizer.json", "tokenizer_config.json", "sentencepiece.bpe.model", "1_Pooling/config.json",
        "model.safetensors",
    ])  # fmt: skip


def test_falls_back_to_pytorch_weights_and_refuses_what_is_not_sentence_transformers() -> None:
    assert E5 is not None
    no_safetensors = [f for f in E5_REPO if f.path != "model.safetensors"]
    assert choose_files(no_safetensors, E5)[-1].path == "pytorch_model.bin"
    with pytest.raises(ModelError, match=r"not a sentence-transformers model: it has no modules\.json"):
        choose_files([f for f in E5_REPO if f.path != "modules.json"], E5)


def test_a_pinned_weights_sha256_must_match_the_hub() -> None:
    assert E5 is not None
    from dataclasses import replace

    pinned = replace(E5, sha256="c" * 64)
    with pytest.raises(ModelError, match="the file on the hub has changed; nothing was downloaded"):
        choose_files(E5_REPO, pinned)
    assert choose_files(E5_REPO, replace(E5, sha256="b" * 64))  # the same hash: fine


def test_a_file_without_a_published_hash_is_refused() -> None:
    assert E5 is not None
    unhashed = [HubFile("config.json", 10, None, None), *[f for f in E5_REPO if f.path != "config.json"]]
    with pytest.raises(ModelError, match=r"published no hash for config\.json"):
        choose_files(unhashed, E5)


def test_git_blob_sha1_is_gits(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b'{"hidden_size": 384}\n')
    expected = subprocess.run(
        ["git", "hash-object", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert git_blob_sha1(path) == expected
