"""Trustworthy answers: the grounding check, extractive answers and evidence, with the real parts.

Real Chroma over examples/docs (ingested once per session), the bundled all-MiniLM-L6-v2 and the
bundled SmolLM2 GGUF. The one fake is a scripted LLM subclass (the real model's tokenizer and
template) that injects what a weak model does: a fabricated number, made-up context blocks.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from chromadb.api.client import SharedSystemClient

from localgpt.errors import ExitCode
from localgpt.llm.base import Events
from localgpt.llm.llama_cpp import LLM
from localgpt.rag.answer import RAG, _answer_stops
from localgpt.rag.evidence import SentenceGate, answer_mode
from localgpt.rag.extract import extract_answer
from localgpt.rag.grounding import Grounder
from localgpt.rag.prompt import ABSTAIN_TEXT
from localgpt.rag.resources import Resources
from localgpt.rag.sentences import split_sentences
from localgpt.rag.sources import Source
from localgpt.settings.config import Settings
from tests.conftest import run_cli

pytestmark = pytest.mark.llm

WATER = "How much water does the Aurora K7 water tank hold?"
TRUE = "The water tank holds 1.8 litres [1]."
FABRICATED = "The water tank holds 3.5 litres when the lid is removed."  # on topic; 3.5 is invented


def make_settings(data_dir: Path, models_dir: Path, **answer: Any) -> Settings:
    return Settings(
        paths={"data_dir": str(data_dir), "models_dir": str(models_dir)},
        llm={"max_tokens": 48, "temperature": 0.0},
        answer=answer,
    )


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def res(indexed_data_dir: Path, models_dir: Path) -> Iterator[Resources]:
    """One embedder and one loaded model for the module."""
    yield Resources(make_settings(indexed_data_dir, models_dir, mode="generate"))
    SharedSystemClient.clear_system_cache()


@pytest.fixture(scope="module")
def sources(res: Resources) -> list[Source]:
    return RAG(res).retrieve(WATER)


class ScriptedLLM(LLM):
    """The real model (tokenizer, template) and the real `ChatModel.stream` (cancel and halts
    behave as they do for llama.cpp), but the backend's events are a fixed reply, word by word."""

    reply = ""
    stops: Sequence[str] = ()

    @contextlib.contextmanager
    def _events(
        self, messages: Any, prompt: str, stop: Sequence[str], max_tokens: int, temperature: float
    ) -> Iterator[Events]:
        self.stops = stop
        yield ((piece, None) for piece in re.findall(r"\s*\S+", self.reply))


def scripted_rag(res: Resources, reply: str, **answer: Any) -> tuple[RAG, ScriptedLLM]:
    settings = make_settings(
        res.settings.paths.data_dir, res.settings.paths.models_dir, mode="generate", **answer
    )
    real = res.llm
    llm = ScriptedLLM(real._llama, real.path, settings, real.report)
    llm.reply = reply
    fresh = Resources(settings)
    fresh.__dict__.update(llm=llm, embedder=res.embedder)
    return RAG(fresh), llm


# --- the check itself -----------------------------------------------------------------------------


def test_fabricated_number_is_unsupported_and_a_paraphrase_is_supported(
    res: Resources, sources: list[Source]
) -> None:
    grounder = Grounder([(s.n, s.text) for s in sources], res.embedder.encode, WATER)
    manual = next(s for s in sources if s.page == 2)
    paraphrase, invented, other_page = grounder.check(
        "You can fill the tank with 1.8 litres of water. "
        "The machine can hold 1.8 litres of water, which is equivalent to 20 liters. "
        "The tank is made of glass and goes in the dishwasher."
    )
    assert paraphrase.supported, paraphrase
    assert paraphrase.n == manual.n and paraphrase.quote == "The water tank holds 1.8 litres."
    assert manual.text[paraphrase.quote_start : paraphrase.quote_end] == paraphrase.quote
    assert not invented.supported and "'20'" in str(invented.reason)  # 20 litres are in no source
    assert not other_page.supported and "below" in str(other_page.reason)


def test_invented_names_and_identifiers_are_unsupported(res: Resources, sources: list[Source]) -> None:
    grounder = Grounder([(s.n, s.text) for s in sources], res.embedder.encode, WATER)
    quoted, code = grounder.check(
        'Use the "AquaMax Pro" cartridge in the water tank. Run `descale_tank()` to empty the tank.'
    )
    assert not quoted.supported and "AquaMax Pro" in str(quoted.reason)
    assert not code.supported and "descale_tank()" in str(code.reason)


