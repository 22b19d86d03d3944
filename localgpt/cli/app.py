"""The click group, the shared context and the error -> exit code boundary."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import click

from localgpt.errors import ExitCode, LocalGPTError
from localgpt.offline import enforce_offline


@dataclass
class AppContext:
    config_path: str | None = None
    debug: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)

    def load(self, **flags: Any) -> Any:
        """Build the frozen settings: command flags (dotted keys) win over everything."""
        from localgpt.settings.config import load_settings

        return load_settings(self.config_path, {**self.overrides, **flags})


pass_app = click.make_pass_decorator(AppContext)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Config file to use.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Override [paths] data_dir.")
@click.option("--debug", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(package_name="localgpt")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, data_dir: str | None, debug: bool) -> None:
    """Chat with your documents, offline.

    \b
    localgpt ingest ./docs          build or update the index
    localgpt ask "question"         one answer, for scripts
    localgpt chat                   the terminal chat app
    """
    overrides = {"paths.data_dir": data_dir} if data_dir else {}
    ctx.obj = AppContext(config_path=config_path, debug=debug, overrides=overrides)


def _quiet_libraries(debug: bool) -> None:
    """Libraries' warnings and debug logs are noise on a CLI's stderr unless --debug is given."""
    import logging
    import warnings

    if not debug:
        warnings.simplefilter("ignore")
    handler = logging.StreamHandler()
    # Filtering at the handler: some libraries (bm25s) force their own loggers to DEBUG.
    handler.setLevel(logging.DEBUG if debug else logging.ERROR)
    handler.setFormatter(logging.Formatter("localgpt: %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.ERROR)


def run(group: click.Group, argv: Sequence[str]) -> int:
    """Run the CLI; every failure becomes one stderr line and a documented exit code."""
    enforce_offline()
    debug = "--debug" in argv
    _quiet_libraries(debug)
    try:
        # With standalone_mode=False, click hands back the command's return value: its exit code.
        result = group.main(args=list(argv), prog_name="localgpt", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort:
        click.echo("localgpt: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return ExitCode.CONFIG
    except LocalGPTError as exc:
        if _caused_by_interrupt(exc):
            click.echo("localgpt: interrupted", err=True)
            return ExitCode.INTERRUPTED
        if debug:
            raise
        click.echo(f"localgpt: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("localgpt: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # A closed pipe (`localgpt ask ... | head -1`) is the reader's choice, not an error.
        sys.stderr.close()
        return ExitCode.OK
    except Exception as exc:
        if _caused_by_interrupt(exc):
            click.echo("localgpt: interrupted", err=True)
            return ExitCode.INTERRUPTED
        if debug:
            raise
        click.echo(f"localgpt: internal error: {type(exc).__name__}: {exc} (rerun with --debug)", err=True)
        return ExitCode.INTERNAL
    return int(result) if isinstance(result, int) else ExitCode.OK


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Ctrl-C while a C extension initialises surfaces as its ImportError ("initialization failed"),
    which a loader may wrap in its own error: the KeyboardInterrupt is still in the chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
