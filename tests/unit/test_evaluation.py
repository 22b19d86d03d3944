"""`localgpt eval` metrics on a tiny hand-made set whose figures are worked out by hand below."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localgpt.evaluation.metrics import (
    Question,
    Result,
    Retrieved,
    cited_sources,
    contains_answer,
    exact_answer,
    first_hit_rank,
    is_hit,
    load_questions,
    normalize,
    percentile,
    same_file,
    score,
)

ABSTAIN = "I couldn't find this in your documents."


def q(qid: str, answer: str | None, source: str | None = None, kind: str = "fact", **kw: object) -> Question:
    return Question(
        id=qid,
        question=f"question {qid}?",
        answer=answer,
        aliases=tuple(kw.get("aliases", ())),  # type: ignore[arg-type]
        source_file=source,
        evidence=kw.get("evidence"),  # type: ignore[arg-type]
        page=kw.get("page"),  # type: ignore[arg-type]
        kind=kind,
    )


def chunk(source: str, text: str, page: int | None = None, s: float = 0.5) -> Retrieved:
    return Retrieved(source=source, page=page, text=text, score=s)


def test_normalize() -> None:
    assert normalize('  "1.8  Litres."  ') == "1.8 litres"
    assert normalize("１．８ LITRES!") == "1.8 litres"  # NFKC folds full-width forms
    assert normalize("45 秒。") == "45 秒"
    assert normalize("“Canberra”") == "canberra"
    assert normalize("") == ""


def test_short_answers_need_a_word_boundary() -> None:
    assert not contains_answer("The cup may be 14 centimetres tall.", ["4"])
    assert contains_answer("Set the hardness to level 4.", ["4"])
    assert contains_answer("Levels (4) to 6", ["4"])
    assert not contains_answer("It holds 11.8 litres.", ["1.8"])  # "1.8" is short: a boundary is needed
    assert contains_answer("It holds 1.8 litres.", ["1.8"])
    assert not contains_answer("E170 is unrelated", ["E17"])
    # Longer answers match as substrings, after normalisation; any alias will do.
    assert contains_answer("The warranty lasts 27 MONTHS from purchase.", ["27 months"])
    assert contains_answer("There are four levels.", ["4", "four"])
    assert not contains_answer("anything", ["", "  "])  # empty answers never match


def test_exact_answer() -> None:
    assert exact_answer("Four.", ["4", "four"])
    assert exact_answer(' "1.8 litres" ', ["1.8 Litres"])
    assert not exact_answer("About 1.8 litres", ["1.8 litres"])


def test_same_file_compares_the_gold_path_tail() -> None:
    assert same_file("/data/corpus/sqlite/wal.html", "corpus/sqlite/wal.html")
    assert same_file("/home/me/docs/sqlite/wal.html", "corpus/sqlite/wal.html")  # "corpus/" is dropped
    assert not same_file("/home/me/docs/wal.html", "corpus/sqlite/wal.html")  # the folder must match too
    assert same_file("/x/faq.txt", "faq.txt")
    assert not same_file("/x/faq.txt.bak", "faq.txt")
    assert not same_file("/x/faq.txt", "corpus")


def test_is_hit_needs_the_right_file_and_the_answer_or_evidence() -> None:
    tank = q("t", "1.8 litres", "corpus/aurora-k7-manual.pdf", page=2)
    right = chunk("/d/aurora-k7-manual.pdf", "The water tank holds 1.8 litres.", page=2)
    assert is_hit(right, tank)
    assert not is_hit(chunk("/d/spare-parts.csv", "Water tank 1.8 litres with lid"), tank)  # wrong file
    assert not is_hit(chunk("/d/aurora-k7-manual.pdf", "The bean hopper holds 250 grams."), tank)
    wrong_page = chunk("/d/aurora-k7-manual.pdf", "The water tank holds 1.8 litres.", page=3)
    assert is_hit(wrong_page, tank) and not is_hit(wrong_page, tank, strict_page=True)
    assert not is_hit(right, q("u", None))  # an unanswerable question has no hits

    evidence = "Descale the Aurora K7 every 6 weeks with citric acid. Dissolve 30 grams of citric acid."
    descale = q("d", "every six weeks", "corpus/aurora-k7-manual.pdf", evidence=evidence)
    # The answer's wording isn't in the chunk, but the evidence is, or the chunk is a long piece of it.
    assert is_hit(chunk("/d/aurora-k7-manual.pdf", "Page 3. " + evidence + " More."), descale)
    assert is_hit(chunk("/d/aurora-k7-manual.pdf", evidence[:60]), descale)
    assert not is_hit(chunk("/d/aurora-k7-manual.pdf", evidence[:20]), descale)  # too short a piece


def test_cited_sources() -> None:
    assert cited_sources("See [2], and [1]; again [2]. Not [9] or [0].", 3) == [2, 1]
    assert cited_sources("No citation at all.", 3) == [1]  # the top source counts
    assert cited_sources("[1]", 0) == []


def test_percentile_is_nearest_rank_on_the_sorted_values() -> None:
    assert percentile([], 50) == 0.0
    assert percentile([5.0], 95) == 5.0
    assert percentile([500, 100, 300, 200, 400], 50) == 300
    assert percentile([500, 100, 300, 200, 400], 90) == 500


def test_load_questions(tmp_path: Path) -> None:
    path = tmp_path / "questions.jsonl"
    rows = [
        {"id": "a", "question": "How much?", "answer": "1.8 litres", "answer_aliases": ["1.8 l"],
         "source_file": "corpus/m.pdf", "page": 2, "kind": "fact"},
        {"question": "Capital of Australia?", "answer": None},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    first, second = load_questions(path)
    assert first == Question("a", "How much?", "1.8 litres", ("1.8 l",), "corpus/m.pdf", None, 2, "fact")
    assert first.answerable
    assert second.id == "2" and second.kind == "unanswerable" and not second.answerable
    path.write_text('{"question": "ok"}\n{"answer": "no question"}\n')
    with pytest.raises(ValueError, match=r"questions.jsonl:2: not a question line"):
        load_questions(path)


MANUAL, FAQ, WARRANTY, OTHER = "/d/aurora-k7-manual.pdf", "/d/faq.txt", "/d/warranty.md", "/d/other.md"


def hand_made() -> list[Result]:
    q1 = q("1", "1.8 litres", "corpus/aurora-k7-manual.pdf", "fact", page=2)
    q2 = q("2", "4", "corpus/faq.txt", "number", aliases=("four",))
    q3 = q("3", "27 months", "corpus/warranty.md", "fact")
    q4 = q("4", None, kind="unanswerable")
    q5 = q("5", None, kind="unanswerable")
    return [
        # Hit at rank 1; cites nothing explicitly, so the top source counts: the right file.
        Result(q1, [chunk(MANUAL, "The water tank holds 1.8 litres.", 2), chunk(FAQ, "Q: cups?")],
               False, "The tank holds 1.8 litres.", [], 100, 10),
        # Rank 1 has "14" (not "4"), rank 2 has "4" in the wrong file: the first hit is rank 3.
        # The answer is exactly an alias; it cites [2], the wrong file.
        Result(q2, [chunk(FAQ, "The maximum cup height is 14 centimetres."),
                    chunk(OTHER, "There are 4 levels."),
                    chunk(FAQ, "Set the water hardness from 1 to 4.")],
               False, "Four.", [2], 200, 20),
        # Retrieved at rank 2, yet the model abstained: a false abstention, and a wrong answer.
        Result(q3, [chunk(OTHER, "Nothing here."), chunk(WARRANTY, "The warranty lasts 27 months.")],
               True, ABSTAIN, [], 300, 30),
        # Unanswerable, abstained: right.
        Result(q4, [], True, ABSTAIN, [], 400, 40),
        # Unanswerable, answered anyway: wrong. No retrieval time recorded.
        Result(q5, [chunk(OTHER, "Canberra is mentioned nowhere.")], False, "Canberra.", [], 500, 0),
    ]  # fmt: skip


def test_first_hit_rank() -> None:
    assert [first_hit_rank(r) for r in hand_made()] == [1, 3, 2, None, None]


def test_score_on_a_hand_made_set() -> None:
    report = score(hand_made(), k=3)
    assert (report["questions"], report["answerable"], report["unanswerable"], report["k"]) == (5, 3, 2, 3)
    # Answerable first-hit ranks: 1, 3, 2.
    #   hit@1 = 1/3;  hit@3 = 3/3;  MRR = (1/1 + 1/3 + 1/2) / 3 = 1.8333 / 3 = 0.6111
    assert report["retrieval"] == {"hit@1": 0.3333, "hit@3": 1.0, "mrr": 0.6111}
    # Abstentions: right on q4; wrong on q3 (answerable); q5 should have abstained and didn't.
    #   precision = 1 right / 2 abstentions = 0.5;  recall = 1 / 2 unanswerable = 0.5
    #   false abstention rate = 1 / 3 answerable = 0.3333
    assert report["abstention"] == {"precision": 0.5, "recall": 0.5, "false_abstention_rate": 0.3333}
    # Answers of the 3 answerable: q1 contains "1.8 litres", q2 "four" (an alias), q3 abstained.
    #   accuracy = 2/3;  exact: only q2 ("Four." normalises to "four") = 1/3
    assert report["answer"] == {"accuracy": 0.6667, "exact": 0.3333}
    # Citations, over answered non-abstentions with sources (q1, q2): q1 -> [1] the manual, right;
    # q2 -> [2] other.md, wrong.  1/2 = 0.5
    assert report["citation_accuracy"] == 0.5
    # Latency: nearest rank on sorted values, index round(p/100 * (n-1)).
    #   total [100..500]: p50 idx 2 -> 300; p90 idx round(3.6)=4 -> 500; p95 idx round(3.8)=4 -> 500
    #   retrieval [10, 20, 30, 40] (the 0 is unrecorded): p50 idx round(1.5)=2 -> 30; p90, p95 idx 3 -> 40
    assert report["latency_ms"] == {
        "total": {"p50": 300.0, "p90": 500.0, "p95": 500.0},
        "retrieval": {"p50": 30.0, "p90": 40.0, "p95": 40.0},
    }
    # By kind: fact = q1 (hit, right) + q3 (hit, abstained, wrong); number = q2; unanswerable = q4, q5.
    assert report["by_kind"] == {
        "fact": {"n": 2, "hit@3": 1.0, "abstained": 0.5, "accuracy": 0.5},
        "number": {"n": 1, "hit@3": 1.0, "abstained": 0.0, "accuracy": 1.0},
        "unanswerable": {"n": 2, "hit@3": None, "abstained": 0.5, "accuracy": None},
    }


def test_score_with_a_smaller_k_and_degenerate_sets() -> None:
    report = score(hand_made(), k=2)
    # Ranks 1, 3, 2 with k = 2: hits at 1 and 2; MRR = (1 + 1/2) / 3 = 0.5
    assert report["retrieval"] == {"hit@1": 0.3333, "hit@2": 0.6667, "mrr": 0.5}

    only_unanswerable = score(hand_made()[3:], k=3)
    assert only_unanswerable["retrieval"] == {"hit@1": None, "hit@3": None, "mrr": 0.0}
    assert "answer" not in only_unanswerable and "citation_accuracy" not in only_unanswerable
    assert only_unanswerable["abstention"] == {"precision": 1.0, "recall": 0.5, "false_abstention_rate": None}

    empty = score([], k=3)
    assert empty["questions"] == 0
    assert empty["abstention"] == {"precision": None, "recall": None, "false_abstention_rate": None}
