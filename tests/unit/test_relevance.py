"""The relevance gate's lexical evidence, and the refusal text in the question's language.

The passages and IDF tables here are small real inputs; the gate over a real index, with the
real models, is covered in tests/integration/test_answer_language.py.
"""

from __future__ import annotations

import pytest

from localgpt.rag.language import ABSTAIN_TEXTS, abstain_text, is_abstention, language_of
from localgpt.rag.prompt import ABSTAIN_TEXT
from localgpt.rag.relevance import Passage, assess, question_terms, script_of

ZH_DOC = "将咖啡机放在平稳的台面上，接通电源后按下电源键。机器的预热时间为 45 秒，预热期间指示灯会缓慢闪烁。"
EN_DOC = "The water tank holds 1.8 litres. Descale the machine every 200 brews with the descaler."


def flat_idf(token: str) -> float:
    return 1.0


def test_chinese_question_words_are_words_not_filler() -> None:
    terms = question_terms("Aurora K7 的预热时间是多少？")
    assert "预热" in terms or "预热时间" in terms
    assert "aurora" in terms and "k7" in terms
    # Question words and particles say how it is asked, not what about.
    assert not {"多少", "是", "的"} & set(terms)


def test_words_about_the_source_and_function_words_are_not_the_topic() -> None:
    # "the flex manual recommends": the manual itself seldom says "manual" or "recommend".
    terms = question_terms("Which flag does the flex manual recommend against using between scanners?")
    assert set(terms) == {"flag", "flex", "using", "scanner"}


def test_chinese_question_is_covered_by_its_chinese_passage() -> None:
    rel = assess(
        "Aurora K7 的预热时间是多少？", [Passage("Aurora K7 快速入门\n" + ZH_DOC, 0.2)], flat_idf, 100
    )
    assert rel.script == "cjk"
    assert rel.coverage == 1.0 and rel.relevant


def test_chinese_words_match_across_wrapped_lines() -> None:
    wrapped = "机器的预\n热时间为 45 秒"
    rel = assess("预热时间是多少？", [Passage(wrapped, 0.0)], flat_idf, 100)
    assert rel.coverage == 1.0


def test_a_rare_word_missing_from_every_passage_sinks_the_score() -> None:
    """On topic (tank, machine) but about something the documents never mention."""

    def idf(token: str) -> float:  # "bluetooth" is unknown to the index: weighted as the rarest
        return {"tank": 1.0, "machine": 0.5}.get(token, 0.0)

    rel = assess("Does the water tank have Bluetooth?", [Passage(EN_DOC, 0.4)], idf, 1000)
    assert rel.missing == ("bluetooth",)
    answered = assess("How much does the machine's water tank hold?", [Passage(EN_DOC, 0.4)], idf, 1000)
    assert answered.missing == ()  # "holds" counts for "hold"; "much" is how it is asked
    assert rel.coverage < answered.coverage


def test_script_is_cross_when_question_and_passages_differ() -> None:
    assert script_of("How long does it preheat?", [Passage(ZH_DOC, 0.1)]) == "cross"
    assert script_of("预热多久？", [Passage(ZH_DOC, 0.1)]) == "cjk"
    assert script_of("How long?", [Passage(EN_DOC, 0.1)]) == "latin"


@pytest.mark.parametrize(
    ("question", "language"),
    [("How much water?", "en"), ("Aurora K7 的预热时间是多少？", "zh"), ("XLOOKUP 函数有吗", "zh")],
)
def test_language_of_the_question(question: str, language: str) -> None:
    assert language_of(question) == language
    assert abstain_text(question) == ABSTAIN_TEXTS[language]  # type: ignore[index]


def test_refusals_are_recognised_in_both_languages() -> None:
    assert ABSTAIN_TEXTS["en"] == ABSTAIN_TEXT
    for text in ABSTAIN_TEXTS.values():
        assert is_abstention(text)
    assert is_abstention("I could not find this in your documents.")
    assert is_abstention("抱歉，我在您的文档中找不到相关内容。")
    assert not is_abstention("The water tank holds 1.8 litres [1].")
    assert not is_abstention("预热时间为 45 秒 [1]。")


def test_code_the_question_quotes_must_be_in_a_passage() -> None:
    from localgpt.rag.relevance import unfound_code

    question = "In which gnuplot version was the `set theme` command introduced?"
    assert unfound_code(question, ["Use set the theme of colors", "reset themes"]) == ("set theme",)
    assert unfound_code(question, ["The command  SET THEME dark (p. 12)."]) == ()
    assert unfound_code("What does `--persist` do?", ["-persist keeps the plot window open"]) == ()
    assert unfound_code("What does `date()` return?", ["date(time-value, modifier, ...)"]) == ()
    # No words to look for, and no code at all: nothing to refuse on.
    assert unfound_code("Which extension turns `- [ ]` into checkboxes?", ["Task lists"]) == ()
    assert unfound_code('Which "Tables" entry point?', ["tables"]) == ()
