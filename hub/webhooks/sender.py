"""Delivering client webhooks: lease due rows, POST them signed, retry with backoff for 24 hours.

Each attempt (aiohttp) is its own task with a hard timeout and no redirects followed, so an endpoint that
hangs, fails, answers slowly or redirects only delays its own deliveries; rows are leased, so
several sender processes share the work. Order per thread: a delivery is not leased while an
earlier one of the same endpoint and thread is still pending (see `WebhookRepo.claim_due`).

A lease is measured on the hub's clock, which can jump past it while an attempt is under way or its
outcome waits to be recorded. So the running sender holds each delivery it attempts until its outcome
is recorded and never claims a held one again; it does not start an attempt whose lease has already
run out (a claim may take it: ours is poked); and an outcome is recorded only while the row still
carries the lease the attempt was made under, so a late one cannot undo another sender's takeover.
A delivery still failing 24 hours after it was queued is `dead`, and can be replayed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bots.backoff import BackoffConfig
from hub.clock import Clock, wait_any
from hub.webhooks import events as webhooks
from hub.webhooks.url_policy import UrlGuard, UrlNotAllowed
from storage.models import WebhookDelivery
from storage.uow import UnitOfWork

log = logging.getLogger("notifyhub.webhooks")
#: Attempts in flight per endpoint (a slow endpoint waits; others go on).
PER_ENDPOINT = 128
#: Outcomes are recorded together after this pause: one transaction for many deliveries.
RECORD_PAUSE = 0.02
#: Threads remembered as waiting behind a delivery in flight (a bound, not a working size).
MAX_BEHIND = 10_000


#: 5 s, 10 s, 20 s ... up to an hour between attempts, each up to 20% later at random.
WEBHOOK_BACKOFF = BackoffConfig(min_delay=5.0, max_delay=3600.0, factor=2.0, jitter=0.2)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, within a give-up window."""

    backoff: BackoffConfig = WEBHOOK_BACKOFF
    give_up_after: float = 86400.0
    timeout: float = 5.0

    def delay(self, attempts: int) -> float:
        """Seconds before the next try after `attempts` failed ones."""
        return self.backoff.jittered(attempts)


