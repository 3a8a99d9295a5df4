"""What the soak watches in each hub process, and its verdict: leaks show as growth over time.

Per process: resident memory (VmRSS) and open file descriptors from /proc, live asyncio tasks
from its /metrics (`notifyhub_asyncio_tasks`); for the run: the database's connections
(pg_stat_activity) and the work done so far.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from benchmarks.live import PG_ADMIN
from benchmarks.outbound import count


def rss_mb(pid: int) -> float:
    """Resident set size in MB (VmRSS from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def open_fds(pid: int) -> int:
    """Open file descriptors (sockets, database connections, files)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


async def asyncio_tasks(url: str) -> int:
    """`notifyhub_asyncio_tasks` from a process's /metrics; -1 if it does not answer."""
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            text = await resp.text()
    except aiohttp.ClientError:
        return -1
    for line in text.splitlines():
        if line.startswith("notifyhub_asyncio_tasks "):
            return int(float(line.split()[1]))
    return -1


@dataclass(frozen=True)
class Sample:
    """One look at every process and at the work done."""

    at: float
    procs: dict[str, tuple[float, int, int]]  # name -> (RSS MB, fds, tasks)
    pg: int | None
    work: tuple[int, int, int, int]  # accepted, final, replies posted, webhooks received


@dataclass
class Probe:
    """Samples the processes named in `pids` (their /metrics at `metrics`) and the database."""

    pids: dict[str, int]
    metrics: dict[str, str]
    db_url: str
    database: str | None
    samples: list[Sample] = field(default_factory=list)
    _began: float = field(default_factory=time.monotonic)

    async def _pg_connections(self) -> int | None:
        if self.database is None:
            return None
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            sql = "SELECT count(*) FROM pg_stat_activity WHERE datname = $1"
            return int(await conn.fetchval(sql, self.database))
        finally:
            await conn.close()

    async def sample(self, load: Any, receiver: Any) -> Sample:
        """Look now, print the row, keep it."""
        procs = {
            name: (rss_mb(pid), open_fds(pid), await asyncio_tasks(self.metrics[name]))
            for name, pid in self.pids.items()
        }
        final = await count(self.db_url, "SELECT count(*) FROM notifications WHERE final")
        work = (load.accepted, final, load.replies, len(receiver.arrived))
        taken = Sample(time.monotonic() - self._began, procs, await self._pg_connections(), work)
        if not self.samples:
            names = " | ".join(f"{n} MB/fds/tasks" for n in self.pids)
            print(f"| min | {names} | PG conns | accepted | final | replies | webhooks |", flush=True)
            print("|" + "---|" * (len(self.pids) + 6), flush=True)
        self.samples.append(taken)
        cells = " | ".join(f"{r:.0f}/{f}/{t}" for r, f, t in procs.values())
        pg = "-" if taken.pg is None else str(taken.pg)
        print(f"| {taken.at / 60:.1f} | {cells} | {pg} | " + " | ".join(map(str, work)) + " |", flush=True)
        return taken

    async def every(self, seconds: float, load: Any, receiver: Any) -> None:
        """Sample every `seconds` until cancelled."""
        while True:
            await asyncio.sleep(seconds)
            await self.sample(load, receiver)


def rss_at(samples: list[Sample], name: str, minute: float) -> float:
    """A process's RSS at the first sample taken at or after `minute` (the last one if none is)."""
    later = [s for s in samples if s.at >= minute * 60]
    return (later[0] if later else samples[-1]).procs[name][0]


def print_verdict(
    probe: Probe,
    load: Any,
    receiver: Any,
    loaded: float,
    drained: float,
    final: int,
    expected: int,
    warmup: float = 5,
) -> None:
    """First/last/max per process and for the database, throughput, and what was accounted for.

    RSS is also given from minute `warmup` on and over the last 5 minutes of load: per-connection
    prepared statement caches and the allocator's free lists fill during the first minutes, so
    start->end growth alone does not tell a bounded warm-up from a leak."""
    first, last = probe.samples[0], probe.samples[-1]
    end = probe.samples[-2].at / 60 if len(probe.samples) > 1 else last.at / 60  # last sample under load
    print(
        f"\n| process | RSS MB first | last | max | at min {warmup:g} | min {warmup:g}->last "
        "| last 5 min of load | fds first | last | tasks first | last |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in probe.pids:
        top = max(s.procs[name][0] for s in probe.samples)
        (r0, f0, t0), (r1, f1, t1) = first.procs[name], last.procs[name]
        settled = rss_at(probe.samples, name, warmup)
        recent = rss_at(probe.samples, name, end) - rss_at(probe.samples, name, max(0.0, end - 5))
        print(
            f"| {name} | {r0:.1f} | {r1:.1f} | {top:.1f} | {settled:.1f} | {r1 - settled:+.1f} "
            f"| {recent:+.1f} | {f0} | {f1} | {t0} | {t1} |"
        )
    if first.pg is not None:
        top_pg = max(s.pg or 0 for s in probe.samples)
        print(f"\nPostgreSQL connections: first {first.pg}, last {last.pg}, max {top_pg}")
    print(
        f"\nload {loaded / 60:.1f} min: {load.accepted / loaded:.1f} notifications/s accepted, "
        f"{load.replies / loaded:.1f} replies/s posted; most seconds' loads under way at once: {load.overlap}"
    )
    replies = load.replies + 50
    got = len(receiver.arrived)
    ok = final >= expected and got >= replies and receiver.bad == 0
    verdict = "all accounted for" if ok else "NOT all accounted for"
    print(
        f"backlog drained in {drained:.0f} s; notifications final {final}/{expected}, reply webhooks "
        f"{got}/{replies}, bad signatures {receiver.bad}: {verdict}"
    )
