"""Messages wait for the customer's own window and never go out in their quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from hub.campaigns.window import DayWindow, allowed_spans, next_allowed, parse_hhmm, zone_named
from hub.contacts.regions import locate

MOSCOW, NOVOSIBIRSK, VLADIVOSTOK = (
    ZoneInfo("Europe/Moscow"),
    ZoneInfo("Asia/Novosibirsk"),
    ZoneInfo("Asia/Vladivostok"),
)
WINDOW = DayWindow.parse("10:00", "20:00")
QUIET = DayWindow.parse("21:00", "09:00")


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def local(ts: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, UTC).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def test_each_zone_gets_the_message_inside_its_own_window() -> None:
    now = utc("2026-12-03 18:09")  # 21:09 in Moscow, 01:09 in Novosibirsk, 04:09 in Vladivostok
    spans = allowed_spans(WINDOW, QUIET)
    assert local(next_allowed(now, MOSCOW, spans) or 0, MOSCOW) == "2026-12-04 10:00"
    assert local(next_allowed(now, NOVOSIBIRSK, spans) or 0, NOVOSIBIRSK) == "2026-12-04 10:00"
    assert local(next_allowed(now, VLADIVOSTOK, spans) or 0, VLADIVOSTOK) == "2026-12-04 10:00"


def test_inside_the_window_sends_now() -> None:
    now = utc("2026-12-03 09:00")  # 12:00 in Moscow
    assert next_allowed(now, MOSCOW, allowed_spans(WINDOW, QUIET)) == now


def test_quiet_hours_cut_a_window_that_reaches_into_them() -> None:
    spans = allowed_spans(DayWindow.parse("08:00", "23:00"), QUIET)
    assert spans == [(9 * 60, 21 * 60)]
    now = utc("2026-12-03 05:30")  # 08:30 in Moscow: in the window, still quiet
    assert local(next_allowed(now, MOSCOW, spans) or 0, MOSCOW) == "2026-12-03 09:00"


def test_a_window_wrapping_midnight_and_no_window_at_all() -> None:
    night = DayWindow.parse("22:00", "02:00")
    assert night.contains(datetime(2026, 1, 1, 23, 30).time()) and not night.contains(
        datetime(2026, 1, 1, 3).time()
    )
    assert allowed_spans(None, None) == [(0, 24 * 60)]
    assert (
        next_allowed(utc("2026-12-03 18:09"), MOSCOW, allowed_spans(night, QUIET)) is None
    )  # all of it is quiet


@pytest.mark.parametrize("bad", ["25:00", "10:60", "10", "", None, 10, "ten:00"])
def test_bad_times_of_day_name_the_field(bad: object) -> None:
    with pytest.raises(ValueError, match=r"local_window\.from"):
        DayWindow.parse(bad, "20:00")
    with pytest.raises(ValueError, match="start_at"):
        parse_hhmm(bad, "start_at")


def test_the_number_tells_the_zone_where_it_can() -> None:
    assert locate("+74232123456").timezone == "Asia/Vladivostok"
    assert locate("+73832123456").timezone == "Asia/Novosibirsk"
    assert locate("+74951234567").timezone == "Europe/Moscow"
    mobile = locate("+79991234567")  # a mobile range spans the country: the number does not say
    assert (mobile.country, mobile.timezone) == ("RU", None)
    assert zone_named(mobile.timezone, "Asia/Yekaterinburg") == ZoneInfo("Asia/Yekaterinburg")
    assert zone_named("Not/AZone", "Europe/Moscow") == MOSCOW
