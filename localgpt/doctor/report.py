"""What a doctor check reports, and the report of a whole run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from localgpt.errors import ExitCode

Status = Literal["ok", "warn", "fail"]
REBUILD_FIX = "localgpt ingest --rebuild PATH  (PATH: the folders you ingested)"


@dataclass
class Check:
    section: str
    name: str
    status: Status
    detail: str
    fix: str = ""
    code: int = ExitCode.OK  # the exit code a failure of this check stands for
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class DoctorReport:
    checks: list[Check]

    @property
    def exit_code(self) -> int:
        return next((int(c.code) or ExitCode.INTERNAL for c in self.checks if c.status == "fail"), 0)

    def count(self, status: Status) -> int:
        return sum(1 for c in self.checks if c.status == status)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.exit_code == 0,
            "exit_code": self.exit_code,
            "failures": self.count("fail"),
            "warnings": self.count("warn"),
            "checks": [asdict(c) for c in self.checks],
        }