def test_a_made_up_name_is_unsupported_even_when_the_rest_restates_the_question(
    res: Resources, sources: list[Source]
) -> None:
    """Qwen2.5-Coder-1.5B answered "Who designed the Python-Markdown project logo?" with "The
    Python-Markdown project logo was designed by [John Doe].": the question's words carry the
    support score; the name is in no source."""
    grounder = Grounder(
        [(s.n, s.text) for s in sources], res.embedder.encode, "Who designed the Aurora K7 water tank?"
    )
    invented, known = grounder.check(
        "The Aurora K7 water tank was designed by [John Doe]. The Aurora K7 water tank holds 1.8 litres."
    )
    assert not invented.supported and invented.reason == "'John Doe' is in no source"
    assert known.supported, known  # "Aurora K7" is a capitalised name the sources do mention


# --- generate mode: the gate on the streamed answer ---------------------------------------------


def test_drop_removes_the_fabricated_sentence_before_it_is_shown(res: Resources) -> None:
    rag, _ = scripted_rag(res, f"{TRUE} {FABRICATED}", unsupported="drop")
    shown: list[str] = []
    answer = rag.answer(WATER, on_token=shown.append)
    assert answer.answer == TRUE and "".join(shown) == TRUE  # never streamed, never returned
    assert not answer.abstained
    assert [(d.sentence, d.supported) for d in answer.dropped] == [(FABRICATED, False)]
    assert str(answer.dropped[0].reason) == "'3.5' is in no source"
    assert [c.sentence for c in answer.citations] == [TRUE]
    cited = next(s for s in answer.sources if s.n == answer.evidence[0].n)
    assert cited.text[answer.evidence[0].start : answer.evidence[0].end] == answer.evidence[0].quote
    payload = answer.as_dict()
    assert payload["dropped"][0]["sentence"] == FABRICATED and payload["evidence"][0]["page"] == 2


def test_mark_keeps_the_sentence_flagged(res: Resources) -> None:
    rag, _ = scripted_rag(res, f"{TRUE} {FABRICATED}", unsupported="mark")
    answer = rag.answer(WATER)
    assert answer.answer == f"{TRUE} {FABRICATED}"
    assert [(c.sentence, c.supported) for c in answer.citations] == [(TRUE, True), (FABRICATED, False)]
    assert answer.dropped == [] and not answer.abstained


def test_nothing_supported_left_is_an_abstention(res: Resources) -> None:
    rag, _ = scripted_rag(res, FABRICATED, unsupported="drop")
    shown: list[str] = []
    answer = rag.answer(WATER, on_token=shown.append)
    assert answer.abstained and answer.answer == ABSTAIN_TEXT and shown == [ABSTAIN_TEXT]
    assert answer.evidence == [] and len(answer.dropped) == 1


def test_a_lead_in_shows_with_what_follows_it_and_goes_with_it(res: Resources) -> None:
    """Under "drop", a sentence ending in a colon waits for the next one: shown with a supported
    sentence, dropped when all it introduced was (Qwen2.5-Coder-1.5B's answer to an unanswerable
    Chinese question was "例如：" once its invented steps were dropped)."""
    lead = "The Aurora K7 water tank holds:"
    rag, _ = scripted_rag(res, f"{lead}\n\n{TRUE}", unsupported="drop")
    shown: list[str] = []
    answer = rag.answer(WATER, on_token=shown.append)
    assert answer.answer == f"{lead}\n\n{TRUE}" and shown == [f"{lead}\n\n{TRUE}"] and not answer.abstained
    rag, _ = scripted_rag(res, f"{lead}\n\n{FABRICATED}", unsupported="drop")
    shown = []
    answer = rag.answer(WATER, on_token=shown.append)
    assert answer.abstained and answer.answer == ABSTAIN_TEXT and shown == [ABSTAIN_TEXT]
    assert [(d.sentence, d.reason) for d in answer.dropped] == [
        (lead, "leads into dropped sentences"),
        (FABRICATED, "'3.5' is in no source"),
    ]


