"""`localgpt doctor` says when Chinese documents are indexed with the English-only embedder."""

from __future__ import annotations

import json
from pathlib import Path

from localgpt.errors import ExitCode
from tests.conftest import run_cli

ZH = (
    "# 安全引导\n\n另一个与 UEFI 相关的主题是所谓的安全引导机制。安全启动是 UEFI 实现的一个功能，"
    "仅允许固件加载和执行使用某些密钥签名的代码。Debian包含一个由Microsoft签名的shim启动加载程序，"
    "因此可以在启用了安全引导的系统上正常工作。\n"
)
EN = "# Tank\n\nThe water tank holds 1.8 litres. Descale it every month.\n"


def language_check(data_dir: Path, collection: str) -> dict[str, object] | None:
    proc = run_cli(
        "--data-dir", str(data_dir), "doctor", "--json", env={"LOCALGPT_STORE__COLLECTION": collection}
    )
    report = json.loads(proc.stdout)
    assert report["exit_code"] == proc.returncode
    return next((c for c in report["checks"] if c["section"] == "index" and c["name"] == "language"), None)


def test_doctor_names_the_multilingual_embedder_for_chinese_text(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "zh").mkdir()
    (tmp_path / "zh" / "secure-boot.md").write_text(ZH, encoding="utf-8")
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "tank.md").write_text(EN, encoding="utf-8")
    for name in ("docs-zh", "docs-en"):
        folder = tmp_path / name.removeprefix("docs-")
        proc = run_cli("--data-dir", str(data_dir), "ingest", str(folder), "-c", name, "-q")
        assert proc.returncode == ExitCode.OK, proc.stderr

    check = language_check(data_dir, "docs-zh")
    assert check is not None and check["status"] == "warn"
    assert "all-MiniLM-L6-v2 is English-only" in str(check["detail"])
    assert "localgpt models pull multilingual-e5-small" in str(check["fix"])
    assert check["data"]["cjk_share"] > 0.5  # type: ignore[index]

    text = run_cli("--data-dir", str(data_dir), "doctor", env={"LOCALGPT_STORE__COLLECTION": "docs-zh"})
    assert "localgpt models pull multilingual-e5-small" in text.stdout

    assert language_check(data_dir, "docs-en") is None  # English text: nothing to say
