"""When a customer may be messaged: their local sending window and quiet hours (pure, no IO).

A campaign or chain step says "between 10:00 and 20:00 their time"; marketing also keeps quiet
hours (21:00-09:00 local by default, 38-FZ practice). Both are times of day in the customer's
time zone; `next_allowed` gives the first moment at or after `now` that is inside the window and
outside the quiet hours, so a message due at night waits for the morning instead of being skipped.

    >>> w = DayWindow.parse("10:00", "20:00")
    >>> w.contains(time(12, 30)), w.contains(time(21, 0))
    (True, False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_DAY = 24 * 60


def parse_hhmm(text: object, field: str) -> int:
    """Minutes after midnight of an "HH:MM" string; a ValueError naming the field otherwise."""
    match = _HHMM.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{field}: give a time of day as HH:MM, e.g. 10:00 (got {text!r})")
    hours, minutes = int(match[1]), int(match[2])
    if hours > 23 or minutes > 59:
        raise ValueError(f"{field}: {text!r} is not a time of day (00:00 to 23:59)")
    return hours * 60 + minutes


@dataclass(frozen=True)
class DayWindow:
    """A span of local time of day, [start, end) in minutes; it may wrap midnight (21:00-09:00)."""

    start: int
    end: int

    @classmethod
    def parse(cls, start: object, end: object, field: str = "local_window") -> DayWindow:
        """From "HH:MM" strings; equal ends are refused (an empty or a whole-day window says nothing)."""
        first, last = parse_hhmm(start, f"{field}.from"), parse_hhmm(end, f"{field}.to")
        if first == last:
            raise ValueError(f"{field}: from and to are the same time; leave the window out for all day")
        return cls(first, last)

    def contains(self, moment: time) -> bool:
        """True when a local time of day falls inside the span."""
        minute = moment.hour * 60 + moment.minute
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end

    def __str__(self) -> str:
        return f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"


def allowed_spans(window: DayWindow | None, quiet: DayWindow | None) -> list[tuple[int, int]]:
    """The minutes of a day one may send in: inside the window, outside quiet hours, as [a, b) spans."""
    minutes = [True] * _DAY
    if window is not None:
        minutes = [window.contains(time(m // 60, m % 60)) for m in range(_DAY)]
    if quiet is not None:
        minutes = [ok and not quiet.contains(time(m // 60, m % 60)) for m, ok in enumerate(minutes)]
    spans: list[tuple[int, int]] = []
    for minute, ok in enumerate(minutes):
        if ok and spans and spans[-1][1] == minute:
            spans[-1] = (spans[-1][0], minute + 1)
        elif ok:
            spans.append((minute, minute + 1))
    return spans


def next_allowed(now: float, zone: ZoneInfo, spans: list[tuple[int, int]]) -> float | None:
    """The first UNIX time at or after `now` whose local time of day lies in `spans` (None: never)."""
    if not spans:
        return None
    local = datetime.fromtimestamp(now, UTC).astimezone(zone)
    minute = local.hour * 60 + local.minute
    if any(a <= minute < b for a, b in spans):
        return now
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(3):  # today, tomorrow, and one more for a day shortened by a clock change
        for start, _ in spans:
            if day == 0 and start <= minute:
                continue
            base = (midnight + timedelta(days=day)).replace(tzinfo=None)
            candidate = (base + timedelta(minutes=start)).replace(tzinfo=zone)
            return candidate.astimezone(UTC).timestamp()
    return None


def zone_named(name: str | None, fallback: str) -> ZoneInfo:
    """The IANA zone of that name, else the fallback (a client's default zone)."""
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("Europe/Moscow")
