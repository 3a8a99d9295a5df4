"""The cascade rules, as pure functions: no database, no event loop."""

from __future__ import annotations

from dataclasses import replace

from hub.delivery.cascade import (
    Audience,
    IdentityView,
    LegState,
    Policy,
    advance,
    apply_receipt,
    record_send,
    record_withdrawal,
    summarize,
)
from hub.errors import ChannelRejected, ChannelUnavailable, OutcomeUnknown, RecipientUnreachable

NOW = 1_800_000_000.0
POLICY = Policy()
ACTIVE = IdentityView("1001", NOW - 3600)


def route(*legs: tuple[str, int | None]) -> tuple[LegState, ...]:
    until = {"vk": "delivered", "ok": "delivered", "telegram": "sent", "sms": "delivered"}
    return tuple(
        LegState(idx=i, channel=c, ttl=t, until=until[c], price_minor=350 if c == "sms" else 90)
        for i, (c, t) in enumerate(legs)
    )


def audience(**kw: object) -> Audience:
    base: dict[str, object] = {"phone": "+79990000001", "identities": {"vk": ACTIVE}}
    base.update(kw)
    return Audience(**base)  # type: ignore[arg-type]


def test_first_reachable_leg_is_sent_with_its_ttl() -> None:
    step = advance(route(("vk", 60), ("sms", None)), audience(), NOW, POLICY)
    assert step.send == (0,)
    assert step.legs[0].status == "sending" and step.legs[0].recipient == "1001"
    assert step.legs[0].expires_at == NOW + 60


def test_unreachable_legs_are_skipped_at_once_with_the_reason() -> None:
    cases = {
        "no_identity": audience(identities={}),
        "inactive": audience(identities={"vk": IdentityView("1", NOW - 8 * 86400)}),
        "messages_not_allowed": audience(identities={"vk": IdentityView("1", NOW, allowed=False)}),
        "ownership_not_verified": audience(important=True, ownership="suspicious"),
    }
    for reason, who in cases.items():
        step = advance(route(("vk", 60), ("sms", None)), who, NOW, POLICY)
        assert (step.legs[0].status, step.legs[0].error) == ("skipped", reason)
        assert step.send == (1,) and step.legs[1].recipient == "+79990000001"


def test_marketing_needs_consent() -> None:
    refused = advance(route(("vk", 60), ("sms", None)), audience(category="marketing"), NOW, POLICY)
    assert [leg.error for leg in refused.legs] == ["no_marketing_consent"] * 2 and refused.final
    agreed = advance(
        route(("vk", 60), ("sms", None)), audience(category="marketing", marketing_consent=True), NOW, POLICY
    )
    assert agreed.send == (0,)


def test_ownership_only_matters_for_important_templates() -> None:
    step = advance(route(("vk", 60), ("sms", None)), audience(ownership="changed"), NOW, POLICY)
    assert step.send == (0,)


def test_opt_out_blocks_everything_but_otp() -> None:
    step = advance(route(("vk", 60), ("sms", None)), audience(opted_out=True), NOW, POLICY)
    assert [leg.status for leg in step.legs] == ["skipped", "skipped"] and step.final
    assert summarize(step.legs)[0] == "skipped"
    otp = advance(route(("vk", 60), ("sms", None)), audience(opted_out=True, category="otp"), NOW, POLICY)
    assert otp.send == (0,)


def _sent(legs: tuple[LegState, ...], idx: int, at: float) -> tuple[LegState, ...]:
    step = advance(legs, audience(), at, POLICY)
    assert step.send == (idx,)
    leg, _ = record_send(step.legs[idx], ("ext-1", "sent", 1), at, POLICY)
    return tuple(leg if i == idx else x for i, x in enumerate(step.legs))


def test_leg_waits_for_delivery_then_expires_and_the_next_leg_starts() -> None:
    legs = _sent(route(("vk", 60), ("sms", None)), 0, NOW)
    waiting = advance(legs, audience(), NOW + 30, POLICY)
    assert waiting.due_at == NOW + 60 and not waiting.send
    expired = advance(legs, audience(), NOW + 60, POLICY)
    assert expired.legs[0].status == "expired" and expired.withdraw == (0,) and expired.send == ()
    withdrawn, _ = record_withdrawal(expired.legs[0], "withdrawn", NOW + 60, POLICY)
    assert advance((withdrawn, expired.legs[1]), audience(), NOW + 60, POLICY).send == (1,)


def test_delivery_within_ttl_ends_the_cascade_and_later_legs_are_not_needed() -> None:
    legs = _sent(route(("vk", 60), ("sms", None)), 0, NOW)
    delivered = apply_receipt(legs[0], "delivered", NOW + 5)
    assert delivered is not None
    step = advance((delivered, legs[1]), audience(), NOW + 6, POLICY)
    assert step.final and step.legs[1].error == "not_needed"
    assert summarize(step.legs) == ("delivered", 90)


