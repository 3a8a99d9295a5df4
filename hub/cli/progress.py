"""The import progress bar (rich, on stderr): bytes read of the file, rows so far, rows/s, time left."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class _RowsPerSecond(ProgressColumn):
    """Rows imported so far and the average rate."""

    def render(self, task: Task) -> Text:
        rows = int(task.fields.get("rows", 0))
        elapsed = task.elapsed or 0.0
        rate = rows / elapsed if elapsed > 0 else 0.0
        return Text(f"{rows:,} rows  {rate:,.0f} rows/s", style="progress.data.speed")


class ImportProgress:
    """Follows an import: `update(rows)` after each chunk; the file position gives the fraction done.

    XLSX files are compressed, so their position says little: the bar then shows rows and rate only.
    """

    def __init__(self, stream: IO[bytes], size: int, kind: str, *, enabled: bool | None = None) -> None:
        self._stream, self._size = stream, max(size, 1)
        console = Console(file=sys.stderr)
        show = console.is_terminal if enabled is None else enabled
        self._measured = kind != "xlsx"
        self._progress = Progress(
            TextColumn("importing"),
            BarColumn(),
            TaskProgressColumn(),
            _RowsPerSecond(),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console,
            disable=not show,
            transient=False,
        )
        self._task = self._progress.add_task("import", total=self._size if self._measured else None, rows=0)
        self.started = time.monotonic()

    def __enter__(self) -> ImportProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None and self._measured:
            self._progress.update(self._task, completed=self._size)
        self._progress.stop()

    def update(self, rows: int) -> None:
        """Rows checked so far (called by the importer after each chunk)."""
        done = None
        if self._measured and not self._stream.closed:
            done = min(self._stream.tell(), self._size)
        self._progress.update(self._task, completed=done, rows=rows)
