"""The fault suite's ledger: each test records what its fault hit, and the run ends with a table.

    fault | db | in flight | accounted for | lost | sent twice | withdrawn before next leg

A test calls `record_fault(...)` once its own assertions passed, so the table shows what the
suite proved, never what a failing test hoped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

COLUMNS = ("fault", "db", "in flight", "accounted for", "lost", "sent twice", "withdrawn before next leg")


@dataclass(frozen=True)
class FaultRow:
    """One fault survived: what was under way when it struck and how it was accounted for."""

    fault: str
    db: str
    in_flight: str
    accounted: str
    lost: int
    sent_twice: int
    #: (expired messages withdrawn before their next leg was sent, expired messages); None: none expired.
    withdrawn_first: tuple[int, int] | None = None

    def cells(self) -> tuple[str, ...]:
        """The row as table cells, in `COLUMNS` order."""
        withdrawn = "-" if self.withdrawn_first is None else _share(*self.withdrawn_first)
        return (
            self.fault,
            self.db,
            self.in_flight,
            self.accounted,
            str(self.lost),
            str(self.sent_twice),
            withdrawn,
        )


def _share(done: int, total: int) -> str:
    return f"all ({total})" if done == total else f"{done} of {total}"


_ROWS: list[FaultRow] = []
RecordFault = Callable[..., None]


@pytest.fixture
def record_fault(request: pytest.FixtureRequest) -> RecordFault:
    """`record_fault(fault, in_flight, accounted, lost=0, sent_twice=0, withdrawn_first=None)`: one row."""
    params = getattr(request.node, "callspec", None)
    db = str(params.params.get("db_url", "-")) if params is not None else "-"

    def record(
        fault: str,
        in_flight: str,
        accounted: str,
        lost: int = 0,
        sent_twice: int = 0,
        withdrawn_first: tuple[int, int] | None = None,
    ) -> None:
        _ROWS.append(FaultRow(fault, db, in_flight, accounted, lost, sent_twice, withdrawn_first))

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the table of faults survived (only when fault tests ran)."""
    if not _ROWS:
        return
    rows = [COLUMNS, *(r.cells() for r in _ROWS)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    terminalreporter.section("faults survived")
    for n, row in enumerate(rows):
        terminalreporter.write_line(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            terminalreporter.write_line("-+-".join("-" * w for w in widths))
    lost = sum(r.lost for r in _ROWS)
    twice = sum(r.sent_twice for r in _ROWS)
    terminalreporter.write_line(f"faults: {len(_ROWS)}   lost: {lost}   sent twice: {twice}")
    expired = [r.withdrawn_first for r in _ROWS if r.withdrawn_first is not None]
    if expired:
        done, total = sum(d for d, _ in expired), sum(t for _, t in expired)
        terminalreporter.write_line(f"withdrawn before the next leg: {_share(done, total)}")
