"""RateLimiter and its per-token registry, driven by a fake clock (no sleeps measured)."""

from __future__ import annotations

import asyncio

import pytest

from bots.ratelimit import RateLimiter, RateLimiterRegistry


def test_registry_shares_limiter_per_token() -> None:
    registry = RateLimiterRegistry()
    assert registry.get("a", 20) is registry.get("a", 20)
    assert registry.get("a", 20) is not registry.get("b", 20)


async def test_never_more_than_rate_in_a_window(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]

    async def fake_sleep(delay: float) -> None:
        now[0] += delay

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    limiter = RateLimiter(5, margin=0.0, clock=lambda: now[0])
    stamps = []
    for _ in range(23):
        await limiter.acquire()
        stamps.append(now[0])
    for i, t in enumerate(stamps):
        assert sum(1 for s in stamps[i:] if s - t < 1.0) <= 5
    assert stamps[5] == pytest.approx(1.0)
