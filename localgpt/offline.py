"""Keep every library offline and quiet. Must run before they are imported."""

from __future__ import annotations

import os

_OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "CHROMA_ANONYMIZED_TELEMETRY": "False",
    # onnxruntime >= 1.2x ships Microsoft's 1DS telemetry, which resolves and posts to
    # mobile.events.data.microsoft.com from C++ (seen under strace during `ask`).
    # disable_telemetry_events() does not stop it; this variable does.
    "ORT_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}


def enforce_offline() -> dict[str, str]:
    """Set the offline switches and return them.

    They are forced, not defaulted: a stray HF_HUB_OFFLINE=0 in a user's shell must not make
    a query phone home. Only `localgpt models pull` lifts them, for its own download.
    """
    os.environ.update(_OFFLINE_ENV)
    return dict(_OFFLINE_ENV)
