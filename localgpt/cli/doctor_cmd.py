"""`localgpt doctor`: check the installation, the model, the embedder, the index and the config."""

from __future__ import annotations

import json

import click

from localgpt.cli.app import AppContext, cli, pass_app
from localgpt.errors import ConfigError

_COLOURS = {"ok": "green", "warn": "yellow", "fail": "red"}


@cli.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def doctor_command(app: AppContext, as_json: bool) -> int:
    """Check everything localgpt depends on, and say how to fix each problem.

    Only reads: it loads no model and changes no file. Exit codes: 0 nothing failed (warnings
    allowed); otherwise the first failure's category: 2 config, 5 model or embedder, 8 index
    built with another embedder, 10 index damaged, 1 doctor's own error.
    """
    from localgpt.doctor.run import run_doctor

    try:
        loaded, error = app.load(), None
    except ConfigError as exc:
        loaded, error = None, str(exc)
    report = run_doctor(loaded, error)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False, default=str))
        return report.exit_code
    section = None
    for check in report.checks:
        if check.section != section:
            section = check.section
            click.echo(click.style(section, bold=True))
        status = click.style(f"{check.status:<5}", fg=_COLOURS[check.status])
        click.echo(f"  {status} {check.name}: {check.detail}")
        for i, line in enumerate(check.fix.splitlines()):
            click.echo(f"        {'fix: ' if i == 0 else '     '}{line}")
    failures, warnings = report.count("fail"), report.count("warn")
    verdict = "problems found" if failures else "all good" if not warnings else "working, with warnings"
    plural = "" if warnings == 1 else "s"
    click.echo(f"\n{verdict}: {failures} failed, {warnings} warning{plural} (exit code {report.exit_code})")
    return report.exit_code
