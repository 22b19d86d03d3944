"""The RAG chain in-process: retrieval (Chinese included), abstention, and follow-up condensation.

Real Chroma over examples/docs, the bundled embedder and the bundled SmolLM2 GGUF (loaded once for
the module). The only fake is a scripted LLM subclass that injects unusable rewrites.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from chromadb.api.client import SharedSystemClient

from localgpt.llm.base import Completion
from localgpt.llm.llama_cpp import LLM
from localgpt.rag.answer import RAG, ChatSession
from localgpt.rag.prompt import ABSTAIN_TEXT
from localgpt.rag.resources import Resources
from localgpt.rag.sources import Source
from localgpt.settings.config import Settings

pytestmark = pytest.mark.llm

MANUAL_Q = "How many pages does the Aurora K7 user manual have?"
WATER_Q = "How much water does the Aurora K7 water tank hold?"


def make_settings(data_dir: Path, models_dir: Path, **llm: Any) -> Settings:
    # Built directly (no env, no config file), so nothing outside tmp_path leaks in.
    return Settings(
        paths={"data_dir": str(data_dir), "models_dir": str(models_dir)},
        llm={"max_tokens": 48, "temperature": 0.0, **llm},
        answer={"mode": "generate"},
    )


@pytest.fixture(scope="module")
def settings(indexed_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return make_settings(indexed_data_dir, tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def rag(settings: Settings) -> Iterator[RAG]:
    """One RAG (one embedder, one loaded LLM) for the module."""
    yield RAG(Resources(settings))
    SharedSystemClient.clear_system_cache()


def names(sources: Sequence[Source]) -> list[str]:
    return [Path(s.source).name for s in sources]


def test_chinese_question_finds_the_chinese_document(rag: RAG) -> None:
    sources = rag.retrieve("Aurora K7 的预热时间是多少？")
    assert "zh-quickstart.md" in names(sources), [s.label for s in sources]
    assert names(sources)[0] == "zh-quickstart.md"
    top = sources[0]
    assert "45 秒" in top.text
    assert top.score >= rag.settings.retrieval.abstain_threshold  # it would be answered, not abstained


def test_retrieval_finds_the_right_page_and_respects_k_and_glob(rag: RAG) -> None:
    sources = rag.retrieve(WATER_Q)
    assert len(sources) == rag.settings.retrieval.k
    assert [s.n for s in sources] == list(range(1, len(sources) + 1))
    assert any(Path(s.source).name == "aurora-k7-manual.pdf" and s.page == 2 for s in sources)
    assert len(rag.retrieve(WATER_Q, k=2)) == 2
    assert all(0.0 <= s.score <= 1.0 for s in sources)

    only_md = rag.retrieve(WATER_Q, source_glob="*.md")
    assert only_md and set(names(only_md)) <= {"warranty.md", "zh-quickstart.md"}
    assert rag.retrieve(WATER_Q, source_glob="*.nothing") == []


def test_as_retriever_plugs_into_langchain_and_is_the_path_answers_take(
    rag: RAG, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langchain_core.retrievers import BaseRetriever
    from langchain_core.runnables import RunnableLambda

    import localgpt
    from localgpt.rag.retrieval import HybridRetriever

    retriever = localgpt.as_retriever(k=3, **{"paths.data_dir": str(settings.paths.data_dir)})
    assert isinstance(retriever, BaseRetriever)
    where = RunnableLambda(
        lambda docs: [(Path(d.metadata["source"]).name, d.metadata.get("page")) for d in docs]
    )
    found = (retriever | where).invoke(WATER_Q)  # a user's own LangChain chain
    assert len(found) == 3 and ("aurora-k7-manual.pdf", 2) in found

    # ask, chat and eval retrieve through this same BaseRetriever, not beside it.
    queries: list[str] = []
    real = HybridRetriever._get_relevant_documents

    def spy(self: HybridRetriever, query: str, *, run_manager: Any) -> Any:
        queries.append(query)
        return real(self, query, run_manager=run_manager)

    monkeypatch.setattr(HybridRetriever, "_get_relevant_documents", spy)
    answer = rag.answer(WATER_Q)
    assert queries == [WATER_Q]
    assert any(s.page == 2 for s in answer.sources)


def test_off_topic_abstains_without_loading_the_llm(settings: Settings) -> None:
    fresh = RAG(Resources(settings))
    seen: dict[str, Any] = {"tokens": []}
    answer = fresh.answer(
        "What is the capital of Australia?",
        on_sources=lambda s: seen.__setitem__("sources", s),
        on_token=seen["tokens"].append,
    )
    assert answer.abstained is True
    assert answer.answer == ABSTAIN_TEXT
    assert answer.sources == [] and seen["sources"] == []
    assert seen["tokens"] == [ABSTAIN_TEXT]
    assert answer.tokens == {"prompt": 0, "completion": 0}
    assert "llm" not in fresh.res.__dict__  # the model was never loaded
    assert answer.as_dict()["abstained"] is True


def test_follow_up_is_condensed_into_a_standalone_question(rag: RAG) -> None:
    chat = ChatSession(rag)
    first = chat.ask(MANUAL_Q, k=1)
    assert first.standalone_question is None  # nothing to condense on the first turn
    assert first.sources and not first.cancelled
    assert chat.history == [(MANUAL_Q, first.answer)]

    follow_up = "and what about its weight?"
    second = chat.ask(follow_up, k=1)
    standalone = second.standalone_question
    assert standalone is not None
    assert standalone.strip().lower() != follow_up
    low = standalone.lower()
    assert any(word in low for word in ("manual", "aurora", "k7")), standalone  # the topic came along
    assert "weight" in low, standalone  # and it still asks what the follow-up asks
    assert standalone not in first.answer  # not a line copied from the previous answer
    assert standalone == rag.condense(follow_up, chat.history[:1])  # what retrieval was given
    assert len(chat.history) == 2 and chat.history[1][0] == follow_up


def test_the_bundled_model_cannot_rewrite_so_the_follow_up_carries_its_context(
    rag: RAG, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SmolLM2-135M's rewrites fail the guard (it answers instead of rewriting): what a user of the
    bundled model gets is the fallback, which still brings the earlier question into retrieval."""
    assert rag.condense("What is E17?", []) == "What is E17?"  # no history: unchanged, no LLM call
    llm = rag.res.llm
    raw: list[str] = []
    real_stream = llm.stream

    def recording(*args: Any, **kwargs: Any) -> Completion:
        out = real_stream(*args, **kwargs)
        raw.append(out.text)
        return out

    monkeypatch.setattr(llm, "stream", recording)
    history = [(WATER_Q, "The water tank holds 1.8 litres [1].")]
    follow_up = "and how much does a new one cost?"
    standalone = rag.condense(follow_up, history)
    assert len(raw) == 1 and raw[0].strip()  # the model was asked, and replied
    assert standalone == f"{follow_up} (follow-up to: {WATER_Q})", raw[0]
    assert "water tank" in standalone and "cost" in standalone


