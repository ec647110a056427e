"""The one place where world seeds are split into train / validation / held-out test ranges.

A world is a pure function of ``(family, seed)``, so a split is a seed range. Each read of a seed
names its purpose, and a split may be read only for purposes at or above its own rung:

========== ================================================ ============================
purpose    what reads                                       splits it may read
========== ================================================ ============================
training   batches, clip banks                              train
selection  periodic evaluation, early stopping, checkpoint  train, val
           and preset choices (``compare_geometry``)
report     final numbers (``bench_models``, README, notes)  train, val, test
========== ================================================ ============================

so nothing that trains or chooses can touch ``test`` (:class:`HeldOutSeedError`). Reports read
``test`` from :data:`REPORT_START` on.
"""

from __future__ import annotations

from typing import Iterable, Literal

import torch

Split = Literal["train", "val", "test"]
Purpose = Literal["training", "selection", "report"]

SPLITS: dict[str, range] = {
    "train": range(0, 1_000_000),
    "val": range(1_000_000, 1_010_000),
    "test": range(2_000_000, 2_010_000),
}
"""Seed ranges per split (disjoint)."""

_RUNG = {"train": 0, "val": 1, "test": 2}
_PURPOSE_RUNG = {"training": 0, "selection": 1, "report": 2}
HELD_OUT: tuple[str, ...] = ("val", "test")
"""Splits that training may not read."""

REPORT_START = 100
"""Offset into ``test`` where reported seeds start. Until 2026-12 periodic evaluation and checkpoint
comparisons read the first 32 test seeds (the README's demo reads the first), so reports skip the
first 100: the numbers reported from here on come from worlds nothing was chosen on."""


class HeldOutSeedError(RuntimeError):
    """A seed was asked for by a purpose its split is held out from."""


def split_of(seed: int) -> str | None:
    """The split containing ``seed`` (None if it is in no range)."""
    for name, r in SPLITS.items():
        if seed in r:
            return name
    return None


def _check_purpose(purpose: str) -> int:
    if purpose not in _PURPOSE_RUNG:
        raise ValueError(f"purpose: expected one of {sorted(_PURPOSE_RUNG)}, got {purpose!r}")
    return _PURPOSE_RUNG[purpose]


def check_seeds(seeds: Iterable[int], purpose: Purpose) -> None:
    """Refuse seeds of a split held out from ``purpose``; raises :class:`HeldOutSeedError`.

    Seeds outside every split (e.g. a user's own) are free for any purpose.
    """
    rung = _check_purpose(purpose)
    bad = [s for s in seeds if _RUNG.get(split_of(int(s)), -1) > rung]
    if bad:
        raise HeldOutSeedError(f"seeds {bad[:5]}{'...' if len(bad) > 5 else ''} are held out "
                               f"(split {split_of(int(bad[0]))!r}); purpose {purpose!r} may not read them")


def _check_split(split: str, purpose: Purpose) -> range:
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {sorted(SPLITS)}, got {split!r}")
    if _RUNG[split] > _check_purpose(purpose):
        allowed = [p for p, r in _PURPOSE_RUNG.items() if r >= _RUNG[split]]
        raise HeldOutSeedError(f"split {split!r} is held out: only purpose {' or '.join(map(repr, allowed))} "
                               f"may read it, not {purpose!r}")
    return SPLITS[split]


def report_seeds(count: int) -> range:
    """The ``count`` test seeds that final reports use (from :data:`REPORT_START`)."""
    return seed_range("test", count, REPORT_START, purpose="report")


def training_seeds(count: int, start: int = 0) -> list[int]:
    """The first ``count`` training seeds from offset ``start`` (deterministic)."""
    return list(seed_range("train", count, start))


def seed_range(split: str, count: int, start: int = 0, purpose: Purpose = "training") -> range:
    """Seeds ``start .. start + count`` of ``split`` (held-out splits need a purpose that may read them)."""
    r = _check_split(split, purpose)
    if start < 0 or count < 0 or start + count > len(r):
        raise ValueError(f"seed_range: {split} has {len(r)} seeds, asked for [{start}, {start + count})")
    return r[start:start + count]


def draw_seeds(split: str, count: int, generator: torch.Generator, purpose: Purpose = "training") -> list[int]:
    """``count`` seeds drawn uniformly (with replacement) from ``split`` with ``generator``."""
    r = _check_split(split, purpose)
    idx = torch.randint(len(r), (count,), generator=generator)
    return [r[int(i)] for i in idx]
