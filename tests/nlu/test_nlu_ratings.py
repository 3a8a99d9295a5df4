"""Score extraction on its own: sans-IO, no model."""

from __future__ import annotations

import pytest

from nlu.ratings import extract_rating
from nlu.text import fold


def rating(text: str, bare: bool = True) -> int | None:
    return extract_rating(fold(text), bare_numbers=bare)


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, 1), (1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3), (7, 4), (8, 4), (9, 5), (10, 5)],
)
def test_ten_point_mapping_is_half_up(n: int, expected: int) -> None:
    assert rating(f"{n}/10") == expected
    assert rating(f"{n} из 10") == expected


def test_scores_above_five_without_scale_are_ten_point() -> None:
    assert rating("ставлю 7") == 4


def test_stars_keycaps_and_emoji() -> None:
    assert rating("★★★☆☆") == 3
    assert rating("☆☆☆☆☆") is None
    assert rating("⭐️⭐️⭐️⭐️") == 4
    assert rating("4️⃣") == 4
    assert rating("🔟") == 5
    assert rating("👍") is None
    assert rating("❤️❤️❤️") is None


def test_correction_takes_the_later_score_on_the_earlier_scale() -> None:
    assert rating("8 из 10, хотя нет, 7") == 4
    assert rating("4 из 5, нет, 3", bare=False) == 3
    assert rating("9/10, actually 8") == 4


def test_bare_numbers_need_a_survey() -> None:
    assert rating("5", bare=True) == 5
    assert rating("5", bare=False) is None
    assert rating("5 звёзд", bare=False) == 5


@pytest.mark.parametrize(
    "text",
    [
        "через 10 минут буду",
        "кв. 12",
        "заказ 77031",
        "в 5 вечера",
        "код 2468",
        "2 штуки",
        "+79161234567",
        "15:30",
        "12.05",
        "заберу в пятёрочке",
        "карта тройка",
    ],
)
def test_non_rating_numbers(text: str) -> None:
    assert rating(text) is None
