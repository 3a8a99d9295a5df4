"""Typed configuration: `config.yaml` overlaid with `NOTIFYHUB_SECTION__KEY` environment variables.

Built once at the entry point by `load_config` and passed in; nothing reads the environment later.

    >>> cfg = load_config("config.yaml", environ={"NOTIFYHUB_SERVER__PORT": "9090"})
    >>> cfg.server.port
    9090
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.errors import RequestError

ENV_PREFIX = "NOTIFYHUB_"

Channel = Literal["vk", "ok", "telegram", "sms"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServerConfig(_Frozen):
    """Where the HTTP API listens."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    max_body_bytes: int = 1024 * 1024


class DatabaseConfig(_Frozen):
    """SQLite (aiosqlite, the embedded default) or PostgreSQL (asyncpg) by URL."""

    url: str = "sqlite+aiosqlite:///notifyhub.db"
    pool_size: int = 10
    echo: bool = False


class DispatchConfig(_Frozen):
    """Outbox workers in this process."""

    workers: int = Field(2, ge=0, le=64)
    batch_size: int = Field(200, ge=1, le=5000)
    poll_interval: float = Field(0.05, gt=0)
    lease_seconds: float = Field(30.0, gt=0)
    retry_min_delay: float = 1.0
    retry_max_delay: float = 300.0


class LegConfig(_Frozen):
    """One step of a default route."""

    channel: Channel
    ttl: int | None = None
    until: Literal["sent", "delivered", "read"] | None = None


class CascadeConfig(_Frozen):
    """Defaults of the cascade rules; clients may override some of them."""

    default_route: tuple[LegConfig, ...] = (LegConfig(channel="vk", ttl=3600), LegConfig(channel="sms"))
    activity_days: int = 7
    action_max_age_days: int = 3
    last_leg_watch_seconds: int = 86400
    prices: dict[Channel, float] = {"vk": 0.9, "ok": 0.9, "telegram": 0.5, "sms": 3.5}


class SandboxIdentity(_Frozen):
    """A sandbox customer's account on one messenger."""

    user_id: str
    last_active_days: float = 0
    allowed: bool = True
    #: Seconds until the platform reports delivery; None: never delivered (app never opened).
    delivers_after: float | None = 0.5
    reads_after: float | None = None


class SandboxCustomer(_Frozen):
    """A simulated customer of the sandbox network and how they behave."""

    phone: str
    name: str = ""
    vk: SandboxIdentity | None = None
    ok: SandboxIdentity | None = None
    telegram: SandboxIdentity | None = None
    #: SMS: seconds until the delivery receipt; None means the number is unreachable.
    sms_delivers_after: float | None = 1.0
    #: What the customer answers after reading (or after the SMS arrives).
    replies: str | None = None


class SandboxConfig(_Frozen):
    """The simulated VK/OK/Telegram/SMS network used by clients without connections."""

    enabled: bool = True
    poll_interval: float = 0.2
    customers: tuple[SandboxCustomer, ...] = ()


class LoggingConfig(_Frozen):
    """Log level for the `notifyhub` loggers."""

    level: str = "INFO"


class WebConfig(_Frozen):
    """The agents' web inbox at /inbox."""

    #: Signs session cookies; set it when several hub processes serve /inbox (else each has its own).
    session_secret: str | None = Field(default=None, repr=False)
    session_minutes: int = Field(480, ge=5, le=7 * 24 * 60)


class Config(_Frozen):
    """The whole configuration of one hub process."""

    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    dispatch: DispatchConfig = DispatchConfig()
    cascade: CascadeConfig = CascadeConfig()
    sandbox: SandboxConfig = SandboxConfig()
    logging: LoggingConfig = LoggingConfig()
    web: WebConfig = WebConfig()
    admin_token: str | None = Field(default=None, repr=False)

    @field_validator("admin_token")
    @classmethod
    def _non_empty(cls, value: str | None) -> str | None:
        return value or None


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Turn NOTIFYHUB_A__B=v into {"a": {"b": "v"}} (keys lower-cased)."""
    tree: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        parts = key[len(ENV_PREFIX) :].lower().split("__")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_config(
    path: str | os.PathLike[str] | None = "config.yaml",
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read YAML (if the file exists), apply environment overrides, validate once."""
    data: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        if file.exists():
            try:
                loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
            except yaml.YAMLError as e:
                raise RequestError("bad_config", f"{file}: not valid YAML ({e})") from e
            if not isinstance(loaded, dict):
                raise RequestError("bad_config", f"{file}: the top level must be a mapping")
            data = loaded
    data = _merge(data, _env_overrides(os.environ if environ is None else environ))
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RequestError("bad_config", f"configuration {where}: {first['msg']}") from e
