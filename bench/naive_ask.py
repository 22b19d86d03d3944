"""The baseline of ask_bench.py: a naive one-question RAG script that imports everything up front.

It answers like `localgpt ask` does (same index, same k, same system prompt and context labels,
the same GGUF chat template, n_ctx, n_threads, n_batch, flash_attn, seed, temperature,
max_tokens and repeat_penalty), the way a script written without care for start-up would:
every heavy library imported at the top, the embedder on torch through HuggingFaceEmbeddings,
LangChain's Chroma wrapper, vector search only, `create_chat_completion(stream=True)`.

Usage: python bench/naive_ask.py CONFIG DATA_DIR MODEL_PATH "question"
The answer streams to stdout; the sources and a JSON line of counts go to stderr.
"""

from __future__ import annotations

import os

os.environ.update(
    {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "TOKENIZERS_PARALLELISM": "false",
    }
)

import json
import sys
import warnings

warnings.simplefilter("ignore")

import chromadb  # noqa: E402, F401
import langchain  # noqa: E402, F401
import llama_cpp  # noqa: E402
import sentence_transformers  # noqa: E402, F401
import textual.app  # noqa: E402, F401
import torch  # noqa: E402, F401
from chromadb.config import Settings as ChromaSettings  # noqa: E402
from langchain_chroma import Chroma  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_huggingface import HuggingFaceEmbeddings  # noqa: E402

from localgpt.llm.llama_cpp import use_flash_attention  # noqa: E402
from localgpt.models.files import resolve_embedder  # noqa: E402
from localgpt.rag.prompt import SYSTEM_PROMPT, build_messages  # noqa: E402
from localgpt.rag.sources import label  # noqa: E402
from localgpt.settings.config import load_settings  # noqa: E402


def main() -> int:
    config, data_dir, model_path, question = sys.argv[1:5]
    settings = load_settings(config, {"paths.data_dir": data_dir}).settings
    llm_cfg = settings.llm
    embeddings = HuggingFaceEmbeddings(model_name=resolve_embedder("auto")[1], model_kwargs={"device": "cpu"})
    store = Chroma(
        collection_name=settings.store.collection,
        embedding_function=embeddings,
        persist_directory=os.path.join(data_dir, "chroma"),
        client_settings=ChromaSettings(anonymized_telemetry=False, is_persistent=True),
    )
    docs = store.similarity_search(question, k=settings.retrieval.k)
    chunks = [Document(page_content=d.page_content, metadata={**d.metadata, "score": 0.0}) for d in docs]
    messages = build_messages(question, chunks, list(range(len(chunks))), [], SYSTEM_PROMPT)
    gpu = bool(llama_cpp.llama_supports_gpu_offload()) and llm_cfg.n_gpu_layers != 0
    from localgpt.llm.llama_cpp import cpu_has_amx, model_params

    with model_params(repack=not cpu_has_amx()):  # AMX faults on some VMs (localgpt/llm/llama_cpp.py)
        llm = llama_cpp.Llama(
            model_path=model_path,
            n_ctx=llm_cfg.n_ctx,
            n_batch=min(llm_cfg.n_batch, llm_cfg.n_ctx),
            n_threads=llm_cfg.n_threads or os.cpu_count(),
            n_gpu_layers=-1 if gpu else 0,
            seed=llm_cfg.seed,
            flash_attn=use_flash_attention(llm_cfg.flash_attn, -1 if gpu else 0),
            verbose=False,
        )
    pieces = 0
    for chunk in llm.create_chat_completion(
        messages=messages,  # type: ignore[arg-type]
        max_tokens=llm_cfg.max_tokens,
        temperature=llm_cfg.temperature,
        seed=llm_cfg.seed,
        repeat_penalty=llm_cfg.repeat_penalty,
        stream=True,
    ):
        text = chunk["choices"][0]["delta"].get("content")  # type: ignore[index, union-attr]
        if text:
            pieces += 1
            sys.stdout.write(text)
            sys.stdout.flush()
    sys.stdout.write("\n")
    sys.stdout.flush()
    for n, chunk in enumerate(chunks, 1):
        print(f"[{n}] {label(chunk.metadata)}", file=sys.stderr)
    print(json.dumps({"completion_pieces": pieces, "sources": len(chunks)}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
