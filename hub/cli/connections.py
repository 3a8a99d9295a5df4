"""CLI commands for connections: `connections add vk|ok|telegram|sms`, `connections list`, `remove`.

Output never shows a secret but the callback URL (the platform must be given its token): both the
text line and `--json` come from `connection_view`. Running hubs pick a change up within
`hub.channels.readers.RELOAD_INTERVAL` seconds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from hub.channels.connections import Mode
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

connections_app = typer.Typer(help="Manage clients' channel connections.", no_args_is_help=True)
add_app = typer.Typer(help="Add a connection (VK, OK, Telegram or an SMS route).", no_args_is_help=True)
connections_app.add_typer(add_app, name="add")

ClientOption = typer.Option(..., "--client", help="Client name.")
NameOption = typer.Option(None, "--name", help="A label (default: from the channel settings).")
BaseUrlOption = typer.Option(None, "--api-base-url", help="Platform base URL (default: the platform's own).")
ModeOption = typer.Option(None, "--mode", help="callback (the platform calls us) or longpoll (we poll).")
AllowIpOption = typer.Option(
    None, "--allow-ip", help="Take callbacks only from this address or CIDR (repeatable; default: any)."
)


def _line(view: dict[str, Any]) -> str:
    error = f"  ({view['last_error']})" if view["last_error"] else ""
    allow = f"  from {','.join(view['ip_allowlist'])}" if view["ip_allowlist"] else ""
    return (
        f"{view['id']:>4}  {view['channel']:<8} {view['mode']:<8} {view['status']:<6} "
        f"{view['name']}  callback {view['callback_url']}{allow}{error}"
    )


def _add(
    client: str,
    channel: str,
    settings: dict[str, Any],
    mode: Mode | None,
    name: str | None,
    config_path: Path,
    as_json: bool,
    allow_ips: list[str] | None = None,
) -> None:
    from hub.channels.connections import add_connection, connection_view
    from hub.security import audit

    config = config_from(config_path)
    prepare(config)

    async def _do(hub: Any) -> dict[str, Any]:
        found = await find_client(hub, client)
        uow = audit.connection_added(hub.uow(), audit.CLI, found.id, channel, hub.clock.now())
        now = hub.clock.now()
        created = await add_connection(
            uow, found.id, channel, settings, now, mode=mode, name=name, ip_allowlist=allow_ips
        )
        return connection_view(created, config.server.public_url)

    view = run(lambda: with_hub(config, _do))
    typer.echo(json.dumps(view) if as_json else f"connection added:\n{_line(view)}")


def register(app: typer.Typer) -> None:
    """Attach `notifyhub connections ...` to the CLI (called once by hub.cli)."""

    app.add_typer(connections_app, name="connections")

    @add_app.command("vk")
    @friendly
    def add_vk(
        client: str = ClientOption,
        group_id: int = typer.Option(..., "--group-id", help="The community's id."),
        token: str = typer.Option(..., "--token", help="Community access token (stored, never shown)."),
        secret: str | None = typer.Option(None, "--secret", help="Callback API secret key."),
        confirmation: str | None = typer.Option(None, "--confirmation", help="Callback API confirmation."),
        rate_limit: int | None = typer.Option(None, "--rate-limit", help="Requests/s for this token."),
        mode: Mode | None = ModeOption,
        api_base_url: str | None = BaseUrlOption,
        name: str | None = NameOption,
        allow_ips: list[str] | None = AllowIpOption,
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Connect a VK community (Callback API at the printed URL, secret required; or Bots Long Poll)."""
        settings = {
            "group_id": group_id,
            "token": token,
            "secret": secret,
            "confirmation": confirmation,
            "rate_limit": rate_limit,
            "api_base_url": api_base_url,
        }
        _add(client, "vk", settings, mode, name, config_path, as_json, allow_ips)

    @add_app.command("ok")
    @friendly
    def add_ok(
        client: str = ClientOption,
        token: str = typer.Option(..., "--token", help="Group Bot API token (stored, never shown)."),
        api_base_url: str | None = BaseUrlOption,
        name: str | None = NameOption,
        allow_ips: list[str] | None = AllowIpOption,
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Connect an OK group (inbound by webhook at the printed URL)."""
        settings = {"token": token, "api_base_url": api_base_url}
        _add(client, "ok", settings, None, name, config_path, as_json, allow_ips)

    @add_app.command("telegram")
    @friendly
    def add_telegram(
        client: str = ClientOption,
        token: str = typer.Option(..., "--token", help="Bot token from @BotFather (stored, never shown)."),
        secret: str | None = typer.Option(None, "--secret", help="Webhook secret-token header value."),
        username: str | None = typer.Option(None, "--username", help="The bot's username (deep links)."),
        mode: Mode | None = ModeOption,
        api_base_url: str | None = BaseUrlOption,
        name: str | None = NameOption,
        allow_ips: list[str] | None = AllowIpOption,
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Connect a Telegram bot (webhook at the printed URL, secret required; or getUpdates)."""
        settings = {"token": token, "webhook_secret": secret, "api_base_url": api_base_url}
        settings["username"] = username
        _add(client, "telegram", settings, mode, name, config_path, as_json, allow_ips)

    @add_app.command("sms")
    @friendly
    def add_sms(
        client: str = ClientOption,
        sender: str = typer.Option("NotifyHub", "--sender", help="Sender name (up to 11 characters)."),
        api_base_url: str | None = typer.Option(None, "--api-base-url", help="HTTP gateway base URL."),
        token: str | None = typer.Option(None, "--token", help="HTTP gateway bearer token."),
        body_format: str = typer.Option("json", "--format", help="Gateway request body: json or form."),
        smpp_host: str | None = typer.Option(None, "--smpp-host", help="SMPP server (instead of a gateway)."),
        smpp_port: int | None = typer.Option(None, "--smpp-port"),
        system_id: str | None = typer.Option(None, "--system-id", help="SMPP system_id."),
        password: str | None = typer.Option(None, "--password", help="SMPP password (stored, never shown)."),
        callback_user: str | None = typer.Option(
            None, "--callback-user", help="HTTP Basic user the gateway's callbacks must send."
        ),
        callback_password: str | None = typer.Option(
            None, "--callback-password", help="HTTP Basic password for callbacks (8+ characters)."
        ),
        callback_secret: str | None = typer.Option(
            None, "--callback-secret", help="Shared secret callbacks send as X-Callback-Secret (16+)."
        ),
        name: str | None = NameOption,
        allow_ips: list[str] | None = AllowIpOption,
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Add an SMS route; several routes of one client fail over in the order they were added."""
        kind = "smpp" if smpp_host else "gateway"
        settings = {
            "kind": kind,
            "sender": sender,
            "api_base_url": api_base_url,
            "token": token,
            "body_format": body_format,
            "host": smpp_host,
            "port": smpp_port,
            "system_id": system_id,
            "password": password,
            "callback_user": callback_user,
            "callback_password": callback_password,
            "callback_secret": callback_secret,
        }
        _add(client, "sms", settings, None, name, config_path, as_json, allow_ips)

    @connections_app.command("list")
    @friendly
    def list_cmd(
        client: str | None = typer.Option(None, "--client", help="Only this client's connections."),
        config_path: Path = ConfigOption,
        as_json: bool = JsonOption,
    ) -> None:
        """List live connections (secrets masked)."""
        from hub.channels.connections import connection_view, list_connections

        config = config_from(config_path)
        prepare(config)

        async def _do(hub: Any) -> list[dict[str, Any]]:
            client_id = (await find_client(hub, client)).id if client else None
            found = await list_connections(hub.uow(), client_id)
            return [connection_view(c, config.server.public_url) for c in found]

        views = run(lambda: with_hub(config, _do))
        typer.echo(json.dumps(views) if as_json else "\n".join(_line(v) for v in views) or "no connections")

    @connections_app.command("remove")
    @friendly
    def remove_cmd(connection_id: int, config_path: Path = ConfigOption, as_json: bool = JsonOption) -> None:
        """Remove a connection: its ingress answers 404 and running hubs stop using it."""
        from hub.channels.connections import remove_connection
        from hub.security import audit

        config = config_from(config_path)
        prepare(config)
        run(
            lambda: with_hub(
                config,
                lambda hub: remove_connection(
                    audit.connection_removed(hub.uow(), audit.CLI, connection_id, hub.clock.now()),
                    connection_id,
                    hub.clock.now(),
                ),
            )
        )
        typer.echo(
            json.dumps({"id": connection_id, "removed": True})
            if as_json
            else f"connection {connection_id} removed"
        )
