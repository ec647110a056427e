"""Sub-commands of the ``genscene`` CLI, one module each."""

from __future__ import annotations

import functools
from typing import Callable

import typer

from genscene.errors import InputError


def one_line_errors(command: Callable) -> Callable:
    """Bad input -> one line on stderr and exit status 2, also when the app runs without ``main``."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except InputError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(2) from None

    return wrapper
