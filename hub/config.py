"""Typed configuration: `config.yaml` overlaid with `NOTIFYHUB_SECTION__KEY` environment variables.

Built once at the entry point by `load_config` and passed in; nothing reads the environment later.
`Config` is a pydantic-settings `BaseSettings`: its environment source (`EnvironmentSource`) reads
only the variables naming one of its fields (`NOTIFYHUB_TEST_PG_URL` is someone else's), while a
wrong key inside a section it owns (`NOTIFYHUB_DATABASE__URLL`) is an error like one in the file.

    >>> cfg = load_config("config.yaml", environ={"NOTIFYHUB_SERVER__PORT": "9090"})
    >>> cfg.server.port
    9090
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from bots.sandbox_customers import SandboxConfig, SandboxCustomer, SandboxIdentity
from hub.errors import RequestError

__all__ = ["Config", "SandboxConfig", "SandboxCustomer", "SandboxIdentity", "load_config"]

ENV_PREFIX = "NOTIFYHUB_"

Channel = Literal["vk", "ok", "telegram", "sms"]
#: A list given in the environment as `a,b,c` (split by the field's validator, not parsed as JSON).
CommaList = Annotated[tuple[str, ...], NoDecode]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ServerConfig(_Frozen):
    """Where the HTTP API listens."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    max_body_bytes: int = 1024 * 1024
    #: On SIGTERM: seconds in-flight requests get to finish after the listener closes.
    shutdown_grace: float = Field(30.0, ge=0)
    #: Let several hub processes listen on the same port (SO_REUSEPORT): the kernel spreads
    #: connections over them, one per core, without a proxy in front (PostgreSQL only).
    reuse_port: bool = False
    #: Proxies (CIDRs) whose X-Forwarded-For is believed for allow-lists and the audit log; none by default.
    trusted_proxies: CommaList = ()
    #: The hub's address as channel platforms reach it (https://hub.example.com): prefixes the
    #: callback URLs shown for connections. Unset: they are shown as paths.
    public_url: str | None = Field(default=None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$")
    #: Seconds an idle keep-alive connection is kept (above a load balancer's usual 60 s, so it closes first).
    keepalive_timeout: float = Field(75.0, gt=0)
    #: Seconds a request's line and headers may take, from the connection or the request's first byte.
    header_timeout: float = Field(10.0, gt=0)
    #: Seconds a request body may take to arrive in full; then 408 and the connection is closed.
    body_timeout: float = Field(30.0, gt=0)
    #: Open connections per process; more are answered 503 and closed at once. Also held under the
    #: open-file limit (a quarter of it, at least 64, stays for the database, channels and logs).
    max_connections: int = Field(1000, ge=1)
    #: Failed admin-token or inbox sign-in attempts per source address: this many at once...
    auth_failure_burst: int = Field(10, ge=1)
    #: ...then this many a minute; beyond, 429 with Retry-After.
    auth_failures_per_minute: float = Field(6.0, gt=0)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return [p.strip() for p in value.split(",") if p.strip()] if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)  # ValueError -> a validation error naming the key
        return value


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
    #: An idle worker doubles its pause up to this (a quiet hub costs the database a few queries a second).
    idle_poll_max: float = Field(0.25, gt=0)
    lease_seconds: float = Field(30.0, gt=0)
    #: Channel sends in flight per worker; the rest of a round waits its turn (and is handed back on stop).
    send_concurrency: int = Field(200, ge=1)
    #: On SIGTERM: seconds started sends get to finish; the rest are released for other workers at once.
    shutdown_grace: float = Field(10.0, ge=0)
    retry_min_delay: float = 1.0
    retry_max_delay: float = 300.0


class ReadersConfig(_Frozen):
    """Long-poll readers (VK Bots Long Poll, Telegram getUpdates): one process reads each connection."""

    #: How long a process's hold on a connection lasts unrenewed: a dead reader is taken over by
    #: another process within this (plus a third of it, how often the others look).
    lease_seconds: float = Field(15.0, ge=1, le=600)


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
    #: Tries to withdraw an expired messenger message while its platform is unavailable; the next
    #: leg waits for them (a refusal or a permanent error ends them at once).
    withdraw_attempts: int = Field(3, ge=1, le=10)
    #: The longest pause between two of those tries (seconds).
    withdraw_max_delay: float = Field(5.0, gt=0, le=60)


class LoggingConfig(_Frozen):
    """Log level for the `notifyhub` loggers."""

    level: str = "INFO"


class WebConfig(_Frozen):
    """The agents' web inbox at /inbox."""

    #: Signs session cookies; set it when several hub processes serve /inbox (else each has its own).
    session_secret: SecretStr | None = None
    session_minutes: int = Field(480, ge=5, le=7 * 24 * 60)

    @field_validator("session_secret", mode="before")
    @classmethod
    def _non_empty(cls, value: Any) -> Any:
        return value or None


