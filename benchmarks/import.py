"""Contact import speed and memory: a generated CSV through `notifyhub import`, on SQLite and PostgreSQL.

    python benchmarks/import.py [--rows 1000000] [--db sqlite,postgresql] [--again]

Writes a CSV of `--rows` customers (name, city, average check, last order date, consent, a group
for every tenth), then runs `notifyhub clients create` and `notifyhub import` as child processes
on a fresh database each, and prints a Markdown table: seconds, rows/s and the importing
process's peak resident memory. `--again` imports the same file a second time (all unchanged).
PostgreSQL: a throwaway database on NOTIFYHUB_BENCH_PG_URL (default postgresql://127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("NOTIFYHUB_BENCH_PG_URL", "postgresql://127.0.0.1:5432/postgres")
_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()
CITIES = ("Москва", "Казань", "Новосибирск", "Екатеринбург", "Омск", "Самара", "Пермь")


def write_csv(path: Path, rows: int) -> None:
    """Customers with distinct mobile numbers and a few attributes of each type."""
    rnd = random.Random(7)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("phone;name;city;average_check;last_order_at;vip;marketing_consent;groups\n")
        for i in range(rows):
            day = f"2026-{rnd.randint(1, 11):02d}-{rnd.randint(1, 28):02d}"
            group = "VIP" if i % 10 == 0 else ""
            out.write(
                f"+79{i:09d};Покупатель {i};{rnd.choice(CITIES)};{rnd.randint(100, 9000)};{day};"
                f"{'true' if i % 3 == 0 else 'false'};{i % 2};{group}\n"
            )


def cli(config: Path, *args: str) -> tuple[float, float, str]:
    """Run `notifyhub ARGS` in a child; (seconds, its peak RSS in MiB, stdout).

    The peak comes from `/usr/bin/time -v` where it exists, else from getrusage (the largest child so far).
    """
    command = [str(Path(sys.executable).parent / "notifyhub"), *args, "--config", str(config)]
    env = dict(os.environ)
    env.setdefault("NOTIFYHUB_SECRET_KEY", _KEY)  # PostgreSQL refuses to start without one
    timed = Path("/usr/bin/time").exists()
    started = time.perf_counter()
    done = subprocess.run(
        (["/usr/bin/time", "-v"] if timed else []) + command,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    for line in done.stderr.splitlines():
        if "Maximum resident set size" in line:
            peak = int(line.rsplit(":", 1)[1]) / 1024
    return seconds, peak, done.stdout.strip()


async def _pg(sql: str) -> None:
    import asyncpg

    for _ in range(30):  # a shared server may be restarting
        try:
            conn = await asyncpg.connect(PG_ADMIN, timeout=5)
            break
        except (OSError, asyncpg.CannotConnectNowError):
            await asyncio.sleep(2)
    else:
        raise SystemExit(f"PostgreSQL is not reachable at {PG_ADMIN}")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def database(kind: str, folder: Path) -> tuple[str, str | None]:
    """A fresh database URL (and the PostgreSQL database name to drop afterwards)."""
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{folder / 'bench.db'}", None
    name = f"notifyhub_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN.rpartition("/")[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}", name


def bench(kind: str, csv: Path, rows: int, again: bool, folder: Path) -> list[str]:
    """Table lines for one database."""
    url, pg_name = database(kind, folder)
    config = folder / f"{kind}.yaml"
    config.write_text(f"database: {{url: '{url}'}}\nlogging: {{level: WARNING}}\n")
    lines = []
    try:
        cli(config, "db", "upgrade")
        cli(config, "clients", "create", "Bench")
        for run in ("first import", "same file again")[: 2 if again else 1]:
            seconds, peak, summary = cli(config, "import", str(csv), "--client", "Bench", "--no-progress")
            lines.append(
                f"| {kind} | {run} | {rows:,} | {seconds:,.1f} | {rows / seconds:,.0f} | {peak:,.0f} |"
            )
            print(f"  {kind} {run}: {summary}\n  {lines[-1]}", file=sys.stderr, flush=True)
    finally:
        if pg_name:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--again", action="store_true", help="import the same file a second time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv = folder / "contacts.csv"
        write_csv(csv, args.rows)
        size = csv.stat().st_size / 1024 / 1024
        print(f"{args.rows:,} rows, {size:,.0f} MiB CSV", file=sys.stderr)
        table = [
            "| database | run | rows | seconds | rows/s | peak RSS, MiB |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for kind in args.db.split(","):
            table += bench(kind.strip(), csv, args.rows, args.again, folder)
    print("\n".join(table))


if __name__ == "__main__":
    main()
