"""The classic LocalGPT ingest recipe, the baseline of ingest_bench.py.

LangChain loaders load every document first; then RecursiveCharacterTextSplitter(1000, 200),
HuggingFaceEmbeddings (sentence-transformers on torch, CPU) and Chroma.from_documents, persisted.
Loaders as in LocalGPT's DOCUMENT_MAP, with offline stand-ins where it used `unstructured`:
PyPDFLoader, BSHTMLLoader, TextLoader (txt, md, code), Docx2txtLoader, CSVLoader.

Usage: python bench/classic_ingest.py CORPUS PERSIST_DIR EMBEDDER_FOLDER
Prints one JSON object: documents, chunks, failures, and the time of each phase.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.update(
    {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "TOKENIZERS_PARALLELISM": "false",
    }
)

import warnings

warnings.simplefilter("ignore")

from chromadb.config import Settings as ChromaSettings  # noqa: E402
from langchain_chroma import Chroma  # noqa: E402
from langchain_community.document_loaders import (  # noqa: E402
    BSHTMLLoader,
    CSVLoader,
    Docx2txtLoader,
    PyPDFLoader,
    TextLoader,
)
from langchain_huggingface import HuggingFaceEmbeddings  # noqa: E402
from langchain_text_splitters import RecursiveCharacterTextSplitter  # noqa: E402

LOADERS = {
    ".pdf": PyPDFLoader,
    ".html": BSHTMLLoader,
    ".htm": BSHTMLLoader,
    ".txt": TextLoader,
    ".md": TextLoader,
    ".py": TextLoader,
    ".csv": CSVLoader,
    ".docx": Docx2txtLoader,
    ".doc": Docx2txtLoader,
}


def load_documents(folder: Path) -> tuple[list, list[tuple[str, str]]]:
    docs, failures = [], []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        loader_cls = LOADERS.get(path.suffix.lower())
        if loader_cls is None:
            failures.append((str(path), "no loader"))
            continue
        kwargs = {"encoding": "utf-8"} if loader_cls in (TextLoader, CSVLoader) else {}
        if loader_cls is BSHTMLLoader:
            kwargs = {"open_encoding": "utf-8"}
        try:
            docs.extend(loader_cls(str(path), **kwargs).load())
        except Exception as exc:  # the classic recipe logs and goes on, so do we
            failures.append((str(path), f"{type(exc).__name__}: {exc}"[:200]))
    return docs, failures


def main() -> int:
    corpus, persist, embedder = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    t0 = time.perf_counter()
    docs, failures = load_documents(corpus)
    t1 = time.perf_counter()
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunks = splitter.split_documents(docs)
    t2 = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=embedder, model_kwargs={"device": "cpu"})
    t3 = time.perf_counter()
    Chroma.from_documents(
        chunks,
        embeddings,
        persist_directory=persist,
        client_settings=ChromaSettings(anonymized_telemetry=False, is_persistent=True),
    )
    t4 = time.perf_counter()
    print(
        json.dumps(
            {
                "documents": len(docs),
                "chunks": len(chunks),
                "failures": failures,
                "load_s": round(t1 - t0, 2),
                "split_s": round(t2 - t1, 2),
                "model_load_s": round(t3 - t2, 2),
                "embed_store_s": round(t4 - t3, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
