"""A message that asks for the customer's phone carries Telegram's share-contact button; others do not."""

from __future__ import annotations

from bots.base import ASK_PHONE, OutboundMessage
from bots.telegram import TelegramChannel, TelegramConfig
from tests.fakes.telegram_api import FakeTelegramApi


async def test_ask_phone_message_has_the_contact_button() -> None:
    async with FakeTelegramApi() as fake:
        channel = TelegramChannel(TelegramConfig(token=fake.token, api_base_url=fake.url))
        async with channel:
            ask = OutboundMessage("n1.0", "telegram", "42", "Поделитесь номером", category=ASK_PHONE)
            await channel.send(ask)
            await channel.send(OutboundMessage("n2.0", "telegram", "42", "Заказ готов"))
    button = fake.sent[0].reply_markup["keyboard"][0][0]
    assert button["request_contact"] is True and button["text"] == "Поделиться номером"
    assert fake.sent[1].reply_markup is None
