"""Keyword stopwords: localgpt's own list against bm25s' English list, by retrieval hit@k and MRR.

The same index and settings for both; only the keyword index is rebuilt with each list.

    localgpt --data-dir DATA ingest ../shared/eval/dev/corpus
    .venv/bin/python bench/stopwords_bench.py DATA ../shared/eval/dev/questions.jsonl
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import bm25s.stopwords

import localgpt.index.keyword as keyword
from localgpt.evaluation.metrics import load_questions, score
from localgpt.evaluation.run import evaluate
from localgpt.settings.config import load_settings
from localgpt.settings.layout import DataDir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("questions", type=Path)
    args = parser.parse_args()
    questions = load_questions(args.questions)
    settings = load_settings(None, {"paths.data_dir": str(args.data_dir)}).settings
    ours = keyword.STOPWORDS
    # Ours twice, before and after: the same figures mean the rebuild, not the order, decides.
    for name, words in [
        ("localgpt", ours),
        ("bm25s_en", frozenset(bm25s.stopwords.STOPWORDS_EN)),
        ("localgpt", ours),
    ]:
        keyword.STOPWORDS = words
        shutil.rmtree(DataDir(args.data_dir).keyword_root, ignore_errors=True)
        report = score(
            evaluate(settings, questions, retrieval_only=True, progress=False), settings.retrieval.k
        )
        print(name, len(words), json.dumps(report["retrieval"]), flush=True)


if __name__ == "__main__":
    main()
