"""`notifyhub report`: delivery statistics for a period, as text or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from hub.cli.runner import (
    ConfigOption,
    JsonOption,
    config_from,
    find_client,
    friendly,
    prepare,
    run,
    with_hub,
)
from hub.delivery.report import delivery_report, format_report
from hub.security.retention import parse_duration


def register(app: typer.Typer) -> None:
    """Attach `notifyhub report` to the CLI (called once by hub.cli)."""

    @app.command("report")
    @friendly
    def report_cmd(
        client: str | None = typer.Option(None, "--client", help="Client name (default: every client)."),
        since: str = typer.Option("7d", "--since", help="How far back: 24h, 7d, 4w."),
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Delivery statistics: reached, cost, channels, replies, SMS fallbacks, why legs failed."""
        seconds = parse_duration(since, "--since")
        config = config_from(config_path)
        prepare(config)

        async def _do(hub: Any) -> tuple[str, dict[str, Any]]:
            found = await find_client(hub, client) if client else None
            data = await delivery_report(hub.uow(), hub.clock.now() - seconds, found.id if found else None)
            return (found.name if found else "all clients"), data

        title, data = run(lambda: with_hub(config, _do))
        typer.echo(json.dumps(data, ensure_ascii=False) if as_json else format_report(data, title))
