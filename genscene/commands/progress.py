"""A progress line from a command's first second: what it is doing now and for how long.

Commands whose work is one long call (a world render, a network pass, COLMAP) name each phase; commands
with countable steps (``render``, ``generate``, ``train``) show bars of their own. The line goes to
stderr and disappears when the command ends, so a terminal keeps only the command's summary; where
stderr is not a terminal (logs, pipes, tests) nothing is drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@contextmanager
def phases(first: str, console: Console | None = None) -> Iterator[Callable[[str], None]]:
    """Show a spinner, ``first`` and the elapsed time; the yielded function names the next phase.

    >>> with phases("rendering 17 frames") as phase:
    ...     phase("writing the scene folder")
    """
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    console = console or Console(stderr=True)
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(first, total=None)
        yield lambda text: bar.update(task, description=text)