class SecurityConfig(_Frozen):
    """API rate limits (per client, per process) and API key rotation defaults."""

    rate_limit_enabled: bool = True
    #: Default requests per second per client (a client may have its own), refilled continuously.
    rate_limit_per_second: float = Field(50.0, gt=0)
    #: Requests a client may make at once before the rate applies.
    rate_limit_burst: int = Field(100, ge=1)
    #: How long a rotated-away key keeps working when the rotation does not say.
    key_overlap_hours: float = Field(24.0, ge=0, le=24 * 30)
    #: Receipts for unknown messages one channel connection may have parked at a time.
    parked_receipts_per_connection: int = Field(1000, ge=0, le=1_000_000)


class WebhooksConfig(_Frozen):
    """Where client webhooks may point: public https addresses unless allowed here."""

    #: Allow loopback, private, link-local and other non-public addresses (development, tests).
    allow_private_urls: bool = False
    #: Non-public networks (CIDRs) and host names allowed anyway, e.g. an internal receiver.
    allowed_networks: CommaList = ()
    allowed_hosts: CommaList = ()
    #: Refuse plain http (payloads carry customers' messages).
    require_https: bool = True
    #: After a secret rotation the old secret signs too (two signatures) for this long, unless it says.
    secret_overlap_hours: float = Field(24.0, ge=0, le=24 * 30)

    @field_validator("allowed_networks", "allowed_hosts", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        return [p.strip() for p in value.split(",") if p.strip()] if isinstance(value, str) else value

    @field_validator("allowed_networks")
    @classmethod
    def _cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            ipaddress.ip_network(cidr, strict=False)
        return value


class RetentionConfig(_Frozen):
    """How long message texts and personal data are kept (`notifyhub purge`)."""

    days: int = Field(180, ge=1)
    #: Rows changed per transaction, so a purge never holds the database for long.
    batch_size: int = Field(1000, ge=1, le=100_000)


class ContactsConfig(_Frozen):
    """The contact directory: imports."""

    #: The largest import file `POST /v1/contacts/import` takes (bigger ones answer 413; use the CLI).
    import_max_bytes: int = Field(200 * 1024 * 1024, ge=1024)


class Config(BaseSettings):
    """The whole configuration of one hub process."""

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", env_prefix=ENV_PREFIX, env_nested_delimiter="__"
    )

    server: ServerConfig = ServerConfig()
    database: DatabaseConfig = DatabaseConfig()
    dispatch: DispatchConfig = DispatchConfig()
    readers: ReadersConfig = ReadersConfig()
    cascade: CascadeConfig = CascadeConfig()
    sandbox: SandboxConfig = SandboxConfig()
    logging: LoggingConfig = LoggingConfig()
    web: WebConfig = WebConfig()
    security: SecurityConfig = SecurityConfig()
    webhooks: WebhooksConfig = WebhooksConfig()
    retention: RetentionConfig = RetentionConfig()
    contacts: ContactsConfig = ContactsConfig()
    admin_token: SecretStr | None = None
    #: Fernet key(s) sealing stored tokens and webhook secrets, comma-separated: the first seals,
    #: all open (see `hub.security.secrets`). Unset on SQLite: a key file beside the database.
    secret_key: SecretStr | None = None

    @field_validator("admin_token", mode="before")
    @classmethod
    def _non_empty(cls, value: Any) -> Any:
        return value or None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the values passed in: `load_config` layers config.yaml and the given environment.

        So `Config()` is the defaults and never reads `os.environ` behind the caller's back.
        """
        return (init_settings,)


class EnvironmentSource(EnvSettingsSource):
    """The `NOTIFYHUB_*` variables of a given mapping (`os.environ`, or a test's dict) as nested values."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        if self.case_sensitive:
            return dict(self._environ)
        return {key.lower(): value for key, value in self._environ.items()}


def _read_yaml(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    """The file's mapping; nothing when there is no path or no file."""
    if path is None or not Path(path).exists():
        return {}
    file = Path(path)
    try:
        loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise RequestError("bad_config", f"{file}: not valid YAML ({e})") from e
    if not isinstance(loaded, dict):
        raise RequestError("bad_config", f"{file}: the top level must be a mapping")
    return loaded


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
    data = _read_yaml(path)
    try:
        overrides = EnvironmentSource(Config, os.environ if environ is None else environ)()
        return Config(**_merge(data, overrides))
    except SettingsError as e:  # a list or mapping given in the environment that is not JSON
        raise RequestError("bad_config", f"configuration from the environment: {e} (not valid JSON)") from e
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RequestError("bad_config", f"configuration {where}: {first['msg']}") from e
