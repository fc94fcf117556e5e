"""Rich progress bars on a terminal; silence in pipes and CI."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Callback = Callable[..., None]  # (done, total[, label])


def interactive() -> bool:
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def bar(label: str) -> Iterator[Callback | None]:
    """A callback(done, total) that draws a bar on stderr, or None when not on a terminal."""
    if not interactive():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)
        current = label

        def update(done: int, total: int, label: str | None = None) -> None:
            if label:  # one bar per stage: a new label starts a new bar
                nonlocal task, current
                if label != current:
                    progress.remove_task(task)
                    task, current = progress.add_task(label, total=total), label
            progress.update(task, completed=done, total=total)

        yield update
