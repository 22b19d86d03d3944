"""`localgpt config`: the effective settings and where each value came from."""

from __future__ import annotations

import json

import click

from localgpt.cli.app import AppContext, cli, pass_app


@cli.command("config")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def config_command(app: AppContext, as_json: bool) -> int:
    """Show the effective settings and the source of each value."""
    from localgpt.settings.config import effective_items

    loaded = app.load()
    items = effective_items(loaded)
    if as_json:
        payload = {
            "config_file": str(loaded.path) if loaded.path else None,
            "settings": {key: {"value": value, "origin": origin} for key, value, origin in items},
        }
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    click.echo(f"# config file: {loaded.path or '(none; defaults)'}")
    width = max(len(key) for key, _, _ in items)
    for key, value, origin in items:
        shown = json.dumps(value, ensure_ascii=False)
        click.echo(f"{key:<{width}} = {shown}  # {origin}")
    return 0
