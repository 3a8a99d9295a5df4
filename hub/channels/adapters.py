"""Real channel adapters built from stored connections: the one place settings become bots/ configs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from bots.base import BaseChannel
from bots.ratelimit import RateLimiterRegistry
from hub.channels.connections import OkSettings, SmsSettings, TelegramSettings, VkSettings, parse_settings
from storage.models import Connection

if TYPE_CHECKING:  # the platform libraries take seconds to import: only when a connection needs them
    from bots.smpp import SmppConfig
    from bots.sms import SmsGatewayConfig
    from bots.telegram import TelegramConfig
    from bots.vk import VkConfig


def vk_config(connection: Connection) -> VkConfig:
    """The VK adapter's configuration for a stored connection."""
    from bots.vk import VkConfig

    s = VkSettings.model_validate(connection.settings)
    mode: Literal["callback", "longpoll"] = "callback" if connection.mode == "callback" else "longpoll"
    return VkConfig(
        group_id=s.group_id,
        token=s.token,
        api_base_url=s.api_base_url,
        secret=s.secret,
        confirmation=s.confirmation,
        mode=mode,
        rate_limit=s.rate_limit,
    )


def telegram_config(connection: Connection) -> TelegramConfig:
    """The Telegram adapter's configuration for a stored connection."""
    from bots.telegram import TelegramConfig

    s = TelegramSettings.model_validate(connection.settings)
    return TelegramConfig(token=s.token, api_base_url=s.api_base_url, webhook_secret=s.webhook_secret)


def sms_gateway_config(connection: Connection) -> SmsGatewayConfig:
    """The HTTP gateway adapter's configuration for a stored SMS connection."""
    from bots.sms import SmsGatewayConfig

    s = SmsSettings.model_validate(connection.settings)
    assert s.api_base_url is not None
    return SmsGatewayConfig(
        api_base_url=s.api_base_url,
        sender=s.sender,
        token=s.token or "",
        name=f"route-{connection.id}",
        body_format=s.body_format,
    )


def _smpp_config(connection: Connection, s: SmsSettings) -> SmppConfig:
    from bots.smpp import SmppConfig

    assert s.host and s.port and s.system_id and s.password is not None
    return SmppConfig(
        host=s.host,
        port=s.port,
        system_id=s.system_id,
        password=s.password,
        sender=s.sender,
        name=f"route-{connection.id}",
    )


def build_adapter(connection: Connection, limiters: RateLimiterRegistry) -> BaseChannel:
    """A fresh adapter for one connection; VK adapters sharing a token share one rate limiter."""
    settings: Any = parse_settings(connection.channel, connection.settings)
    if isinstance(settings, VkSettings):
        from bots.vk import VkChannel

        limiter = limiters.get(settings.token, settings.rate_limit)
        return VkChannel(vk_config(connection), limiter=limiter, connection_id=connection.id)
    if isinstance(settings, OkSettings):
        from bots.ok import OkChannel, OkConfig

        return OkChannel(OkConfig(token=settings.token, api_base_url=settings.api_base_url))
    if isinstance(settings, TelegramSettings):
        from bots.telegram import TelegramChannel

        return TelegramChannel(telegram_config(connection), connection_id=connection.id)
    assert isinstance(settings, SmsSettings)
    if settings.kind == "smpp":
        from bots.smpp import SmppChannel

        return SmppChannel(_smpp_config(connection, settings), connection_id=connection.id)
    from bots.sms import HttpSmsChannel

    return HttpSmsChannel(sms_gateway_config(connection))


def reads_events(connection: Connection) -> bool:
    """True when the hub must pull this connection's events (VK/Telegram long polling, SMPP)."""
    return connection.mode == "longpoll" and connection.channel in ("vk", "telegram", "sms")
