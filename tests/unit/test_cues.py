"""What a question asks for, in the words of the sentence that answers it (localgpt/rag/cues.py)."""

from __future__ import annotations

from localgpt.rag.cues import NAME_CUES, Cues


def test_a_question_about_a_default_wants_a_sentence_that_says_default() -> None:
    for question in (
        "What is the default value of the web.port setting?",
        "How many columns wide is a tab unless told otherwise?",
        "Which base does set logscale use when no base is given?",
    ):
        assert Cues.of(question).met("Port to listen on (default: 8000).") == 1
    cues = Cues.of("web.port 的默认值是多少？")
    assert cues.met("监听的端口，默认为 8000。") == 1
    assert cues.met("The port can be changed in the [web] section.") == 0
    assert Cues.of("Which port does the web server use?").met("Port to listen on (default: 8000).") == 0


def test_a_question_about_a_version_wants_a_version_number() -> None:
    cues = Cues.of("What is the oldest SQLite release able to read such tables?")
    assert cues.met("SQLite version 3.8.2 (2013-12-06) or later is necessary.") == 1
    assert cues.met("Older releases of SQLite cannot read such tables.") == 0
    deprecated = Cues.of("Which version of Python-Markdown deprecated safe mode?")
    assert deprecated.met("In 2.6, safe_mode went.") == 1
    # A number alone is not a version; and no version is asked for in a "how much" question.
    assert Cues.of("Which release added it?").met("It holds 18 cups.") == 0
    assert Cues.of("How much water does the tank hold?").met("The tank holds 1.8 litres.") == 0


def test_a_quoted_phrase_wants_the_sentence_that_holds_it_whatever_the_case_and_spacing() -> None:
    cues = Cues.of('Which function is documented under the heading "Read Data From A BLOB Incrementally"?')
    assert cues.met("Read data from a BLOB\n   incrementally") == 1
    assert cues.met("This function reads data from an open BLOB handle.") == 0
    assert Cues.of("LibreOffice 里与「文档结构」对应的功能叫什么？").met("文档结构图") == 1
    assert Cues.of("What does `set theme` do?").met("The set theme command picks colours.") == 1


def test_cues_add_up_and_a_plain_question_has_none() -> None:
    cues = Cues.of('Since which version is "foreign_keys" on by default?')
    assert cues.met("Since 3.6.19 foreign_keys is on by default.") == 3
    plain = Cues.of("How do I descale the machine?")
    assert plain == Cues(default=False, version=False, phrases=())
    assert plain.met("By default, descale every 3.5 months with version 2 tablets.") == 0


def test_a_named_setting_or_code_is_met_by_the_entry_it_heads() -> None:
    """The name counts in the term line that heads a reference entry, for each sentence of it:
    "(default: 30)" under "``limit``" answers "profiling.limit"."""
    cues = Cues.of("In Mercurial's configuration, what is the default value of the profiling.limit setting?")
    assert cues.names == ("profiling.limit", "limit")
    assert cues.met("(default: 30)", entry="``limit``") == 1 + NAME_CUES
    assert cues.met("(default: 30)", entry="``nested``") == 1
    assert cues.met("(default: 30)") == 1
    # A longer word holding the name is another entry.
    assert cues.met("(default: 0)", entry="``limits``") == 1
    code = Cues.of("What is the numeric value of SQLITE_IOERR_CONVPATH?")
    assert code.names_in("(6666) SQLITE_IOERR_CONVPATH")
    assert not code.names_in("(1038) SQLITE_CANTOPEN_CONVPATH")
    assert Cues.of("Which option does gnuplot --persist set?").names == ("persist",)
    assert Cues.of("What does date() return?").names == ("date",)
    assert Cues.of("How many writers can commit at the same time?").names == ()
