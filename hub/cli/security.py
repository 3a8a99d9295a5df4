"""CLI commands for access: `clients keys|new-key|rotate-key|revoke-key|access|allow-ips|rate-limit`, `audit`.

They call the same functions as the admin API (`hub.security.keys`, `hub.security.audit`),
audited with the actor `admin`/`cli`. A new key is printed once and never again.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from hub.cli.runner import ConfigOption, JsonOption, config_from, friendly, prepare, run, with_hub
from hub.errors import RequestError
from hub.security.audit import CLI, list_entries
from storage.repos.audit import AuditFilter


def _key_line(view: dict[str, Any]) -> str:
    state = "active" if view["active"] else ("revoked" if view["revoked_at"] else "expired")
    expires = f"  expires {view['expires_at']}" if view["expires_at"] and view["active"] else ""
    name = f"  {view['name']}" if view["name"] else ""
    return f"{view['id']}  {view['role']:<6} {view['prefix'] or '-':<10}… {state:<7}{name}{expires}"


def _access_line(view: dict[str, Any]) -> str:
    limit = view["rate_limit"]
    rate = f"{limit['per_second']:g}/s burst {limit['burst']}" if limit else "default"
    return (
        f"{view['id']}  {view['name']}  allow-list: {', '.join(view['ip_allowlist']) or 'any'}  rate: {rate}"
    )


def _entry_line(e: dict[str, Any]) -> str:
    actor = f"{e['actor']['kind']}:{e['actor']['name'] or e['actor']['id']}"
    return (
        f"{e['id']:>6}  {e['at']}  {e['action']:<22} {actor:<24} {e['client_id'] or '-'}  {e['target'] or ''}"
    )


def register(app: typer.Typer, clients_app: typer.Typer) -> None:
    """Attach the commands to the CLI (called once by hub.cli)."""
    from hub.security.keys import (
        MAX_OVERLAP_HOURS,
        find_client,
        get_access,
        issue_key,
        list_keys,
        revoke_key,
        rotate_key,
        set_access,
    )

    def _do(config_path: Path, work: Any) -> Any:
        config = config_from(config_path)
        prepare(config)
        return run(lambda: with_hub(config, work))

    def _show(found: Any, as_json: bool, line: Any) -> None:
        items = found if isinstance(found, list) else [found]
        typer.echo(json.dumps(found) if as_json else "\n".join(line(i) for i in items) or "nothing")

    @clients_app.command("keys")
    @friendly
    def keys_cmd(client: str, config_path: Path = ConfigOption, as_json: bool = JsonOption) -> None:
        """List a client's keys (prefix, role, name, expiry; never the secret)."""
        found = _do(config_path, lambda hub: list_keys(hub.uow(), client, hub.clock.now()))
        _show(found, as_json, _key_line)

    @clients_app.command("new-key")
    @friendly
    def new_key_cmd(
        client: str,
        name: str | None = typer.Option(None, "--name", help="A label to tell keys apart."),
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Issue another client key (shown once), e.g. after the last one was revoked."""
        view, secret = _do(config_path, lambda hub: issue_key(hub.uow(), client, name, CLI, hub.clock.now()))
        if as_json:
            typer.echo(json.dumps({"api_key": secret, "key": view}))
            return
        typer.echo(f"key {view['id']} issued\nAPI key (shown once, store it now): {secret}")

    @clients_app.command("rotate-key")
    @friendly
    def rotate_cmd(
        key_id: str,
        overlap_hours: float | None = typer.Option(
            None, "--overlap-hours", help="Default security.key_overlap_hours."
        ),
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Issue a replacement key (shown once); the old key keeps working for the overlap.

        A key already rotated away cannot be rotated again: rotate its successor, or revoke it.
        """

        async def _rotate(hub: Any) -> Any:
            hours = hub.config.security.key_overlap_hours if overlap_hours is None else overlap_hours
            if not 0 <= hours <= MAX_OVERLAP_HOURS:  # also refuses nan
                raise RequestError("invalid_field", f"--overlap-hours: 0 to {MAX_OVERLAP_HOURS}")
            return await rotate_key(hub.uow(), key_id, hours * 3600, CLI, hub.clock.now())

        made = _do(config_path, _rotate)
        if as_json:
            typer.echo(json.dumps({"api_key": made.api_key, "key": made.view, "old_key": made.old}))
            return
        typer.echo(f"new key {made.view['id']}; old key {key_id} works until {made.old['expires_at']}")
        typer.echo(f"API key (shown once, store it now): {made.api_key}")

    @clients_app.command("revoke-key")
    @friendly
    def revoke_cmd(key_id: str, config_path: Path = ConfigOption, as_json: bool = JsonOption) -> None:
        """Revoke a key at once (its next request gets 401)."""
        view = _do(config_path, lambda hub: revoke_key(hub.uow(), key_id, CLI, hub.clock.now()))
        _show(view, as_json, _key_line)

    def _set(client: str, changes: dict[str, Any], config_path: Path, as_json: bool) -> None:
        view = _do(config_path, lambda hub: set_access(hub.uow(), client, changes, CLI, hub.clock.now()))
        _show(view, as_json, _access_line)

    @clients_app.command("access")
    @friendly
    def access_cmd(client: str, config_path: Path = ConfigOption, as_json: bool = JsonOption) -> None:
        """Show a client's IP allow-list and rate limit."""
        _show(_do(config_path, lambda hub: get_access(hub.uow(), client)), as_json, _access_line)

    @clients_app.command("allow-ips")
    @friendly
    def allow_cmd(
        client: str,
        cidrs: list[str] = typer.Argument(None, help="Addresses or CIDRs; none (with --any) allows any."),
        any_address: bool = typer.Option(False, "--any", help="Clear the list: keys work from anywhere."),
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Set the addresses a client's keys (and its agents' inbox sign-in) may be used from."""
        if not cidrs and not any_address:
            raise RequestError("missing_field", "give CIDRs, or --any to allow every address")
        _set(client, {"ip_allowlist": [] if any_address else list(cidrs)}, config_path, as_json)

    @clients_app.command("rate-limit")
    @friendly
    def rate_cmd(
        client: str,
        per_second: float | None = typer.Option(None, "--per-second", min=0.001),
        burst: int | None = typer.Option(None, "--burst", min=1),
        default: bool = typer.Option(
            False, "--default", help="Back to security.rate_limit_* from the config."
        ),
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Give a client its own API rate limit (requests per second and burst), or the default back."""
        if not default and (per_second is None or burst is None):
            raise RequestError("missing_field", "give --per-second and --burst, or --default")
        limit = None if default else {"per_second": per_second, "burst": burst}
        _set(client, {"rate_limit": limit}, config_path, as_json)

    @app.command("audit")
    @friendly
    def audit_cmd(
        client: str | None = typer.Option(None, "--client", help="Client name or id."),
        action: str | None = typer.Option(None, "--action", help="e.g. key.rotated, template.approved."),
        since: datetime | None = typer.Option(None, "--since", help="ISO 8601 time."),
        cursor: int | None = typer.Option(None, "--cursor", help="next_cursor of the previous page."),
        limit: int = typer.Option(50, "--limit", min=1, max=200),
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Show the audit log, newest first."""
        start = (since if since.tzinfo else since.replace(tzinfo=UTC)).timestamp() if since else None

        async def _page(hub: Any) -> dict[str, Any]:
            client_id = None
            if client:
                async with hub.uow() as uow:
                    client_id = (await find_client(uow, client)).id
            f = AuditFilter(client_id=client_id, action=action, since=start, before=cursor, limit=limit)
            return await list_entries(hub.uow(), f)

        page = _do(config_path, _page)
        if as_json:
            typer.echo(json.dumps(page))
            return
        typer.echo("\n".join(_entry_line(e) for e in page["entries"]) or "no entries")
        if page["next_cursor"]:
            typer.echo(f"more: --cursor {page['next_cursor']}")
