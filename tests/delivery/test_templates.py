"""Placeholders, rendering and the automatic moderation checks (examples from the product brief)."""

from __future__ import annotations

import pytest

from hub.delivery.templates import moderate, placeholders, rejection, render
from hub.errors import RequestError


def failing(text: str, category: str = "service") -> set[str]:
    return {c.name for c in moderate(text, category) if not c.passed}


def test_render_fills_placeholders() -> None:
    assert placeholders("#name#, заказ #order# (#name#)") == ["name", "order"]
    assert render("#name#, заказ #order#", {"name": "Анна", "order": 7}) == "Анна, заказ 7"


def test_missing_and_unknown_params_are_named() -> None:
    with pytest.raises(RequestError) as e:
        render("#name#, заказ #order#", {"name": "Анна", "colour": "red"})
    assert e.value.code == "bad_params" and "order" in e.value.message and "colour" in e.value.message


def test_allowed_examples_pass() -> None:
    assert (
        failing("не забудьте внести #param1# р. по договору #param2#. детализация счёта: #param3#") == set()
    )
    assert failing("Ваш заказ #9999 готов к выдаче") == set()
    assert failing("Вчера вы сделали заказ. Расскажите, пожалуйста, все ли вам понравилось?") == set()


def test_advertising_before_the_last_sentence_is_flagged() -> None:
    text = (
        "добрый день! #param1# сгорают 500 бонусов на вашей бонусной карте. "
        "бонусами можно оплатить до 25% покупки. "
        "узнать баланс бонусной карты можно с помощью бота в нашей группе https://vk.me/"
    )
    assert failing(text) == {"ads_in_tail"}
    assert failing(text, "marketing") == set()


def test_link_before_the_last_sentence_is_flagged_but_left_to_the_operator() -> None:
    checks = moderate("Подробности на https://shop.ru/x. Спасибо за заказ!", "transactional")
    assert {c.name for c in checks if not c.passed} == {"links_in_tail"}
    assert rejection(checks) is None
    assert failing("Спасибо за заказ! Подробности на https://shop.ru/x") == set()


def test_empty_or_overlong_text_is_rejected_at_once() -> None:
    assert rejection(moderate("   ", "otp")) is not None
    assert rejection(moderate("x" * 5000, "otp")) is not None
