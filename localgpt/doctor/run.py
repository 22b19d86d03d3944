"""`localgpt doctor`: what is installed, what is configured, and whether it all holds together.

Each check reports ok, warn or fail, with a fix for every problem. A check never raises: a corrupt
manifest or a broken Chroma folder is exactly what doctor exists to report, so every probe runs
inside a guard that turns an exception into a failed check. Doctor only reads: it creates no data
dir, no manifest and no collection, and it loads no model (the GGUF header says enough).

The exit code is the category of the first failed check (the same codes as every other command:
2 config, 5 model or embedder, 8 index built with another embedder, 10 index damaged), and 0 when
nothing failed; warnings never change it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from localgpt.doctor.index_checks import check_index
from localgpt.doctor.model_checks import check_embedder, check_model
from localgpt.doctor.report import Check, DoctorReport
from localgpt.doctor.system import check_config, check_llama_cpp, check_offline, check_versions
from localgpt.errors import ExitCode

if TYPE_CHECKING:
    from localgpt.settings.config import LoadedConfig


def run_doctor(loaded: LoadedConfig | None, config_error: str | None = None) -> DoctorReport:
    """Every check; `loaded` is None when the config itself is broken (then `config_error` says why)."""
    checks: list[Check] = []
    probes: list[tuple[str, Callable[[], Iterator[Check]]]] = [
        ("versions", check_versions),
        ("llama.cpp", lambda: check_llama_cpp(loaded.settings if loaded else None)),
        ("config", lambda: check_config(loaded, config_error)),
        ("offline", check_offline),
    ]
    if loaded is not None:
        settings = loaded.settings
        probes[3:3] = [
            ("model", lambda: check_model(settings)),
            ("embedder", lambda: check_embedder(settings)),
            ("index", lambda: check_index(settings)),
        ]
    for section, probe in probes:
        try:
            checks.extend(probe())
        except Exception as exc:  # a probe's own bug must not hide the other sections
            checks.append(
                Check(
                    section,
                    "doctor",
                    "fail",
                    f"the {section} check itself failed: {type(exc).__name__}: {exc}",
                    "rerun with --debug and report it",
                    ExitCode.INTERNAL,
                )
            )
    return DoctorReport(checks)
