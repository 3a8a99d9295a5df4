"""CLI commands that protect stored data: `purge`, `db encrypt-secrets`, `db new-key`.

$ notifyhub purge --older-than 180d --dry-run
would purge data from before 2026-05-28 09:00 UTC: notification texts 1203, message texts 340, ...
$ NOTIFYHUB_SECRET_KEY=NEW,OLD notifyhub db encrypt-secrets
3 connection(s) and 1 webhook endpoint(s) sealed with the current key; 0 already current
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import typer

from hub.cli.runner import config_from, friendly, prepare, run, with_hub

ConfigOption = typer.Option(Path("config.yaml"), "--config", "-c", help="Configuration file.")
DryRunOption = typer.Option(False, "--dry-run", help="Only count what would change.")


def purge_command(
    older_than: str | None = typer.Option(
        None, "--older-than", help="Age such as 180d, 12h or 4w (default retention.days)."
    ),
    dry_run: bool = DryRunOption,
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Rows per transaction."),
    config_path: Path = ConfigOption,
) -> None:
    """Remove message texts and personal data past retention; counts, costs and ratings stay."""
    from hub.security.retention import parse_duration, purge
    from storage.db import create_engine, session_factory
    from storage.repos.retention import RetentionStore

    config = config_from(config_path)
    age = parse_duration(older_than) if older_than else config.retention.days * 86400.0
    prepare(config)
    cutoff = time.time() - age

    async def _purge() -> str:
        engine = create_engine(config.database.url, pool_size=1)
        try:
            store = RetentionStore(session_factory(engine), batch_size or config.retention.batch_size)
            return (await purge(store, cutoff, dry_run=dry_run)).line(cutoff, dry_run)
        finally:
            await engine.dispose()

    typer.echo(run(_purge))


def encrypt_secrets(dry_run: bool = DryRunOption, config_path: Path = ConfigOption) -> None:
    """Seal stored tokens and webhook secrets with the first key (plain text and old keys alike)."""
    from hub.security.secrets import reseal_stored

    config = config_from(config_path)
    prepare(config)

    async def _reseal(hub: Any) -> str:
        done = await reseal_stored(hub.uow, dry_run=dry_run)
        return f"would have: {done}" if dry_run else str(done)

    typer.echo(run(lambda: with_hub(config, _reseal)))


def new_key() -> None:
    """Print a fresh encryption key for NOTIFYHUB_SECRET_KEY."""
    from storage.secret_box import new_key as make

    typer.echo(make())


def register(app: typer.Typer, db_app: typer.Typer) -> None:
    """Add `purge` to the main app and `encrypt-secrets`, `new-key` to `notifyhub db`."""

    app.command("purge")(friendly(purge_command))
    db_app.command("encrypt-secrets")(friendly(encrypt_secrets))
    db_app.command("new-key")(new_key)