def test_telegram_stops_at_sent_and_costs_nothing() -> None:
    legs = route(("telegram", 60), ("sms", None))
    step = advance(legs, audience(identities={"telegram": ACTIVE}), NOW, POLICY)
    leg, _ = record_send(step.legs[0], ("m1", "sent", 1), NOW, POLICY)
    final = advance((leg, step.legs[1]), audience(identities={"telegram": ACTIVE}), NOW, POLICY)
    assert final.final and summarize(final.legs) == ("sent", 0)


def test_unanswered_send_without_dedupe_is_never_resent_and_expires_into_the_next_leg() -> None:
    legs = route(("ok", 60), ("sms", None))
    ok = {"ok": ACTIVE}
    step = advance(legs, audience(identities=ok), NOW, POLICY)
    lost = OutcomeUnknown("no answer", channel="ok")
    leg, event = record_send(step.legs[0], lost, NOW, POLICY)
    assert leg.status == "sent" and event[0] == "leg_sent" and leg.external_id is None
    waiting = advance((leg, step.legs[1]), audience(identities=ok), NOW + 30, POLICY)
    assert not waiting.send and waiting.due_at == NOW + 60
    later = advance((leg, step.legs[1]), audience(identities=ok), NOW + 60, POLICY)
    assert later.legs[0].status == "expired" and later.send == (1,)


def test_until_read_waits_past_delivery() -> None:
    legs = _sent(route(("vk", 60), ("sms", None)), 0, NOW)
    legs = (replace(legs[0], until="read"), legs[1])
    delivered = apply_receipt(legs[0], "delivered", NOW + 1)
    assert delivered is not None
    assert not advance((delivered, legs[1]), audience(), NOW + 2, POLICY).final
    read = apply_receipt(delivered, "read", NOW + 3)
    assert read is not None and advance((read, legs[1]), audience(), NOW + 4, POLICY).final


def test_late_receipt_for_an_expired_leg_changes_nothing() -> None:
    legs = _sent(route(("vk", 60), ("sms", None)), 0, NOW)
    expired = advance(legs, audience(), NOW + 61, POLICY).legs[0]
    assert apply_receipt(expired, "delivered", NOW + 62) is None


def test_channel_errors_map_to_retry_next_leg_or_failure() -> None:
    leg = advance(route(("vk", 60), ("sms", None)), audience(), NOW, POLICY).legs[0]
    retried, event = record_send(leg, ChannelUnavailable("flood", channel="vk", code=9), NOW, POLICY)
    assert retried.status == "queued" and retried.next_try_at == NOW + 1 and event[0] == "leg_retry"
    later, _ = record_send(leg, ChannelUnavailable("429", channel="vk", retry_after=7), NOW, POLICY)
    assert later.next_try_at == NOW + 7
    assert advance((later, route(("sms", None))[0]), audience(), NOW + 1, POLICY).due_at == NOW + 7
    skipped, _ = record_send(leg, RecipientUnreachable("privacy", channel="vk", code=901), NOW, POLICY)
    assert skipped.status == "skipped" and "901" in (skipped.error or "")
    failed, _ = record_send(leg, ChannelRejected("bad", channel="vk", code=100), NOW, POLICY)
    assert failed.status == "failed"


def test_retries_stop_at_the_leg_ttl() -> None:
    legs = advance(route(("vk", 60), ("sms", None)), audience(), NOW, POLICY).legs
    retried, _ = record_send(legs[0], ChannelUnavailable("down", channel="vk"), NOW, POLICY)
    step = advance((retried, legs[1]), audience(), NOW + 61, POLICY)
    assert step.legs[0].status == "expired" and step.send == (1,)


def test_leg_found_sending_after_a_crash_is_sent_again() -> None:
    legs = advance(route(("vk", 60), ("sms", None)), audience(), NOW, POLICY).legs
    assert advance(legs, audience(), NOW + 40, POLICY).send == (0,)


def test_last_leg_without_ttl_keeps_its_honest_status() -> None:
    legs = _sent(route(("sms", None)), 0, NOW)
    assert advance(legs, audience(), NOW + 3600, POLICY).due_at == NOW + POLICY.last_leg_watch_seconds
    step = advance(legs, audience(), NOW + POLICY.last_leg_watch_seconds, POLICY)
    assert step.final and summarize(step.legs)[0] == "sent"


def test_best_leg_wins_and_only_delivered_legs_cost() -> None:
    legs = route(("vk", 60), ("sms", None))
    legs = (replace(legs[0], status="expired"), replace(legs[1], status="delivered", units=2))
    assert summarize(legs) == ("delivered", 700)
