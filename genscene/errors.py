"""The one error type for bad input: a single line naming the input and what is wrong."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad user input. ``str(err)`` is one line: ``<source>: <field>: <problem>``.

    The CLI prints exactly that line and exits with status 2; nothing is half-written.
    """

    def __init__(self, source: str | Path, problem: str, field: str | None = None):
        self.source = str(source)
        self.field = field
        self.problem = problem
        where = f"{self.source}: {field}" if field else self.source
        super().__init__(f"{where}: {problem}".replace("\n", " "))


def existing_file(path: str | Path) -> Path:
    """``path`` as a :class:`Path`; an :class:`InputError` naming it when no such file exists."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    return path
