"""Connections: a client's channel accounts, validated, stored with their secrets sealed, shown masked.

The CLI (`notifyhub connections ...`) and the admin API (`/v1/admin/connections`) both go
through `add_connection`, `list_connections` and `remove_connection`; `connection_view` is the
only way a connection leaves the hub, and it masks every secret but one: the callback URL
`/channels/{channel}/{callback_token}`, which the operator must give the platform. The token is
random (`new_callback_token`), so a URL cannot be guessed from another; each platform's own proof
comes on top (see `hub.conversations.callback_auth`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bots.segments import validate_sender
from hub.errors import RequestError
from hub.security.allowlist import parse_cidrs
from storage.models import Connection
from storage.secret_box import SECRET_SETTINGS
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.connections")

SECRET_KEYS = SECRET_SETTINGS  # sealed in storage (hub.secret_box), masked when shown
Mode = Literal["callback", "longpoll"]
#: Connection row ids are 32-bit integers: a larger one names no connection (and would not bind).
MAX_ID = 2**31 - 1


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VkSettings(_Settings):
    """A VK community: group id, community token, Callback API secret and confirmation string."""

    group_id: int = Field(gt=0)
    token: str = Field(min_length=1, repr=False)
    secret: str | None = Field(default=None, repr=False)
    confirmation: str | None = None
    api_base_url: str = "https://api.vk.com/method"
    rate_limit: int = Field(default=20, ge=1, le=1000)


class OkSettings(_Settings):
    """An OK group: its Bot API token (inbound arrives by webhook only)."""

    token: str = Field(min_length=1, repr=False)
    api_base_url: str = "https://api.ok.ru"


class TelegramSettings(_Settings):
    """A Telegram bot: its token and, for webhooks, the secret-token header value."""

    token: str = Field(min_length=1, repr=False)
    webhook_secret: str | None = Field(default=None, repr=False)
    api_base_url: str = "https://api.telegram.org"
    #: The bot's @username without the @: deep links (`t.me/<username>?start=...`) need it.
    username: str | None = Field(default=None, pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$")


class SmsSettings(_Settings):
    """One SMS route: an HTTP gateway (`api_base_url`, token) or an SMPP account (host, port, ...).

    A gateway's callbacks may be required to prove themselves beyond the URL token: with HTTP Basic
    (`callback_user`, `callback_password`) and/or a shared secret sent in the `X-Callback-Secret`
    header (`callback_secret`).
    """

    kind: Literal["gateway", "smpp"] = "gateway"
    sender: str = "NotifyHub"
    api_base_url: str | None = None
    token: str | None = Field(default=None, repr=False)
    body_format: Literal["json", "form"] = "json"
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    system_id: str | None = None
    password: str | None = Field(default=None, repr=False)
    callback_user: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[^:]+$")
    callback_password: str | None = Field(default=None, min_length=8, max_length=200, repr=False)
    callback_secret: str | None = Field(default=None, min_length=16, max_length=200, repr=False)

    @model_validator(mode="after")
    def _route_complete(self) -> SmsSettings:
        validate_sender(self.sender)
        if (self.callback_user is None) != (self.callback_password is None):
            raise ValueError("HTTP Basic for callbacks needs both callback_user and callback_password")
        has_callback_auth = self.callback_user or self.callback_secret
        if self.kind == "smpp" and has_callback_auth:
            raise ValueError("an SMPP route takes no HTTP callbacks: no callback credentials")
        if self.kind == "gateway" and not self.api_base_url:
            raise ValueError("an SMS gateway route needs api_base_url (--api-base-url)")
        if self.kind == "smpp" and not (self.host and self.port and self.system_id and self.password):
            raise ValueError("an SMPP route needs host, port, system_id and password")
        return self


SETTINGS: dict[str, type[_Settings]] = {
    "vk": VkSettings,
    "ok": OkSettings,
    "telegram": TelegramSettings,
    "sms": SmsSettings,
}


def parse_settings(channel: str, raw: dict[str, Any]) -> _Settings:
    """Validate a connection's settings for its channel (unknown keys refused)."""
    model = SETTINGS.get(channel)
    if model is None:
        raise RequestError("invalid_field", f"channel: one of {', '.join(SETTINGS)}")
    try:
        return model.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(["settings", *(str(p) for p in first["loc"])])
        message = first["msg"].removeprefix("Value error, ")
        raise RequestError("invalid_field", f"{where}: {message}") from None
    except ValueError as e:  # validate_sender
        raise RequestError("invalid_field", f"settings: {e}") from None


def default_mode(channel: str, settings: _Settings) -> Mode:
    """How events reach the hub when the operator does not say: pull where the platform allows it."""
    if channel == "ok" or (isinstance(settings, SmsSettings) and settings.kind == "gateway"):
        return "callback"
    return "longpoll"


