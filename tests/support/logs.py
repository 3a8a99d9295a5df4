"""Recording every log line of a run, to check that no personal data reaches the logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from hub.log import QUIET, setup_logging

FULL_PHONE = re.compile(r"\+?7\d{10}")


class LogRecorder(logging.Handler):
    """Keeps every formatted line emitted while installed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # with the traceback of a logged exception


@pytest.fixture
def logged() -> Iterator[LogRecorder]:
    """Logging as `notifyhub --log-level DEBUG` sets it up, recording every line emitted anywhere."""
    names = ["", "notifyhub", *QUIET]
    saved = {
        n: (logging.getLogger(n).level, logging.getLogger(n).propagate, list(logging.getLogger(n).handlers))
        for n in names
    }
    setup_logging("DEBUG")
    keep = LogRecorder()
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    root.addHandler(keep)
    logging.getLogger("notifyhub").addHandler(keep)
    yield keep
    for name, (level, propagate, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = propagate
        logger.handlers[:] = handlers
