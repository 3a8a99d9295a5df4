"""`notifyhub import FILE --client NAME`: a contact import from the command line (same code as the API).

CSV, XLSX or JSON, streamed and applied in chunks, so files of millions of rows work. Shows a
progress bar (rows, rows/s, time left) on a terminal; prints one summary line on stdout and one
line per rejected row on stderr. Exit status: 0 when every row was imported, 2 when some rows were
rejected (the others were imported), 1 when the file was refused as a whole (nothing imported).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

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
KINDS = ("csv", "xlsx", "json")


def _kind(path: Path, given: str | None) -> str:
    kind = (given or path.suffix.lstrip(".")).lower()
    if kind not in KINDS:
        raise RequestError("unknown_format", f"{path.name}: say --format csv, --format xlsx or --format json")
    return kind


def _open(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as e:
        raise RequestError("unreadable_file", f"{path}: {e.strerror or e}") from e


def _where(error: dict[str, Any]) -> str:
    return f"line {error['line']}" if error["line"] is not None else f"item {error['index']}"


def _report(view: dict[str, Any], summary: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(view, ensure_ascii=False))
        return
    typer.echo(summary)
    for error in view["errors"][:SHOWN_ERRORS]:
        typer.echo(f"{_where(error)}: {error['code']}: {error['message']}", err=True)
    if view["error_count"] > SHOWN_ERRORS:
        typer.echo(f"... and {view['error_count'] - SHOWN_ERRORS} more rejected rows", err=True)


def register(app: typer.Typer) -> None:
    """Attach `notifyhub import` to the CLI (called once by hub.cli)."""

    @app.command("import")
    @friendly
    def import_cmd(
        file: Path = typer.Argument(
            ..., help="CSV (header: phone,name,groups,...,any attribute), XLSX or a JSON list."
        ),
        client: str = typer.Option(..., "--client", help="Client name."),
        fmt: str | None = typer.Option(
            None, "--format", help="csv, xlsx or json (default: from the extension)."
        ),
        progress: bool | None = typer.Option(
            None, "--progress/--no-progress", help="Progress bar (default: on a terminal)."
        ),
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Import customers: profile, attributes, groups, messenger identities, consent (idempotent)."""
        from hub.cli.progress import ImportProgress
        from hub.contacts.import_formats import read_items
        from hub.contacts.importer import import_stream

        kind = _kind(file, fmt)
        stream = _open(file)
        config = config_from(config_path)
        prepare(config)

        async def _do(hub: Any) -> dict[str, Any]:
            found = await find_client(hub, client)
            with ImportProgress(stream, file.stat().st_size, kind, enabled=progress) as bar:
                items = read_items(stream, kind)
                result = await import_stream(hub.uow, found.id, items, hub.clock.now(), progress=bar.update)
            return {**result.view(), "summary": result.summary()}

        with stream:
            view = run(lambda: with_hub(config, _do))
        summary = view.pop("summary")
        _report(view, summary, as_json)
        if view["error_count"]:
            raise typer.Exit(2)
