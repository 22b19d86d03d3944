"""Input that is not UTF-8, or not sane: questions (argument, stdin, --batch lines) and config files.

Each is one clear line and exit code 2, never "internal error"; a bad --batch line gets its own
error line and the batch goes on. Real subprocesses, real bytes.
"""

from __future__ import annotations

import codecs
import json
import subprocess
import sys
from pathlib import Path

from localgpt.errors import ExitCode

LATIN1_QUESTION = "Wie lange dauert die Garantie für die Kaffeemaschine?".encode("latin-1")
NONSENSE = b"qwzx plmk vrtz"  # retrieves nothing: abstains without loading the model


def localgpt(*args: str | bytes, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    """The real CLI, bytes in and out: nothing here may depend on a decoding."""
    return subprocess.run(
        [sys.executable, "-m", "localgpt", *args], input=stdin, capture_output=True, timeout=600
    )


def one_line(stderr: bytes) -> str:
    text = stderr.decode("utf-8")
    assert "Traceback" not in text and "internal error" not in text, text
    assert text.count("\n") == 1, text
    return text


def test_a_question_argument_with_invalid_utf8(data_dir: Path) -> None:
    proc = localgpt("--data-dir", str(data_dir), "ask", LATIN1_QUESTION)
    assert proc.returncode == ExitCode.CONFIG
    assert "the question is not valid UTF-8 (byte 0xfc at offset 31)" in one_line(proc.stderr)
    assert proc.stdout == b""


def test_a_question_on_stdin_with_invalid_utf8(data_dir: Path) -> None:
    proc = localgpt("--data-dir", str(data_dir), "ask", "-", stdin=LATIN1_QUESTION + b"\n")
    assert proc.returncode == ExitCode.CONFIG
    assert "not valid UTF-8" in one_line(proc.stderr)


def test_a_bad_batch_line_gets_its_own_error_line_and_the_batch_goes_on(indexed_data_dir: Path) -> None:
    too_long = b"x" * 100_000
    lines = [NONSENSE, LATIN1_QUESTION, b"\xff\xfe\x00garbage", too_long, NONSENSE + b" again"]
    proc = localgpt("--data-dir", str(indexed_data_dir), "ask", "--batch", stdin=b"\n".join(lines) + b"\n")
    assert proc.returncode == ExitCode.OK, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]
    assert len(rows) == 5
    assert rows[0]["abstained"] is True and rows[4]["abstained"] is True
    assert rows[1] == {
        "question": "Wie lange dauert die Garantie f\\xfcr die Kaffeemaschine?",
        "error": "the question is not valid UTF-8 (byte 0xfc at offset 31); "
        "convert it to UTF-8, e.g. with iconv",
        "exit_code": 2,
    }
    assert rows[2]["exit_code"] == 2 and rows[2]["question"].startswith("\\xff\\xfe")
    assert rows[3]["exit_code"] == 2 and "too long (100,000 characters" in rows[3]["error"]


def test_a_100k_character_question_is_a_usage_error(indexed_data_dir: Path) -> None:
    # On-topic words: retrieval finds passages, so before the check the model was called (exit 1).
    question = "What does the manual say about descaling? " * 2400  # about 100k characters
    data_dir = indexed_data_dir
    proc = localgpt("--data-dir", str(data_dir), "ask", "-", stdin=question.encode())
    assert proc.returncode == ExitCode.CONFIG
    assert "the question is too long (100,799 characters; at most 16,384 fit" in one_line(proc.stderr)

    as_json = localgpt("--data-dir", str(data_dir), "ask", "--json", question.encode())
    assert as_json.returncode == ExitCode.CONFIG
    error = json.loads(as_json.stdout)
    assert error["exit_code"] == 2 and error["error"].startswith("the question is too long")
    assert error["question"] == question.strip()
    one_line(as_json.stderr)


def config_value(config: Path) -> subprocess.CompletedProcess[bytes]:
    return localgpt("--config", str(config), "config", "--json")


def test_config_files_with_a_byte_order_mark_are_read(tmp_path: Path) -> None:
    text = "# ré-glage\n[retrieval]\nk = 5\n"
    for name, data in (
        ("utf8-bom.toml", codecs.BOM_UTF8 + text.encode()),
        ("utf16.toml", text.encode("utf-16")),  # Notepad's "Unicode": a BOM, then UTF-16-LE
        ("utf16-be.toml", codecs.BOM_UTF16_BE + text.encode("utf-16-be")),
    ):
        config = tmp_path / name
        config.write_bytes(data)
        proc = config_value(config)
        assert proc.returncode == 0, (name, proc.stderr)
        effective = json.loads(proc.stdout)
        assert effective["settings"]["retrieval.k"]["value"] == 5, name


def test_config_files_in_other_encodings_get_one_clear_line(tmp_path: Path) -> None:
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[llm]\n# r\xe9glage\nmodel = "auto"\n'.encode("latin-1"))
    proc = config_value(latin1)
    assert proc.returncode == ExitCode.CONFIG
    line = one_line(proc.stderr)
    assert f"config file {latin1} is not UTF-8 (byte 0xe9 on line 2" in line and "save it as UTF-8" in line

    no_bom = tmp_path / "utf16-no-bom.toml"
    no_bom.write_bytes("[retrieval]\nk = 5\n".encode("utf-16-le"))
    proc = config_value(no_bom)
    assert proc.returncode == ExitCode.CONFIG
    assert "UTF-16 without a byte order mark?" in one_line(proc.stderr)