class ScriptedLLM(LLM):
    """The real model (tokenizer, template), but generation replies with a fixed text."""

    reply = ""

    def stream(
        self, messages: Any, prompt: str, stop: Sequence[str], max_tokens: int, *args: Any, **kwargs: Any
    ) -> Completion:
        assert self.count(prompt) + max_tokens <= self.n_ctx
        return Completion(self.reply, self.count(prompt), len(self.reply.split()), "stop")


@pytest.mark.parametrize(
    ("reply", "usable"),
    [
        ("", False),  # nothing at all
        ("I'm sorry, I can't help with that.", False),  # no topic from the conversation
        ("The water tank holds 1.8 litres [1].", False),  # the earlier answer, copied
        # An answer to the follow-up (cited), not a rewrite of it: SmolLM2 wrote this one.
        ("The water tank holds 1.8 litres [2] and the new one costs £0.59 per liter [3].", False),
        ("What is the capacity of the Aurora K7 water tank?", False),  # lost "cost": the old question again
        ("How much does a new Aurora K7 water tank cost?", True),
        ('"How much does a new Aurora K7 water tank cost?"\nExtra chatter', True),  # first line, unquoted
    ],
)
def test_condense_falls_back_when_the_rewrite_is_unusable(
    rag: RAG, settings: Settings, reply: str, usable: bool
) -> None:
    real = rag.res.llm
    scripted = ScriptedLLM(real._llama, real.path, settings, real.report)
    scripted.reply = reply
    res = Resources(settings)
    res.__dict__["llm"] = scripted
    history = [(WATER_Q, "The water tank holds 1.8 litres [1].")]
    follow_up = "and how much does a new one cost?"
    got = RAG(res).condense(follow_up, history)
    if usable:
        assert got == "How much does a new Aurora K7 water tank cost?"
    else:
        assert got == f"{follow_up} (follow-up to: {WATER_Q})"
