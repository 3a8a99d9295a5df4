"""Hard replies (negations, false friends, mixed signals), one test each, on the shipped model."""

from __future__ import annotations

import pytest

from nlu import Classifier


def check(clf: Classifier, text: str, context: str | None, label: str, rating: int | None) -> None:
    got = clf.classify(text, context)
    assert (got.label, got.rating) == (label, rating), f"{text!r} ({context}) -> {got}"


@pytest.mark.parametrize(
    "text",
    [
        "не надо меня отписывать",
        "please don't unsubscribe me",
        "Не отписывайте меня!",
        "ne nado menya otpisyvat",
        "Do not unsubscribe me",
    ],
)
def test_negated_unsubscribe_is_opt_in(classifier: Classifier, text: str) -> None:
    check(classifier, text, "promo", "opt_in", None)


@pytest.mark.parametrize("text", ["не пишите мне больше", "don't text me again"])
def test_negated_sending_is_opt_out(classifier: Classifier, text: str) -> None:
    check(classifier, text, "promo", "opt_out", None)


@pytest.mark.parametrize(
    "text", ["СТОООП", "стоооп!!!", "STOOOP", "Отпишииите меня", "bolshe ne pishite", "CTOП"]
)
def test_stretched_letters_casing_and_mixed_script_opt_out(classifier: Classifier, text: str) -> None:
    check(classifier, text, None, "opt_out", None)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("otpishite menya", "opt_out"),
        ("hvatit spamit", "opt_out"),
        ("bolshe ne pishite", "opt_out"),
        ("podpishite menya snova", "opt_in"),
        ("vernite rassylku", "opt_in"),
    ],
)
def test_translit_opt_out_and_opt_in(classifier: Classifier, text: str, label: str) -> None:
    check(classifier, text, "promo", label, None)


@pytest.mark.parametrize(
    "context", ["survey", "promo", "delivery", "order_status", "payment", "appointment", None]
)
def test_stop_is_opt_out_in_every_context(classifier: Classifier, context: str | None) -> None:
    check(classifier, "СТОП", context, "opt_out", None)


def test_start_is_opt_in(classifier: Classifier) -> None:
    check(classifier, "START", "promo", "opt_in", None)


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("четвёрочка", 4),
        ("на пятёрку", 5),
        ("three stars", 3),
        ("6 out of 10", 3),
        ("8 из 10, хотя нет, 7", 4),
        ("твёрдая четвёрка", 4),
        ("na pyaterku", 5),
        ("pyat zvezd", 5),
        ("5 из 5", 5),
        ("на троечку", 3),
        ("I'd give it a 9", 5),
        ("пять с плюсом", 5),
        ("оценка 2", 2),
        ("10/10", 5),
    ],
)
def test_rating_idioms(classifier: Classifier, text: str, rating: int) -> None:
    check(classifier, text, "survey", "rating", rating)


@pytest.mark.parametrize(
    ("text", "rating"),
    [("7/10", 4), ("9/10", 5), ("3/10", 2), ("1 из 10", 1), ("5 out of 10", 3), ("8 iz 10", 4)],
)
def test_ten_point_scores_round_half_up(classifier: Classifier, text: str, rating: int) -> None:
    check(classifier, text, "survey", "rating", rating)


def test_filled_stars_count_one_each(classifier: Classifier) -> None:
    check(classifier, "★★★☆☆", "survey", "rating", 3)
    check(classifier, "⭐⭐⭐⭐⭐", "delivery", "rating", 5)


def test_keycap_digit_is_a_digit(classifier: Classifier) -> None:
    check(classifier, "4️⃣", "survey", "rating", 4)


@pytest.mark.parametrize("text", ["👍", "❤️", "👍👍👍", "🔥"])
def test_thumbs_and_hearts_are_not_scores(classifier: Classifier, text: str) -> None:
    check(classifier, text, "survey", "other", None)


@pytest.mark.parametrize(
    ("text", "context"),
    [
        ("через 10 минут буду", "delivery"),
        ("кв. 12", "delivery"),
        ("заказ 77031", "order_status"),
        ("через 10 минут буду", "survey"),
        ("Буду в 5", "appointment"),
        ("подъезд 3, этаж 7", None),
    ],
)
def test_numbers_that_are_not_ratings(classifier: Classifier, text: str, context: str) -> None:
    check(classifier, text, context, "other", None)


def test_bare_number_depends_on_context(classifier: Classifier) -> None:
    check(classifier, "5", "survey", "rating", 5)
    check(classifier, "5", "appointment", "other", None)


@pytest.mark.parametrize(
    "text",
    [
        "где мой заказ",
        "Когда привезут заказ",
        "Подскажите во сколько приедет курьер",
        "can I pay by card on delivery",
        "kogda budet dostavka",
        "Перезвоните мне пожалуйста",
    ],
)
def test_question_without_question_mark(classifier: Classifier, text: str) -> None:
    check(classifier, text, "delivery", "question", None)


def test_question_wins_over_rating(classifier: Classifier) -> None:
    check(classifier, "5, но почему так долго везли?", "survey", "question", 5)
    check(classifier, "8/10, when is the next sale", "survey", "question", 4)


@pytest.mark.parametrize(
    "text",
    [
        "stop by the office on Monday",
        "Stop by the office on Monday",
        "I'll stop by later",
        "The bus stop near my house is fine",
        "Стоп-кран не понадобится",
    ],
)
def test_stop_as_an_ordinary_word_is_not_opt_out(classifier: Classifier, text: str) -> None:
    got = classifier.classify(text, "appointment")
    assert got.label == "other", got


@pytest.mark.parametrize(
    "text", ["Спасибо", "Спасибо большое!", "thanks!", "spasibo", "ок", "Хорошего дня", "Привет"]
)
def test_thanks_and_small_talk_are_other(classifier: Classifier, text: str) -> None:
    check(classifier, text, "delivery", "other", None)
