"""Campaign planning: each contact once, in their own window, skipped with a reason, split stably."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

from hub.campaigns.plan import NO_CONSENT, OPTED_OUT, OVER_CAP, Member, Rules, pick_variant, plan
from hub.campaigns.window import DayWindow, allowed_spans

MSK, NSK, VVO = ZoneInfo("Europe/Moscow"), ZoneInfo("Asia/Novosibirsk"), ZoneInfo("Asia/Vladivostok")
SPANS = allowed_spans(DayWindow.parse("10:00", "20:00"), DayWindow.parse("21:00", "09:00"))
START = datetime(
    2026, 12, 3, 18, 9, tzinfo=UTC
).timestamp()  # 21:09 Moscow, 01:09 Novosibirsk, 04:09 Vladivostok


def local_hour(ts: float, zone: ZoneInfo) -> int:
    return datetime.fromtimestamp(ts, UTC).astimezone(zone).hour


def test_each_contact_once_inside_its_own_window_and_the_rest_skipped_with_reasons() -> None:
    members = [
        Member("msk", MSK),
        Member("nsk", NSK),
        Member("vvo", VVO),
        Member("out", MSK, opted_out=True),
        Member("noconsent", VVO, marketing_consent=False),
        Member("capped", NSK, recent=1),
    ]
    decisions = plan(members, Rules(START, SPANS, marketing=True, cap_max=1))
    assert Counter(d.contact_id for d in decisions) == Counter(m.contact_id for m in members)
    by_id = {d.contact_id: d for d in decisions}
    for contact, zone in (("msk", MSK), ("nsk", NSK), ("vvo", VVO)):
        due = by_id[contact].due_at
        assert due is not None and due >= START and 10 <= local_hour(due, zone) < 20
    assert (by_id["vvo"].due_at or 0) < (by_id["nsk"].due_at or 0) < (by_id["msk"].due_at or 0)  # east first
    assert [by_id[c].skip for c in ("out", "noconsent", "capped")] == [OPTED_OUT, NO_CONSENT, OVER_CAP]


def test_transactional_content_needs_no_consent_but_opt_out_still_wins() -> None:
    decisions = plan(
        [Member("a", MSK, marketing_consent=False), Member("b", MSK, opted_out=True)],
        Rules(START, SPANS, marketing=False),
    )
    assert [d.skip for d in decisions] == [None, OPTED_OUT]


def test_throttle_spaces_due_times() -> None:
    members = [Member(f"c{n}", MSK) for n in range(5)]
    decisions = plan(members, Rules(START, SPANS, throttle_per_second=2))
    dues = sorted(d.due_at or 0 for d in decisions)
    assert [round(b - a, 3) for a, b in pairwise(dues)] == [0.5] * 4


def test_the_split_is_stable_per_contact_and_follows_the_shares() -> None:
    variants = [("tpl_a", 0.8), ("tpl_b", 0.2)]
    picks = [pick_variant("cmp_1", f"con_{n}", variants) for n in range(10_000)]
    assert picks == [pick_variant("cmp_1", f"con_{n}", variants) for n in range(10_000)]
    assert 0.18 < picks.count("tpl_b") / len(picks) < 0.22
    assert pick_variant("cmp_1", "con_1", [("only", 1.0)]) == "only"
