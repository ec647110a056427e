"""The one place where world seeds are split into train / validation / held-out test ranges.

A world is a pure function of ``(family, seed)``, so a split is a seed range. Training code draws
seeds only through :func:`training_seeds` / :func:`draw_seeds` with a training split; any attempt
to use a held-out seed for training raises :class:`HeldOutSeedError` (see :func:`check_seeds`).
Evaluation code asks for the test range explicitly with ``purpose="evaluation"``.
"""

from __future__ import annotations

from typing import Iterable, Literal

import torch

Split = Literal["train", "val", "test"]

SPLITS: dict[str, range] = {
    "train": range(0, 1_000_000),
    "val": range(1_000_000, 1_010_000),
    "test": range(2_000_000, 2_010_000),
}
"""Seed ranges per split (disjoint). ``test`` is held out: never used for training or model selection."""

HELD_OUT: tuple[str, ...] = ("test",)
Purpose = Literal["training", "evaluation"]


class HeldOutSeedError(RuntimeError):
    """Training code asked for a held-out seed."""


def split_of(seed: int) -> str | None:
    """The split containing ``seed`` (None if it is in no range)."""
    for name, r in SPLITS.items():
        if seed in r:
            return name
    return None


def check_seeds(seeds: Iterable[int], purpose: Purpose) -> None:
    """Refuse held-out seeds for ``purpose == "training"``; raises :class:`HeldOutSeedError`."""
    if purpose not in ("training", "evaluation"):
        raise ValueError(f"purpose: expected 'training' or 'evaluation', got {purpose!r}")
    if purpose == "evaluation":
        return
    bad = [s for s in seeds if split_of(int(s)) in HELD_OUT]
    if bad:
        raise HeldOutSeedError(f"seeds {bad[:5]}{'...' if len(bad) > 5 else ''} are held out for evaluation "
                               f"(split {split_of(int(bad[0]))!r}); training may not use them")


def _check_split(split: str, purpose: Purpose) -> range:
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {sorted(SPLITS)}, got {split!r}")
    if split in HELD_OUT and purpose != "evaluation":
        raise HeldOutSeedError(f"split {split!r} is held out: only purpose='evaluation' may draw it")
    return SPLITS[split]


def training_seeds(count: int, start: int = 0) -> list[int]:
    """The first ``count`` training seeds from offset ``start`` (deterministic)."""
    return list(seed_range("train", count, start))


def seed_range(split: str, count: int, start: int = 0, purpose: Purpose = "training") -> range:
    """Seeds ``start .. start + count`` of ``split`` (held-out splits need ``purpose="evaluation"``)."""
    r = _check_split(split, purpose)
    if start < 0 or count < 0 or start + count > len(r):
        raise ValueError(f"seed_range: {split} has {len(r)} seeds, asked for [{start}, {start + count})")
    return r[start:start + count]


def draw_seeds(split: str, count: int, generator: torch.Generator, purpose: Purpose = "training") -> list[int]:
    """``count`` seeds drawn uniformly (with replacement) from ``split`` with ``generator``."""
    r = _check_split(split, purpose)
    idx = torch.randint(len(r), (count,), generator=generator)
    return [r[int(i)] for i in idx]