def test_answers_that_start_with_a_citation_are_not_cut(res: Resources) -> None:
    """Stop strings used to include "\\n[n] ": a model that starts its lines with citations lost them."""
    reply = "[1] The water tank holds 1.8 litres.\n[1] It is removed from the back of the machine."
    rag, llm = scripted_rag(res, reply, unsupported="keep")
    answer = rag.answer(WATER)
    assert answer.answer == reply
    assert not any(stop in "\n" + reply for stop in llm.stops)  # llama.cpp would not cut it either


def test_a_made_up_context_block_stops_the_answer(res: Resources) -> None:
    reply = f"{TRUE}\n[7] docs/other-manual.pdf p.9\nThe tank holds 5 litres."
    rag, _ = scripted_rag(res, reply, unsupported="keep")
    answer = rag.answer(WATER)
    assert answer.answer == TRUE  # cut where the invented block starts
    assert not answer.cancelled


def test_real_context_block_headers_are_stop_strings(sources: list[Source]) -> None:
    stops = _answer_stops(["</s>"], sources)
    assert f"\n[{len(sources) + 1}] {sources[0].label}" in stops
    assert not any(stop.rstrip() in {"\n[1]", "[1]"} for stop in stops)


def test_gate_waits_for_a_citation_that_follows_the_full_stop(res: Resources, sources: list[Source]) -> None:
    shown: list[str] = []
    gate = SentenceGate(WATER, sources, res.embedder.encode, "drop", shown.append)
    for piece in ["The water tank", " holds 1.8 litres.", " [", "1", "]", " Fill it", " with water."]:
        gate.feed(piece)
    result = gate.finish()
    assert shown[0] == "The water tank holds 1.8 litres. [1]"
    assert result.citations[0].sentence == "The water tank holds 1.8 litres. [1]"


def test_the_sentences_judged_while_streaming_are_those_of_the_final_answer(
    res: Resources, sources: list[Source]
) -> None:
    """The gate judges the stream a slice at a time; `localgpt eval` re-splits the finished answer.
    A slice ending in a bare number line ("1.\n8.") once split unlike the same lines inside the
    whole answer, so what was judged was not what the answer's sentences were (SmolLM2 writes
    such lines: "3.\n8.\n10.")."""
    for reply in (
        "1.\n8.\nThe water tank holds 1.8 litres.",
        "Fill it:\n1.\n2)\nThe water tank holds 1.8 litres.",
    ):
        gate = SentenceGate(WATER, sources, res.embedder.encode, "keep")
        for piece in re.findall(r"\s*\S", reply):
            gate.feed(piece)
        result = gate.finish()
        assert [c.sentence for c in result.citations] == [s.text for s in split_sentences(result.text)]


# --- the real model, end to end --------------------------------------------------------------------


def test_real_model_answer_keeps_only_supported_sentences(res: Resources) -> None:
    answer = RAG(res).answer(WATER)  # generate, drop (the default)
    assert all(c.supported for c in answer.citations)
    assert all(not d.supported and d.reason for d in answer.dropped)
    if not answer.abstained:
        assert answer.evidence
        for quote in answer.evidence:
            cited = next(s for s in answer.sources if s.n == quote.n)
            assert cited.text[quote.start : quote.end] == quote.quote


def test_auto_extracts_with_the_bundled_model(indexed_data_dir: Path, models_dir: Path) -> None:
    assert answer_mode(make_settings(indexed_data_dir, models_dir)) == "extract"
    assert answer_mode(make_settings(indexed_data_dir, models_dir, mode="generate")) == "generate"


# --- the CLI ------------------------------------------------------------------------------------------


def imported(stderr: str) -> set[str]:
    """Module names from `python -X importtime` output."""
    return {
        line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")
    }


def test_extract_mode_answers_without_loading_llama_cpp(indexed_data_dir: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "localgpt", "--data-dir", str(indexed_data_dir),
         "ask", "--json", WATER],
        capture_output=True, text=True, timeout=600, env={**os.environ, "LOCALGPT_ANSWER__MODE": "extract"},
    )  # fmt: skip
    assert proc.returncode == ExitCode.OK, proc.stderr[-2000:]
    modules = imported(proc.stderr)
    assert "localgpt.rag.answer" in modules  # the check sees imports
    assert not any(m == "llama_cpp" or m.startswith("llama_cpp.") for m in modules)
    payload = json.loads(proc.stdout)
    page2 = next(s["n"] for s in payload["sources"] if s["page"] == 2 and s["source"].endswith("manual.pdf"))
    # The section heading, the sentence, and the next one (measured to answer more questions).
    assert payload["mode"] == "extract" and payload["answer"] == (
        "2. Filling and First Use: The water tank holds 1.8 litres. It is removed from the back of "
        f"the machine by lifting it straight up. [{page2}]"
    )
    assert payload["tokens"] == {"prompt": 0, "completion": 0}


