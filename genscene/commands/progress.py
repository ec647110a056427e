"""A progress line from a command's first second: what it is doing now and for how long.

Commands whose work is one long call (a world render, a network pass, COLMAP) name each phase; commands
with countable steps (``render``, ``generate``, ``train``) show bars of their own; ``scene`` does both on
one line. The line goes to stderr and disappears when the command ends, so a terminal keeps only the
command's summary; where stderr is not a terminal (logs, pipes, tests) nothing is drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


@contextmanager
def phases(first: str, console: Console | None = None, steps: bool = False) -> Iterator[Callable[..., None]]:
    """Show a spinner, ``first`` and the elapsed time; the yielded function names the next phase.

    With ``steps`` the line also has a bar: ``phase(text, done, total)`` fills it (``total`` 0: a phase
    without steps). One line serves commands that mix long calls and counted steps (rich draws one live
    display at a time, so a bar cannot open inside a phase line).

    >>> with phases("rendering 17 frames") as phase:
    ...     phase("writing the scene folder")
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    counted = (BarColumn(), MofNCompleteColumn()) if steps else ()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), *counted, TimeElapsedColumn())
    console = console or Console(stderr=True)
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(first, total=None)

        def phase(text: str, done: int = 0, total: int = 0) -> None:
            bar.update(task, description=text, completed=done, total=total or None)

        yield phase
