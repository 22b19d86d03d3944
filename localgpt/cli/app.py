"""The click group, the shared context and the error -> exit code boundary."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import click

from localgpt.errors import ExitCode, LocalGPTError
from localgpt.offline import enforce_offline
from localgpt.settings.display import printable


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


class ClosedPipe(Exception):
    """stdout's reader went away (`localgpt sources | head -1`). Not an OSError, so that click
    does not turn it into its own exit code 1."""


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError as exc:
            raise ClosedPipe() from exc


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
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
        # Messages quote paths and input as given: escaped, like every name shown to people.
        click.echo(f"localgpt: error: {printable(str(exc))}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("localgpt: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except (ClosedPipe, BrokenPipeError):
        return _closed_pipe()
    except Exception as exc:
        if _caused_by_interrupt(exc):
            click.echo("localgpt: interrupted", err=True)
            return ExitCode.INTERRUPTED
        if debug:
            raise
        message = printable(f"{type(exc).__name__}: {exc}")
        click.echo(f"localgpt: internal error: {message} (rerun with --debug)", err=True)
        return ExitCode.INTERNAL
    try:
        sys.stdout.flush()  # the last buffered output can meet the closed pipe too
    except BrokenPipeError:
        return _closed_pipe()
    return int(result) if isinstance(result, int) else ExitCode.OK


def _closed_pipe() -> int:
    """A closed pipe is the reader's choice, not an error: exit 0, quietly.

    stdout is pointed at /dev/null (as the Python docs on SIGPIPE advise) so that the flush at
    interpreter exit cannot fail again and print "Exception ignored".
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return ExitCode.OK


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
