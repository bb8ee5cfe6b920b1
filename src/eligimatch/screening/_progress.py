"""Progress of a batch (:func:`~eligimatch.screen_many`, ``eligimatch screen``): a callback, a rich bar on a
terminal's stderr, or nothing."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Optional

__all__ = ["ProgressFn", "Reporter"]

#: ``f(done, total)``: the records yielded so far, and the batch's length (None when the input has none).
ProgressFn = Callable[[int, Optional[int]], None]


class Reporter:
    """Progress: a callback, a rich bar on a terminal's stderr, or nothing."""

    def __init__(self, progress: ProgressFn | bool | None, total: int | None):
        self.total = total
        self.fn: ProgressFn | None = None
        self.bar: Any = None
        self.task: Any = None
        if callable(progress):
            self.fn = progress
        elif progress is True and sys.stderr is not None and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            columns: list[Any] = [TextColumn("screening"), BarColumn()]
            columns += [MofNCompleteColumn(), TimeRemainingColumn()] if total is not None else \
                [TextColumn("{task.completed} patients")]
            columns.append(TimeElapsedColumn())
            # never redirect stdout: results may be streaming there
            self.bar = Progress(*columns, console=Console(stderr=True), transient=False,
                                redirect_stdout=False, redirect_stderr=False)
            self.bar.start()
            self.task = self.bar.add_task("screening", total=total)

    def __call__(self, done: int) -> None:
        if self.fn is not None:
            self.fn(done, self.total)
        elif self.bar is not None:
            self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