def _check_mode(channel: str, settings: _Settings, mode: Mode) -> None:
    if isinstance(settings, VkSettings) and mode == "callback" and not settings.secret:
        raise RequestError(
            "invalid_field",
            "settings.secret: a VK Callback API connection needs the secret key set in the community's "
            "Callback API settings (--secret), so the hub can tell VK's callbacks from forged ones",
        )
    if isinstance(settings, TelegramSettings) and mode == "callback" and not settings.webhook_secret:
        raise RequestError(
            "invalid_field",
            "settings.webhook_secret: a Telegram webhook connection needs a secret token (--secret), "
            "given to setWebhook as secret_token, so the hub can tell Telegram's updates from forged ones",
        )
    if channel == "ok" and mode != "callback":
        raise RequestError("invalid_field", "mode: OK delivers events by webhook only (callback)")
    if isinstance(settings, SmsSettings) and mode != default_mode(channel, settings):
        raise RequestError(
            "invalid_field", "mode: an SMS gateway calls back, an SMPP route is read (longpoll)"
        )


def mask(key: str, value: str) -> str:
    """A secret as shown to people: long tokens keep their last four characters, nothing else does."""
    return "****" + value[-4:] if key == "token" and len(value) >= 16 else "****"


def new_callback_token() -> str:
    """A fresh callback URL token: 192 random bits, URL-safe (never derived from the row id)."""
    return secrets.token_urlsafe(24)


def callback_path(connection: Connection) -> str:
    """The path the platform posts this connection's events to."""
    return f"/channels/{connection.channel}/{connection.callback_token}"


def connection_view(connection: Connection, public_url: str | None = None) -> dict[str, Any]:
    """A connection as the CLI and the API show it: secrets masked, callback URL (with its token) included.

    :param public_url: the hub's address as the platforms reach it (`server.public_url`); without
        it `callback_url` is the path alone.
    """
    settings = {k: (mask(k, str(v)) if k in SECRET_KEYS and v else v) for k, v in connection.settings.items()}
    path = callback_path(connection)
    return {
        "id": connection.id,
        "client_id": connection.client_id,
        "channel": connection.channel,
        "name": connection.name,
        "mode": connection.mode,
        "status": connection.status,
        "settings": settings,
        "endpoint": path,
        "callback_url": (public_url.rstrip("/") + path) if public_url else path,
        "ip_allowlist": connection.ip_allowlist or [],
        "last_event_at": connection.last_event_at,
        "last_error": connection.last_error,
        "created_at": connection.created_at,
        "deleted_at": connection.deleted_at,
    }


async def add_connection(
    uow: UnitOfWork,
    client_id: str,
    channel: str,
    raw: dict[str, Any],
    now: float,
    *,
    mode: Mode | None = None,
    name: str | None = None,
    ip_allowlist: list[str] | None = None,
) -> Connection:
    """Validate and store a connection for an existing client, with a fresh callback token.

    :param ip_allowlist: CIDRs the platform calls back from; callbacks from elsewhere get 403.
    """
    settings = parse_settings(channel, raw)
    mode = mode or default_mode(channel, settings)
    _check_mode(channel, settings, mode)
    cidrs = parse_cidrs(ip_allowlist) if ip_allowlist else None
    async with uow:
        if await uow.clients.get(client_id) is None:
            raise RequestError("client_not_found", f"no client {client_id}", status=404)
        row = {
            "client_id": client_id,
            "channel": channel,
            "name": name or _default_name(channel, settings),
            "settings": settings.model_dump(exclude_none=True),
            "mode": mode,
            "status": "ok",
            "callback_token": new_callback_token(),
            "ip_allowlist": cidrs,
            "created_at": now,
            "updated_at": now,
        }
        connection = await uow.connections.add(row)
        await uow.commit()
    log.info("connection added id=%s client=%s channel=%s mode=%s", connection.id, client_id, channel, mode)
    return connection


def _default_name(channel: str, settings: _Settings) -> str:
    if isinstance(settings, VkSettings):
        return f"vk community {settings.group_id}"
    if isinstance(settings, SmsSettings):
        return f"sms {settings.kind} {settings.sender}"
    return f"{channel} bot" if channel == "telegram" else f"{channel} group"


async def list_connections(uow: UnitOfWork, client_id: str | None = None) -> list[Connection]:
    """Live connections, of one client or of all."""
    async with uow:
        return await uow.connections.live(client_id)


async def remove_connection(uow: UnitOfWork, connection_id: int, now: float) -> None:
    """Soft-delete a connection: its ingress answers 404 and its adapter is closed on the next reload."""
    async with uow:
        if not 0 < connection_id <= MAX_ID or not await uow.connections.remove(connection_id, now):
            raise RequestError("connection_not_found", f"no connection {connection_id}", status=404)
        await uow.commit()
    log.info("connection removed id=%s", connection_id)


async def mark_broken(uow: Callable[[], UnitOfWork], connection_id: int, error: str, now: float) -> None:
    """Record that the platform refuses this account, and alert the operator."""
    async with uow() as work:
        await work.connections.mark_broken(connection_id, error, now)
        await work.commit()
    log.error("ALERT connection %s is broken: %s (fix its token, then re-add it)", connection_id, error)
