"""Common English words, read from the two bundled models' vocabularies: nothing extra to ship.

The relevance gate asks whether a word of the question is an ordinary word (which a paraphrase may
use and the documents not) or a name. The embedder's WordPiece vocabulary (bert-base-uncased) holds
~21,000 whole words; the LLM's byte-level BPE vocabulary has ~25,000 that follow a space ("Ġ"),
among them "override", "omit" and "schematic", which the first lacks: ~30,000 together.
"""

from __future__ import annotations

import functools
from pathlib import Path

from localgpt.errors import ModelError
from localgpt.models.files import bundled_llm_path, resolve_embedder
from localgpt.models.gguf import GGUFError, read_gguf

_BPE_SPACE = "\u0120"  # "Ġ": GPT-2's byte-level mark for a leading space
_TOKENS = "tokenizer.ggml.tokens"


@functools.cache
def english_words() -> frozenset[str]:
    """Lower-cased alphabetic words; empty when neither bundled model is installed."""
    return frozenset(w for w in (*_wordpiece_words(), *_bpe_words()) if w.isascii() and w.isalpha())


def _wordpiece_words() -> list[str]:
    try:
        vocab = Path(resolve_embedder("auto")[1]) / "vocab.txt"
        return [w for w in vocab.read_text(encoding="utf-8").split() if w.islower()]
    except (ModelError, OSError):
        return []


def _bpe_words() -> list[str]:
    path = bundled_llm_path()
    if path is None:
        return []
    try:
        tokens = read_gguf(path, check_size=False, strings=[_TOKENS]).metadata.get(_TOKENS)
    except GGUFError:
        return []
    if not isinstance(tokens, tuple):
        return []
    return [t[1:].lower() for t in tokens if t.startswith(_BPE_SPACE)]
