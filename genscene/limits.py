"""Bounded memory: estimate what a request needs before allocating it, and refuse it in one line when
the machine lacks it.

The rule: a request is refused when its estimate exceeds the memory budget, which is the memory
available now (``psutil``, else ``MemAvailable`` of ``/proc/meminfo``; unknown: no check), or the
budget given explicitly with ``--max-memory GB`` or ``$GENSCENE_MAX_MEMORY_GB`` (for big machines, or
to accept swapping). Images above :data:`MAX_IMAGE_PIXELS` are refused before decoding unless a
budget is given explicitly; then only the memory rule applies to them.

Ground floor: imports nothing from genscene but :mod:`genscene.errors`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from genscene.errors import InputError

ENV_VAR = "GENSCENE_MAX_MEMORY_GB"
GB = 1e9
OVERRIDE_HINT = "--max-memory GB or GENSCENE_MAX_MEMORY_GB to override"
MAX_IMAGE_PIXELS = 100_000_000
"""Largest image decoded without an explicit budget (a 168 KB PNG can hold 144 MP and need 4 GB)."""
DECODED_PIXEL_BYTES = 40
"""Bytes per pixel to decode an image into float RGB: 8-bit RGBA, float32 copies, the transposed tensor."""

_explicit_gb: float | None = None


def set_max_memory(gb: float | None) -> None:
    """Set (or clear, with None) the budget of ``--max-memory``; it takes precedence over the environment."""
    global _explicit_gb
    if gb is not None and not (math.isfinite(gb) and gb > 0):
        raise InputError("--max-memory", f"must be a positive number of GB, got {gb}")
    _explicit_gb = gb


def explicit_budget() -> float | None:
    """The budget in bytes given by ``--max-memory`` or ``$GENSCENE_MAX_MEMORY_GB``; None when neither is."""
    if _explicit_gb is not None:
        return _explicit_gb * GB
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return None
    try:
        gb = float(text)
    except ValueError:
        gb = math.nan
    if not (math.isfinite(gb) and gb > 0):
        raise InputError(ENV_VAR, f"must be a positive number of GB, got {text!r}")
    return gb * GB


def available_bytes() -> float | None:
    """Memory available to a new allocation now, in bytes; None when it cannot be told."""
    try:
        import psutil

        return float(psutil.virtual_memory().available)
    except (ImportError, OSError, RuntimeError, AttributeError):  # psutil missing or unsupported here
        return _meminfo_available()


def _meminfo_available() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def check_memory(source: str | Path, needed: float, what: str = "") -> None:
    """Raise an :class:`InputError` naming ``source`` when ``needed`` bytes exceed the budget.

    Args:
        source: the input or option that makes the request big (e.g. ``"--width/--height/--frames"``).
        needed: the estimate in bytes.
        what: what the estimate covers, shown in the message (e.g. ``"for 49 frames of 1024x768"``).
    """
    explicit = explicit_budget()
    budget = explicit if explicit is not None else available_bytes()
    if budget is None or needed <= budget:
        return
    asked = f"needs about {_gb(needed)} GB{' ' + what if what else ''}"
    if explicit is not None:
        raise InputError(source, f"{asked}, above the {_gb(budget)} GB allowed by --max-memory / {ENV_VAR}")
    raise InputError(source, f"{asked}, this machine has {_gb(budget)} GB available ({OVERRIDE_HINT})")


def check_image_pixels(source: str | Path, width: int, height: int) -> None:
    """Refuse to decode a ``width x height`` image above :data:`MAX_IMAGE_PIXELS` (unless a budget is
    given explicitly) or above the memory budget."""
    pixels = width * height
    if pixels > MAX_IMAGE_PIXELS and explicit_budget() is None:
        raise InputError(source, f"is {width}x{height} = {pixels / 1e6:.0f} MP, above the "
                                 f"{MAX_IMAGE_PIXELS / 1e6:.0f} MP decoded by default ({OVERRIDE_HINT})")
    check_memory(source, pixels * DECODED_PIXEL_BYTES, f"to decode {width}x{height} pixels")


def _gb(n: float) -> str:
    """``n`` bytes in GB: 3 significant digits, whole GB (with thousands separators) from 1000 GB up."""
    gb = n / GB
    return f"{gb:,.0f}" if gb >= 1000 else f"{gb:.3g}"
