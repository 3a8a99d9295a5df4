"""The API rate limiter's decisions, without an event loop: token buckets driven by a fake clock."""

from __future__ import annotations

import pytest

from hub.security.ratelimit import ClientLimiter, Limit, TokenBucket, Verdict, client_limit
from tests.fakes.clock import FakeClock


def test_burst_then_refused_with_the_wait_then_recovered() -> None:
    clock = FakeClock(1000.0)
    bucket = TokenBucket(Limit(per_second=2, burst=3), clock.now())
    assert [bucket.take(clock.now()).allowed for _ in range(3)] == [True, True, True]
    refused = bucket.take(clock.now())
    assert refused == Verdict(False, 0.5) and refused.retry_after_header == "1"
    clock.advance(refused.retry_after)
    assert bucket.take(clock.now()).allowed
    assert not bucket.take(clock.now()).allowed


def test_refill_is_continuous_and_capped_at_the_burst() -> None:
    clock = FakeClock(0.0)
    bucket = TokenBucket(Limit(per_second=10, burst=5), clock.now())
    for _ in range(5):
        bucket.take(clock.now())
    clock.advance(0.25)  # 2.5 tokens back
    assert [bucket.take(clock.now()).allowed for _ in range(3)] == [True, True, False]
    clock.advance(3600)  # an idle hour earns no more than the burst
    assert sum(bucket.take(clock.now()).allowed for _ in range(10)) == 5


def test_a_clock_stepping_back_takes_nothing_away_and_gives_nothing() -> None:
    bucket = TokenBucket(Limit(per_second=1, burst=1), now=100.0)
    assert bucket.take(100.0).allowed
    assert not bucket.take(50.0).allowed
    assert not bucket.take(100.5).allowed
    assert bucket.take(101.0).allowed


def test_retry_after_header_is_whole_seconds_rounded_up() -> None:
    assert Verdict(False, 0.01).retry_after_header == "1"
    assert Verdict(False, 2.0).retry_after_header == "2"
    assert Verdict(False, 2.2).retry_after_header == "3"


def test_clients_have_their_own_buckets() -> None:
    clock = FakeClock(0.0)
    limiter, limit = ClientLimiter(), Limit(1, 2)
    assert [limiter.take("a", limit, clock.now()).allowed for _ in range(3)] == [True, True, False]
    assert limiter.take("b", limit, clock.now()).allowed


def test_a_changed_limit_applies_at_once_keeping_earned_tokens() -> None:
    limiter = ClientLimiter()
    assert limiter.take("a", Limit(1, 10), 0.0).allowed  # 9 left
    assert [limiter.take("a", Limit(1, 2), 0.0).allowed for _ in range(3)] == [True, True, False]
    faster = Limit(100, 200)
    assert limiter.take("a", faster, 0.5).retry_after == pytest.approx(0.005)  # old rate until the change
    assert limiter.take("a", faster, 0.51).allowed  # the new rate from then on


def test_client_limit_overrides_and_validation() -> None:
    default = Limit(50, 100)
    assert client_limit(None, None, default) == default
    assert client_limit(2.5, None, default) == Limit(2.5, 100)
    assert client_limit(2.5, 5, default) == Limit(2.5, 5)
    with pytest.raises(ValueError):
        Limit(0, 1)
    with pytest.raises(ValueError):
        Limit(1, 0)