class WebhookSender:
    """Sends due deliveries; `run_once` for tests, `run` as a background loop."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        policy: RetryPolicy | None = None,
        http: aiohttp.ClientSession | None = None,
        batch: int = 200,
        guard: UrlGuard | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self.policy = policy or RetryPolicy()
        self._http = http
        self._batch = batch
        #: Refuses non-public receivers before each attempt and in the connector's DNS answers.
        self._guard = guard
        self._doorbell = asyncio.Event()
        self._outcomes: list[dict[str, Any]] = []
        self._recorder: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._busy: Counter[str] = Counter()
        self._running = False
        #: (endpoint, thread) pairs with a delivery left to the claim loop behind one in flight.
        self._behind: set[tuple[str, str]] = set()
        self._claim_next = False
        #: Deliveries attempted by `run`, by id, until their outcome is recorded: claims leave them out.
        self._held: dict[str, WebhookDelivery] = {}

    def poke(self) -> None:
        """Something was queued: look now instead of after the idle pause."""
        self._doorbell.set()

    def wait_behind(self, keys: set[tuple[str, str]]) -> None:
        """Deliveries of these (endpoint, thread) pairs wait for the claim loop: claim them when the
        one before them is done (and look once now)."""
        if self._running:  # otherwise a sender in another process finds them by its own claims
            if len(self._behind) > MAX_BEHIND:  # hints lost to races with other senders: claims find them
                self._behind.clear()
            self._behind |= keys
            self.poke()

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            timeout = aiohttp.ClientTimeout(total=self.policy.timeout)
            resolver = self._guard.resolver() if self._guard is not None else None
            # `run` bounds attempts in flight
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, resolver=resolver)
            self._http = aiohttp.ClientSession(timeout=timeout, connector=connector)
        return self._http

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _claim(
        self, limit: int, skip: set[str] | None = None
    ) -> tuple[list[WebhookDelivery], dict[str, Any]]:
        now = self._clock.now()
        async with self._uow() as uow:
            held = set(self._held)  # still ours, whatever their lease says
            due = await uow.webhooks.claim_due(limit, now, self.lease_until(now), skip or set(), held)
            endpoints = await uow.webhooks.endpoints_by_id({d.endpoint_id for d in due}) if due else {}
            await uow.commit()
        return due, endpoints

    async def run_once(self) -> int:
        """Attempt every delivery due now (concurrently); returns how many were attempted."""
        due, endpoints = await self._claim(self._batch)
        if due:
            results = await asyncio.gather(*(self._attempt(d, endpoints.get(d.endpoint_id)) for d in due))
            await self._record(list(results))
        return len(due)

    async def run(self, stop: asyncio.Event, idle: float = 0.2, concurrency: int = 256) -> None:
        """Deliver until `stop`, each attempt in its own task so a slow endpoint blocks nobody else.

        At most `PER_ENDPOINT` attempts per endpoint are in flight; an endpoint at its cap is left
        out of the next claims, so a hung endpoint cannot take the slots other clients need.
        """
        inflight, busy = self._inflight, self._busy
        self._running = True
        try:
            while not stop.is_set():
                try:
                    room = min(concurrency - len(inflight), self._batch)
                    full = {e for e, n in busy.items() if n >= PER_ENDPOINT}
                    due, endpoints = await self._claim(room, full) if room > 0 else ([], {})
                    self.hand(due, endpoints, fresh=False)
                except Exception:
                    log.exception("claiming webhook deliveries failed; retrying")
                    due = []
                if not due:
                    await self._pause(stop, idle)
        finally:
            self._running = False
        if inflight:  # attempts under way end within their own timeout: let them, so none is sent twice
            await asyncio.wait(list(inflight), timeout=self.policy.timeout)
        for task in list(inflight):
            task.cancel()
        await asyncio.gather(*inflight, return_exceptions=True)
        if self._recorder is not None:
            await asyncio.gather(self._recorder, return_exceptions=True)

    def accepts(self, endpoint_id: str) -> bool:
        """True while `run` runs and the endpoint is below its cap of attempts in flight."""
        return self._running and self._busy[endpoint_id] < PER_ENDPOINT

    def lease_until(self, now: float) -> float:
        """A claim lasts the attempt's timeout and a margin; then another sender may take the row."""
        return now + self.policy.timeout + 30

    def hand(self, deliveries: list[WebhookDelivery], endpoints: dict[str, Any], fresh: bool = True) -> None:
        """Attempt claimed deliveries, each in its own task: from a fresh commit, or from the claim loop
        (then the next claim follows each outcome: a delivery of the same thread may wait behind it).

        A delivery already held is not attempted twice (the claim loop may take a committed delivery
        before the commit hands it over), nor one whose lease ran out before its attempt began.
        """
        now = self._clock.now()
        for d in deliveries:
            if d.claimed_until is None or d.claimed_until <= now:  # any claim may take it now
                self.poke()
                continue
            held = self._held.get(d.id)
            if held is not None:  # under way already; its outcome is recorded under the later lease
                held.claimed_until = max(held.claimed_until or 0.0, d.claimed_until)
                continue
            self._held[d.id] = d
            self._behind.discard((d.endpoint_id, d.order_key))  # claimed: no longer waiting
            self._busy[d.endpoint_id] += 1
            task = asyncio.create_task(self._one(d, endpoints.get(d.endpoint_id), self._busy, not fresh))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    async def _pause(self, stop: asyncio.Event, idle: float) -> None:
        """Wait `idle` seconds, or less when poked or stopped."""
        if not await wait_any(idle, stop, self._doorbell):
            self._behind.clear()  # an idle claim finds whatever is due anyway: forget stale hints
        self._doorbell.clear()

    async def _one(self, delivery: WebhookDelivery, endpoint: Any, busy: Counter[str], wake: bool) -> None:
        """Attempt one delivery; its outcome is recorded with others that finish meanwhile."""
        try:
            outcome = await self._attempt(delivery, endpoint)  # not `append(await ...)`: the list is swapped
            self._outcomes.append(outcome)
        except BaseException:
            self._held.pop(delivery.id, None)  # nothing to record: its lease runs out, then a claim takes it
            raise
        finally:
            busy[delivery.endpoint_id] -= 1
        key = (delivery.endpoint_id, delivery.order_key)
        if wake or key in self._behind:
            self._behind.discard(key)
            self._claim_next = True
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_outcomes())

    async def _record_outcomes(self) -> None:
        await asyncio.sleep(RECORD_PAUSE)  # gather the outcomes of attempts finishing meanwhile
        while self._outcomes:
            batch, self._outcomes = self._outcomes, []
            for row in batch:  # a later claim of ours (see `hand`) holds the row under its own lease
                held = self._held.get(row["b_id"])
                row["b_claim"] = row["b_claim"] if held is None else held.claimed_until
            try:
                await self._record(batch)
            except Exception:
                log.exception("recording %d webhook outcomes failed; their leases will run out", len(batch))
            for row in batch:  # recorded (or left to their leases): claims may take them again
                self._held.pop(row["b_id"], None)
            if self._claim_next:  # the next delivery of the same thread may be due now
                self._claim_next = False
                self.poke()

    async def _attempt(self, d: WebhookDelivery, endpoint: Any) -> dict[str, Any]:
        """POST one delivery; the row update that records the outcome."""
        claim = {"b_id": d.id, "b_claim": d.claimed_until}  # recorded only while this lease holds the row
        if endpoint is None or endpoint.deleted_at is not None:
            return {**claim, "status": "dead", "last_error": "endpoint deleted", "claimed_until": None}
        payload = webhooks.encode(d.payload)
        ts = int(self._clock.now())
        status: int | None = None
        try:
            if self._guard is not None:  # DNS may have changed since registration
                await self._guard.check(endpoint.url)
            async with self._client().post(
                endpoint.url,
                data=payload,
                headers=webhooks.headers(webhooks.signing_secrets(endpoint, ts), d.id, ts, payload),
                allow_redirects=False,
            ) as answer:
                status = answer.status
                await answer.read()
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except (aiohttp.ClientError, TimeoutError) as e:
            error = "timeout" if isinstance(e, TimeoutError) else type(e).__name__
        except UrlNotAllowed as e:
            error = f"url not allowed: {e.message}"
        now = self._clock.now()
        attempts = d.attempts + 1
        row: dict[str, Any] = {
            **claim,
            "attempts": attempts,
            "last_status": status,
            "claimed_until": None,
        }
        if error is None:
            return {**row, "status": "delivered", "delivered_at": now, "last_error": None}
        next_at = now + self.policy.delay(attempts)
        if next_at - d.created_at > self.policy.give_up_after:
            log.warning(
                "webhook %s to endpoint %s dead after %d attempts: %s", d.id, d.endpoint_id, attempts, error
            )
            return {**row, "status": "dead", "last_error": error}
        log.info(
            "webhook %s to endpoint %s failed (%s); retry in %.0fs", d.id, d.endpoint_id, error, next_at - now
        )
        return {**row, "status": "pending", "next_attempt_at": next_at, "last_error": error}

    async def _record(self, results: list[dict[str, Any]]) -> None:
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for row in results:  # one executemany per shape of row
            groups.setdefault(tuple(sorted(row)), []).append(row)
        async with self._uow() as uow:
            for rows in groups.values():
                await uow.webhooks.record(rows)
            await uow.commit()
