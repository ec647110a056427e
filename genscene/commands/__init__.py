"""Sub-commands of the ``genscene`` CLI, one module each, and the boundary they share.

The boundary (:func:`one_line_errors`, also used by :func:`genscene.cli.main`): whatever goes wrong
becomes one line ``error: ...`` on stderr. Bad input (an :class:`InputError`, an ``OSError`` naming
its file, a request too big for memory, an input nested too deeply) exits with status 2; anything
unexpected is ``error: internal error: ...`` and status 1. ``--debug`` or ``GENSCENE_DEBUG=1`` lets
the exception through, traceback and all, for developers.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from genscene.errors import InputError

DEBUG_ENV = "GENSCENE_DEBUG"
DEBUG_HINT = f"run with --debug or {DEBUG_ENV}=1 for the traceback"
MAX_SEED = 2**63 - 1
"""Largest seed every generator takes (torch's seeds are 64-bit)."""
MIN_FOV, MAX_FOV = 1.0, 170.0
"""Vertical field of view in degrees: a pinhole camera's focal length stays finite and not vanishing
(at 180 degrees it is 2e-15)."""
MAX_MESSAGE = 400
"""Characters of an exception's message shown in an error line."""
OUTPUT_PARAMS = ("output", "out")
"""Names of the parameters that hold a command's output path (named when an OSError names no file)."""

_TEMP_NAME = re.compile(r"\.(?P<stem>.+)\.(?:tmp|old)-\d+-[0-9a-f]{8}(?P<suffix>\.[^.]*)?")
_OUT_OF_MEMORY = ("can't allocate memory", "out of memory", "not enough memory")
_debug = False


# ------------------------------------------------------------------------------------ the boundary
def set_debug(flag: bool) -> None:
    """Set the global ``--debug`` flag (the root callback of the CLI does, on every run)."""
    global _debug
    _debug = bool(flag)


def debug_enabled() -> bool:
    """Whether exceptions go through with their traceback: ``--debug`` or ``GENSCENE_DEBUG`` set to 1/true/yes."""
    return _debug or os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes")


def passes_through(err: BaseException) -> bool:
    """Exceptions the boundary leaves alone: typer/click's own exits, aborts and usage errors, Ctrl-C."""
    click_types = tuple(c for c in type(err).__mro__ if c.__name__ in ("ClickException", "Exit", "Abort"))
    return not isinstance(err, Exception) or bool(click_types)


def describe_error(err: BaseException, output: str | Path | None = None) -> tuple[int, str]:
    """``(exit status, one line without the 'error: ' prefix)`` for an exception at the CLI boundary.

    Args:
        err: what was raised.
        output: the command's output path, named when an ``OSError`` names no file.
    """
    if isinstance(err, InputError):
        return 2, str(err)
    if isinstance(err, OSError):
        return 2, _os_error_line(err, output)
    if isinstance(err, RecursionError):
        return 2, f"an input is nested too deeply to read ({_message(err)})"
    if isinstance(err, MemoryError) or (isinstance(err, RuntimeError) and
                                         any(s in str(err).lower() for s in _OUT_OF_MEMORY)):
        where = f"{output}: " if output else ""
        return 2, (f"{where}out of memory ({type(err).__name__}: {_message(err) or 'no details'}); "
                   "ask for less (sizes, frames, views)")
    return 1, f"internal error: {type(err).__name__}: {_message(err)} ({DEBUG_HINT})"


def _os_error_line(err: OSError, output: str | Path | None) -> str:
    """``PATH: problem`` for an OSError; a temporary sibling is shown as the target it was written for."""
    name = err.filename if err.filename is not None else output
    problem = err.strerror or _message(err) or type(err).__name__
    if err.filename2 is not None:
        problem += f" (-> {shown_path(err.filename2)})"
    return f"{shown_path(name)}: {problem}" if name is not None else f"{type(err).__name__}: {problem}"


def shown_path(name: Any) -> str:
    """``name`` as a user knows it: the hidden ``.NAME.tmp-PID-XXXXXXXX.SUFFIX`` of an atomic write
    becomes ``NAME.SUFFIX``."""
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    path = Path(str(name))
    match = _TEMP_NAME.fullmatch(path.name)
    if match:
        path = path.with_name(match["stem"] + (match["suffix"] or ""))
    return str(path)


def _message(err: BaseException) -> str:
    """The first line of ``err``'s message, shortened to :data:`MAX_MESSAGE` characters."""
    lines = str(err).strip().splitlines()
    text = lines[0].strip() if lines else ""
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."


def report(err: BaseException, output: str | Path | None = None) -> int:
    """Print ``err`` as one ``error:`` line on stderr; return its exit status."""
    code, line = describe_error(err, output)
    typer.echo(f"error: {line}".replace("\n", " "), err=True)
    return code


def one_line_errors(command: Callable) -> Callable:
    """Any exception of ``command`` -> one line on stderr and exit status 2 (bad input) or 1 (internal),
    also when the app runs without ``main``; with ``--debug`` it goes through unchanged."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except BaseException as err:
            if passes_through(err) or debug_enabled():
                raise
            output = next((kwargs[k] for k in OUTPUT_PARAMS if kwargs.get(k) is not None), None)
            raise typer.Exit(report(err, output)) from None

    return wrapper


# ------------------------------------------------------------------------------------ option values
def finite_float(name: str, value: float | None, lo: float, hi: float) -> float | None:
    """``value`` if it is a finite number in ``[lo, hi]`` (None passes); an :class:`InputError` naming the
    option otherwise. For options without a typer range, and behind ranges of typer/click versions that let
    NaN through (every comparison with NaN is false)."""
    if value is None or (math.isfinite(value) and lo <= value <= hi):
        return value
    raise InputError(name, f"must be a finite number in [{lo:g}, {hi:g}], got {value}")


def resolve_device(name: str, option: str = "--device") -> str:
    """``auto`` -> ``cuda`` when available else ``cpu``; ``cpu``; ``cuda`` or ``cuda:N`` only when that
    device exists. An :class:`InputError` naming the option otherwise."""
    import torch

    text = name.strip().lower()
    if text == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if text == "cpu":
        return "cpu"
    match = re.fullmatch(r"cuda(?::(\d+))?", text)
    if not match:
        raise InputError(option, f"expected auto, cpu, cuda or cuda:N, got {name!r}")
    if not torch.cuda.is_available():
        raise InputError(option, f"{name} requested but no CUDA device is available")
    index = int(match[1] or 0)
    if index >= torch.cuda.device_count():
        raise InputError(option, f"{name} requested but this machine has {torch.cuda.device_count()} CUDA device(s)")
    return text
