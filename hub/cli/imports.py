"""`notifyhub import FILE --client NAME`: a contact import from the command line (same code as the API).

Prints one summary line on stdout and one line per rejected row on stderr. Exit status: 0 when
every row was imported, 2 when some rows were rejected (the others were imported), 1 when the
file was refused as a whole (nothing imported).
"""

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
from hub.errors import RequestError

#: Rows reported one by one on stderr; the rest are counted.
SHOWN_ERRORS = 50


def _kind(path: Path, given: str | None) -> str:
    kind = (given or path.suffix.lstrip(".")).lower()
    if kind not in ("csv", "json"):
        raise RequestError("unknown_format", f"{path.name}: say --format csv or --format json")
    return kind


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise RequestError("unreadable_file", f"{path}: {e.strerror or e}") from e


def _where(error: dict[str, Any]) -> str:
    return f"line {error['line']}" if error["line"] is not None else f"item {error['index']}"


def register(app: typer.Typer) -> None:
    """Attach `notifyhub import` to the CLI (called once by hub.cli)."""

    @app.command("import")
    @friendly
    def import_cmd(
        file: Path = typer.Argument(..., help="CSV (header: phone,vk,ok,telegram,...) or JSON list."),
        client: str = typer.Option(..., "--client", help="Client name."),
        fmt: str | None = typer.Option(None, "--format", help="csv or json (default: from the extension)."),
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Import customers' known messenger identities and marketing consent (idempotent)."""
        from hub.contacts.import_file import parse_import
        from hub.contacts.importer import import_contacts

        kind = _kind(file, fmt)
        data = _read(file)
        config = config_from(config_path)
        prepare(config)

        async def _do(hub: Any) -> dict[str, Any]:
            found = await find_client(hub, client)
            now = hub.clock.now()
            parsed = parse_import(data, kind, now)
            result = await import_contacts(hub.uow, found.id, parsed, now)
            return {**result.view(), "summary": result.summary()}

        view = run(lambda: with_hub(config, _do))
        summary = view.pop("summary")
        if as_json:
            typer.echo(json.dumps(view, ensure_ascii=False))
        else:
            typer.echo(summary)
            for error in view["errors"][:SHOWN_ERRORS]:
                typer.echo(f"{_where(error)}: {error['code']}: {error['message']}", err=True)
            if len(view["errors"]) > SHOWN_ERRORS:
                typer.echo(f"... and {len(view['errors']) - SHOWN_ERRORS} more rejected rows", err=True)
        if view["errors"]:
            raise typer.Exit(2)
