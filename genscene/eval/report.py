"""Benchmark reports: print a markdown table and, with ``--out``, write the same text to a file."""

from __future__ import annotations

from pathlib import Path


def emit(text: str, out: Path | None) -> None:
    """Print ``text``; also write it to ``out`` (parents created) when given."""
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
