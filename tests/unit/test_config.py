"""Settings: precedence (flag > env > file > default), file discovery, validation, relative paths.

The CLI-level tests run the real `localgpt config --json` in a subprocess; the rest call
`load_settings` in-process with the environment isolated by the autouse `isolated` fixture.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pydantic
import pytest

from localgpt.errors import ConfigError, ExitCode
from localgpt.settings.config import effective_items, find_config_file, load_settings
from tests.conftest import run_cli


def write_toml(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def config_json(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`localgpt [args] config --json`, checked for success, parsed."""
    proc = run_cli(*args, "config", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return json.loads(proc.stdout)


def setting(payload: dict[str, Any], key: str) -> tuple[Any, str]:
    entry = payload["settings"][key]
    return entry["value"], entry["origin"]


def assert_config_error(proc: Any, *needles: str) -> str:
    """Exit 2, nothing on stdout, exactly one stderr line naming each needle, no traceback."""
    assert proc.returncode == ExitCode.CONFIG == 2, (proc.stdout, proc.stderr)
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("localgpt: error:"), lines[0]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# --- precedence through the real CLI -------------------------------------------------------------


def test_defaults_only_have_origin_default() -> None:
    payload = config_json()
    assert payload["config_file"] is None
    assert setting(payload, "llm.n_ctx") == (4096, "default")
    assert all(entry["origin"] == "default" for entry in payload["settings"].values())
    # Every section shows up, flattened to dotted keys.
    prefixes = {key.split(".")[0] for key in payload["settings"]}
    assert prefixes == {"paths", "store", "ingest", "embeddings", "retrieval", "llm", "answer"}


def test_file_then_env_then_flag(tmp_path: Path) -> None:
    conf = write_toml(
        tmp_path / "conf" / "my.toml",
        '[llm]\nn_ctx = 1024\n[paths]\ndata_dir = "/srv/from-file"\n',
    )
    conf_origin = str(conf.resolve())

    payload = config_json("--config", str(conf))
    assert payload["config_file"] == conf_origin
    assert setting(payload, "llm.n_ctx") == (1024, conf_origin)
    assert setting(payload, "paths.data_dir") == ("/srv/from-file", conf_origin)
    assert setting(payload, "llm.temperature")[1] == "default"

    env = {"LOCALGPT_LLM__N_CTX": "2048", "LOCALGPT_PATHS__DATA_DIR": "/srv/from-env"}
    payload = config_json("--config", str(conf), env=env)
    assert setting(payload, "llm.n_ctx") == (2048, "environment")
    assert setting(payload, "paths.data_dir") == ("/srv/from-env", "environment")

    payload = config_json("--config", str(conf), "--data-dir", "/srv/from-flag", env=env)
    assert setting(payload, "paths.data_dir") == ("/srv/from-flag", "command line")
    # The flag only touches its own key; the others keep their layer.
    assert setting(payload, "llm.n_ctx") == (2048, "environment")
    assert setting(payload, "paths.models_dir")[1] == "default"


def test_env_alone_overrides_default() -> None:
    payload = config_json(env={"LOCALGPT_RETRIEVAL__K": "7", "LOCALGPT_LLM__CONDENSE": "false"})
    assert setting(payload, "retrieval.k") == (7, "environment")
    assert setting(payload, "llm.condense") == (False, "environment")


# --- precedence in-process -----------------------------------------------------------------------


def test_flag_layer_on_numeric_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = write_toml(tmp_path / "c.toml", "[llm]\nn_ctx = 1024\n")
    monkeypatch.setenv("LOCALGPT_LLM__N_CTX", "2048")

    loaded = load_settings(conf, overrides={"llm.n_ctx": 999})
    assert loaded.settings.llm.n_ctx == 999
    assert loaded.origins["llm.n_ctx"] == "command line"

    # A flag the user did not give arrives as None and must not mask the lower layers.
    loaded = load_settings(conf, overrides={"llm.n_ctx": None})
    assert loaded.settings.llm.n_ctx == 2048
    assert loaded.origins["llm.n_ctx"] == "environment"

    monkeypatch.delenv("LOCALGPT_LLM__N_CTX")
    loaded = load_settings(conf)
    assert loaded.settings.llm.n_ctx == 1024
    assert loaded.origins["llm.n_ctx"] == str(conf.resolve())
    assert loaded.path == conf.resolve()

    loaded = load_settings(None)
    assert loaded.path is None
    assert loaded.settings.llm.n_ctx == 4096
    assert "llm.n_ctx" not in loaded.origins


def test_flag_value_is_validated_and_coerced(tmp_path: Path) -> None:
    loaded = load_settings(None, overrides={"llm.n_ctx": "512"})
    assert loaded.settings.llm.n_ctx == 512
    with pytest.raises(ConfigError, match=r"llm\.n_ctx.*command line"):
        load_settings(None, overrides={"llm.n_ctx": 1})  # below the minimum of 256


def test_settings_are_frozen() -> None:
    settings = load_settings(None).settings
    with pytest.raises(pydantic.ValidationError):
        settings.llm.n_ctx = 1  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        settings.llm = settings.llm  # type: ignore[misc]


def test_effective_items_lists_every_leaf_with_origin(tmp_path: Path) -> None:
    conf = write_toml(tmp_path / "c.toml", "[retrieval]\nk = 9\n")
    items = {key: (value, origin) for key, value, origin in effective_items(load_settings(conf))}
    assert items["retrieval.k"] == (9, str(conf.resolve()))
    assert items["retrieval.mode"] == ("hybrid", "default")
    assert items["ingest.exclude"][1] == "default"
    assert isinstance(items["ingest.exclude"][0], list)  # JSON-ready


# --- config file discovery -----------------------------------------------------------------------


def test_discovery_order(isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = write_toml(tmp_path / "home" / ".config" / "localgpt" / "config.toml", "[llm]\nn_ctx = 1001\n")
    local = write_toml(isolated / "config.toml", "[llm]\nn_ctx = 1002\n")
    from_env = write_toml(tmp_path / "env" / "env.toml", "[llm]\nn_ctx = 1003\n")
    explicit = write_toml(tmp_path / "explicit" / "x.toml", "[llm]\nn_ctx = 1004\n")
    monkeypatch.setenv("LOCALGPT_CONFIG", str(from_env))

    # --config beats LOCALGPT_CONFIG, which beats ./config.toml, which beats the user config dir.
    assert find_config_file(explicit) == explicit.resolve()
    assert load_settings(explicit).settings.llm.n_ctx == 1004
    assert find_config_file(None) == from_env.resolve()
    assert load_settings(None).settings.llm.n_ctx == 1003
    monkeypatch.delenv("LOCALGPT_CONFIG")
    assert find_config_file(None) == local.resolve()
    assert load_settings(None).settings.llm.n_ctx == 1002
    local.unlink()
    assert find_config_file(None) == user.resolve()
    assert load_settings(None).settings.llm.n_ctx == 1001
    user.unlink()
    assert find_config_file(None) is None
    assert load_settings(None).settings.llm.n_ctx == 4096


def test_discovery_through_the_cli(isolated: Path, tmp_path: Path) -> None:
    user = write_toml(tmp_path / "home" / ".config" / "localgpt" / "config.toml", "[llm]\nn_ctx = 1001\n")
    assert config_json()["config_file"] == str(user.resolve())

    local = write_toml(isolated / "config.toml", "[llm]\nn_ctx = 1002\n")
    payload = config_json()
    assert payload["config_file"] == str(local.resolve())
    assert setting(payload, "llm.n_ctx") == (1002, str(local.resolve()))

    from_env = write_toml(tmp_path / "env.toml", "[llm]\nn_ctx = 1003\n")
    payload = config_json(env={"LOCALGPT_CONFIG": str(from_env)})
    assert setting(payload, "llm.n_ctx") == (1003, str(from_env.resolve()))

    explicit = write_toml(tmp_path / "x.toml", "[llm]\nn_ctx = 1004\n")
    payload = config_json("--config", str(explicit), env={"LOCALGPT_CONFIG": str(from_env)})
    assert setting(payload, "llm.n_ctx") == (1004, str(explicit.resolve()))


def test_cwd_argument_picks_the_local_file(tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere"
    conf = write_toml(folder / "config.toml", "[llm]\nseed = 7\n")
    assert find_config_file(None, cwd=folder) == conf.resolve()
    assert load_settings(None, cwd=folder).settings.llm.seed == 7


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "needles"),
    [
        ("[llm]\nn_ctxx = 5\n", ["unknown", "llm.n_ctxx"]),
        ("[llmx]\nn_ctx = 5\n", ["unknown", "llmx"]),
        ("top_level = 1\n", ["unknown", "top_level"]),
        ('[llm]\nn_ctx = "big"\n', ["llm.n_ctx", "big"]),
        ("[llm]\nn_ctx = 5\n", ["llm.n_ctx"]),  # below the minimum
        ('[retrieval]\nmode = "magic"\n', ["retrieval.mode"]),
        ("[ingest]\nchunk_size = 64\nchunk_overlap = 64\n", ["ingest.chunk_overlap"]),
        ("[llm\nn_ctx = 5\n", ["not valid TOML"]),
    ],
    ids=[
        "unknown-key",
        "unknown-section",
        "unknown-top-level",
        "wrong-type",
        "out-of-range",
        "bad-choice",
        "overlap-too-big",
        "bad-toml",
    ],
)
def test_bad_config_file_exits_2(tmp_path: Path, toml: str, needles: list[str]) -> None:
    conf = write_toml(tmp_path / "bad.toml", toml)
    assert_config_error(run_cli("--config", str(conf), "config", "--json"), *needles)


def test_error_names_the_file(tmp_path: Path) -> None:
    conf = write_toml(tmp_path / "bad.toml", "[llm]\nn_ctxx = 5\n")
    assert_config_error(run_cli("--config", str(conf), "config"), "llm.n_ctxx", str(conf.resolve()))


@pytest.mark.parametrize(
    ("env", "needles"),
    [
        ({"LOCALGPT_LLM__N_CTX": "abc"}, ["llm.n_ctx", "environment", "abc"]),
        ({"LOCALGPT_LLM__N_CTXX": "3"}, ["llm.n_ctxx", "environment"]),
        ({"LOCALGPT_RETRIEVAL__K": "0"}, ["retrieval.k", "environment"]),
    ],
    ids=["not-a-number", "unknown-key", "out-of-range"],
)
def test_bad_env_value_exits_2(env: dict[str, str], needles: list[str]) -> None:
    assert_config_error(run_cli("config", "--json", env=env), *needles)


def test_missing_config_file_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert_config_error(run_cli("--config", str(missing), "config"), "not found", "nope.toml")


def test_missing_config_from_env_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    proc = run_cli("config", env={"LOCALGPT_CONFIG": str(missing)})
    assert_config_error(proc, "nope.toml", "LOCALGPT_CONFIG")


def test_errors_raise_config_error_in_process(tmp_path: Path) -> None:
    conf = write_toml(tmp_path / "bad.toml", "[llm]\nn_ctxx = 5\n")
    with pytest.raises(ConfigError, match=r"llm\.n_ctxx") as info:
        load_settings(conf)
    assert info.value.exit_code == ExitCode.CONFIG
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")


# --- relative paths ------------------------------------------------------------------------------


def test_relative_paths_resolve_against_the_config_folder(isolated: Path, tmp_path: Path) -> None:
    folder_a = tmp_path / "A"
    conf = write_toml(folder_a / "config.toml", '[paths]\ndata_dir = "rel/data"\nmodels_dir = "m"\n')
    assert isolated != folder_a  # run from a different cwd B

    payload = config_json("--config", str(conf))
    value, origin = setting(payload, "paths.data_dir")
    assert Path(value) == folder_a.resolve() / "rel" / "data"
    assert origin == str(conf.resolve())
    assert Path(setting(payload, "paths.models_dir")[0]) == folder_a.resolve() / "m"

    # Found through LOCALGPT_CONFIG, the anchor is still the file's folder.
    payload = config_json(env={"LOCALGPT_CONFIG": str(conf)})
    assert Path(setting(payload, "paths.data_dir")[0]) == folder_a.resolve() / "rel" / "data"

    # The same holds in-process, whatever cwd is passed.
    loaded = load_settings(conf, cwd=tmp_path / "somewhere-else")
    assert loaded.settings.paths.data_dir == folder_a.resolve() / "rel" / "data"


def test_relative_path_in_user_config_dir(tmp_path: Path) -> None:
    user_dir = tmp_path / "home" / ".config" / "localgpt"
    write_toml(user_dir / "config.toml", '[paths]\ndata_dir = "store"\n')
    payload = config_json()
    assert Path(setting(payload, "paths.data_dir")[0]) == user_dir.resolve() / "store"


def test_relative_data_dir_flag_resolves_against_cwd(isolated: Path, tmp_path: Path) -> None:
    conf = write_toml(tmp_path / "A" / "config.toml", '[paths]\ndata_dir = "rel/data"\n')
    payload = config_json("--config", str(conf), "--data-dir", "mine/data")
    value, origin = setting(payload, "paths.data_dir")
    assert origin == "command line"
    assert Path(value).is_absolute()
    assert Path(value).resolve() == (isolated / "mine" / "data").resolve()


def test_relative_env_path_resolves_against_cwd(isolated: Path) -> None:
    payload = config_json(env={"LOCALGPT_PATHS__MODELS_DIR": "gguf"})
    value, origin = setting(payload, "paths.models_dir")
    assert origin == "environment"
    assert Path(value).resolve() == (isolated / "gguf").resolve()


def test_home_relative_path_is_expanded(tmp_path: Path) -> None:
    conf = write_toml(tmp_path / "A" / "config.toml", '[paths]\ndata_dir = "~/idx"\n')
    loaded = load_settings(conf)
    assert loaded.settings.paths.data_dir == tmp_path / "home" / "idx"


def test_default_data_dir_follows_xdg(tmp_path: Path) -> None:
    # platformdirs honours XDG_DATA_HOME, which the `isolated` fixture points under tmp_path.
    settings = load_settings(None).settings
    assert settings.paths.data_dir == tmp_path / "home" / ".local" / "share" / "localgpt"
    assert settings.paths.models_dir == settings.paths.data_dir / "models"
