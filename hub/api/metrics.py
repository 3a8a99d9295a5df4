"""Prometheus metrics at /metrics: request counters kept by the API, state read from the database.

Each app gets its own `CollectorRegistry` (nothing registered at import), so several apps in one
process (tests) never collide.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from hub.bootstrap import Hub
from hub.conversations.ingest import EventIngest
from hub.conversations.ingress import INGRESS_STATS, IngressStats


class IngressRefusals(Collector):
    """Counters read at scrape time: callbacks refused, and receipts dropped over the parking cap."""

    def __init__(self) -> None:
        self.stats: IngressStats | None = None
        self.ingest: EventIngest | None = None

    def collect(self) -> Iterator[CounterMetricFamily]:
        """The refusals by channel and reason, and the receipts dropped over the cap by channel."""
        refused = CounterMetricFamily(
            "notifyhub_ingress_refused",
            "Channel callbacks refused (forged, from a wrong address, malformed), by channel and reason",
            labels=["channel", "reason"],
        )
        for (channel, reason), count in sorted((self.stats.refused if self.stats else {}).items()):
            refused.add_metric([channel, reason], count)
        yield refused
        over = CounterMetricFamily(
            "notifyhub_receipts_over_cap",
            "Receipts for unknown messages dropped because their connection had its cap parked",
            labels=["channel"],
        )
        for channel, count in sorted((self.ingest.over_cap if self.ingest else {}).items()):
            over.add_metric([channel], count)
        yield over


class Metrics:
    """The hub's metric families for one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "notifyhub_http_requests", "HTTP requests by route and status", ["route", "status"], registry=r
        )
        self.latency = Histogram(
            "notifyhub_http_request_seconds", "HTTP request latency", ["route"], registry=r
        )
        #: Requests being handled, and an event set whenever there are none (graceful shutdown waits on it).
        self.active = 0
        self.idle = asyncio.Event()
        self.idle.set()
        in_flight = Gauge("notifyhub_http_requests_in_flight", "HTTP requests being handled", registry=r)
        in_flight.set_function(lambda: self.active)
        add_process_gauges(r)
        self.notifications = Gauge(
            "notifyhub_notifications", "Notifications by status", ["status"], registry=r
        )
        self.outbox = Gauge("notifyhub_outbox_pending", "Notifications not final yet", registry=r)
        self.parked = Gauge(
            "notifyhub_receipts_parked", "Receipts waiting for their send to be recorded", registry=r
        )
        self.connections = Gauge(
            "notifyhub_connections",
            "Channel connections by channel and status",
            ["channel", "status"],
            registry=r,
        )
        self.ingress_events = Gauge(
            "notifyhub_ingress_events", "Channel events accepted at ingress", ["channel"], registry=r
        )
        self.ingress_drops = Gauge(
            "notifyhub_ingress_drops", "Ingress requests or items dropped", ["channel", "reason"], registry=r
        )
        self.refusals = IngressRefusals()
        r.register(self.refusals)

    async def refresh(self, app: web.Application, hub: Hub) -> None:
        """Read the state gauges from the database and the ingress counters."""
        async with hub.uow() as uow:
            by_status = await uow.notifications.count_by_status()
            pending = await uow.outbox.pending_count()
            parked = await uow.notifications.parked_count()
            connections = await uow.connections.live()
        self.notifications.clear()
        for status, count in by_status.items():
            self.notifications.labels(status).set(count)
        self.outbox.set(pending)
        self.parked.set(parked)
        self.connections.clear()
        for conn in connections:
            self.connections.labels(conn.channel, conn.status).inc()
        stats = app.get(INGRESS_STATS)
        self.refusals.stats, self.refusals.ingest = stats, hub.ingest
        if stats is not None:
            for channel, count in stats.events.items():
                self.ingress_events.labels(channel).set(count)
            for (channel, reason), count in stats.drops.items():
                self.ingress_drops.labels(channel, reason).set(count)


METRICS = web.AppKey("metrics", Metrics)


def add_process_gauges(registry: CollectorRegistry) -> None:
    """Gauges of this process's health that a leak would move: its live asyncio tasks."""
    tasks = Gauge("notifyhub_asyncio_tasks", "asyncio tasks alive in this process", registry=registry)
    tasks.set_function(lambda: len(asyncio.all_tasks()))


async def serve_process_metrics(port: int) -> web.AppRunner:
    """`/metrics` (process gauges only) on 127.0.0.1:`port`, for a process without the API (a worker)."""
    registry = CollectorRegistry()
    add_process_gauges(registry)

    async def view(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", view)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@web.middleware
async def metrics_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Count requests by route template (never by raw path: ids would explode the label set)."""
    started = time.perf_counter()
    metrics = request.app[METRICS]
    metrics.active += 1
    metrics.idle.clear()
    try:
        response = await handler(request)
    finally:
        metrics.active -= 1
        if not metrics.active:
            metrics.idle.set()
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    metrics.requests.labels(route, str(response.status)).inc()
    metrics.latency.labels(route).observe(time.perf_counter() - started)
    return response


async def metrics_view(request: web.Request) -> web.Response:
    """The Prometheus text exposition."""
    from hub.api.requests import HUB

    metrics = request.app[METRICS]
    await metrics.refresh(request.app, request.app[HUB])
    return web.Response(body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
