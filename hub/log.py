"""Named loggers per subsystem; handlers are installed only by `setup_logging` at an entry point."""

from __future__ import annotations

import logging
import sys

api = logging.getLogger("notifyhub.api")
dispatch = logging.getLogger("notifyhub.dispatch")
ingest = logging.getLogger("notifyhub.ingest")


QUIET = (
    "aiohttp.access",
    "alembic",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "vkbottle",
    "aiogram",
    "httpx",
    "httpcore",
)


def setup_logging(level: str = "INFO") -> None:
    """Send notifyhub's logs to stderr at `level`; quieten chatty libraries."""
    root = logging.getLogger("notifyhub")
    if not any(getattr(h, "_notifyhub", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._notifyhub = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
    # libraries that log SQL parameters or message bodies (phones, texts) at DEBUG/INFO stay at WARNING
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(logging.WARNING)