def test_extract_quotes_the_sentence_with_what_the_question_asks_for(res: Resources) -> None:
    """The sentence that restates the question matches it best by similarity and keywords; the
    one that says "default" (or gives a version) is the answer (localgpt/rag/cues.py)."""
    passages = [
        (1, "Which port the web server listens on can be changed in the web section of the "
            "configuration file. The section also sets the style and the templates. Every option "
            "is described below.\n\nport\n    Port to listen on (default: 8000)."),
        (2, "Tables without a rowid are supported by newer releases of SQLite. They save space. "
            "Most tables can be converted.\n\nSQLite version 3.8.2 (2013-12-06) or later is "
            "necessary in order to use a WITHOUT ROWID table."),
    ]  # fmt: skip
    port = extract_answer("What is the default port of the web server?", passages, res.embedder.encode)
    assert port.text == "port: Port to listen on (default: 8000). [1]"
    release = "What is the oldest release of SQLite that supports tables without a rowid?"
    assert "3.8.2" in extract_answer(release, passages, res.embedder.encode).text


def test_extract_finds_a_named_setting_in_a_reference_list(res: Resources) -> None:
    """A dotted setting names the entry that answers it ("``limit``" in the "profiling" section):
    the entry's own "(default: ...)" line wins over prose that says "default" and restates the
    question, the entry's name leads the quote, and the next entry is left out."""
    passages = [
        (1, "By default Mercurial's configuration changes very little from release to release, "
            "but the recommended default settings of the configuration shift over time."),
        (2, "``sort``\n    Sort field. Specific to the ``ls`` instrumenting profiler.\n"
            "    (default: inlinetime)\n\n``limit``\n    Number of lines to show.\n"
            "    (default: 30)\n\n``nested``\n    Show at most this number of lines of drill-down info.\n"
            "    (default: 0)"),
    ]  # fmt: skip
    question = "In Mercurial's configuration, what is the default value of the profiling.limit setting?"
    got = extract_answer(question, passages, res.embedder.encode)
    assert got.text.startswith("``limit``:") and "(default: 30)" in got.text, got.text
    assert "nested" not in got.text and "inlinetime" not in got.text
    code = "What is the numeric value of the extended result code SQLITE_IOERR_CONVPATH?"
    codes = [(1, "Extended result codes carry more detail than the primary result codes. Each has a "
                 "numeric value.\n\n(6410) SQLITE_IOERR_GETTEMPPATH\n\nThe VFS is unable to find "
                 "a temporary directory.\n\n(6666) SQLITE_IOERR_CONVPATH\n\nThe "
                 "cygwin_conv_path() system call failed.")]  # fmt: skip
    assert "(6666) SQLITE_IOERR_CONVPATH" in extract_answer(code, codes, res.embedder.encode).text


def test_extracted_cjk_table_cells_keep_their_lines(res: Resources) -> None:
    """Run together, "文档结构图" and "导航" would read as one word that no source line holds."""
    cells = "\n\n".join(["比较", "比较文档", "文档结构图", "导航", "公式审核", "侦探"])
    passages = [(1, f"Microsoft Office 与 LibreOffice 的术语对照表如下。\n\n{cells}")]
    got = extract_answer("Word 里的「文档结构」窗格在 LibreOffice 里叫什么？", passages, res.embedder.encode)
    assert "文档结构图\n导航" in got.text
    checks = Grounder(passages, res.embedder.encode, "").check(got.text)
    assert checks and all(c.supported for c in checks if not c.neutral)


def test_chinese_question_is_answered_from_the_chinese_document(indexed_data_dir: Path) -> None:
    proc = run_cli("--data-dir", str(indexed_data_dir), "ask", "--json", "Aurora K7 的预热时间是多少？")
    assert proc.returncode == ExitCode.OK, proc.stderr
    payload = json.loads(proc.stdout)
    assert not payload["abstained"]
    assert "45 秒" in payload["answer"]
    quote = payload["evidence"][0]
    assert Path(quote["source"]).name == "zh-quickstart.md" and "45 秒" in quote["quote"]
