"""Training batches from procedural worlds: a pure function of (seed, step, rank, index).

With ``bank_paths > 0`` training clips come from a :class:`~genscene.train.clip_bank.ClipBank`
rendered once before training; otherwise each clip is rendered on the fly (compiled worlds cached
by ``(family, seed)``). Training draws from the ``train`` seed split only
(``genscene.worlds.seeds`` refuses held-out seeds). Periodic and final evaluation of a run score the
``val`` split (that is what checkpoints and presets are chosen on); the reports ask for ``test``
explicitly (:meth:`WorldClips.eval_items` with ``split="test"``). Evaluation always renders on the fly.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass, field

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.train.clip_bank import ClipBank, build_clip_bank, cached_clip_bank

BANK_CACHE_ENV = "GENSCENE_BANK_CACHE"
"""A folder where rendered clip banks are shared between processes (unset: no cache)."""


@dataclass
class WorldDataConfig:
    """What the world clips look like."""

    families: tuple[str, ...] = ("room", "street", "courtyard", "tabletop")
    """World families drawn uniformly."""
    size: int = 128
    """Square image side in pixels."""
    frames: int = 17
    """Frames per clip (views per sample for the geometry stage)."""
    trajectories: tuple[str, ...] = ("random", "orbit")
    """Camera-path kinds passed to the world camera-path sampler."""
    train_pool: int = 512
    """Distinct training worlds (first N seeds of the train split per family)."""
    eval_worlds: int = 8
    """Validation worlds scored by a run's evaluations (first N of the ``val`` split, families in turn)."""
    cache: int = 64
    """Compiled worlds kept in memory (on-the-fly rendering)."""
    bank_paths: int = 0
    """Clips per training world rendered into a bank before training (0: render every clip on the fly)."""
    supersample: int = 1
    """Anti-aliasing: ``rgb`` averages ``s x s`` samples per pixel (training and evaluation alike)."""


@dataclass
class WorldClips:
    """Renders a world clip for a ``(family, seed, path_seed)`` triple, caching compiled worlds."""

    cfg: WorldDataConfig
    device: torch.device
    _cache: OrderedDict = field(default_factory=OrderedDict)
    _bank: ClipBank | None = None

    def _compiled(self, family: str, seed: int, purpose: str):
        from genscene.worlds import make_world
        from genscene.worlds.compiled import compile_world
        from genscene.worlds.seeds import check_seeds

        check_seeds([seed], purpose)
        key = (family, seed)
        if key not in self._cache:
            world = make_world(family, seed)
            self._cache[key] = (world, compile_world(world, self.device))
            while len(self._cache) > self.cfg.cache:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key]

    def clip(self, family: str, seed: int, path_seed: int, frames: int | None = None,
             purpose: str = "training") -> dict[str, Tensor | Cameras]:
        """One clip: ``rgb [T,3,H,W]``, ``depth [T,H,W]`` (0 = sky), ``mask [T,H,W]``, ``cameras`` [T]."""
        from genscene.worlds.render import render

        world, compiled = self._compiled(family, seed, purpose)
        frames = frames or self.cfg.frames
        path = self._path(world, compiled, path_seed, frames)
        cams = path.cameras.to(self.device)
        out = render(compiled, cams, path.times.to(self.device), edges=False, supersample=self.cfg.supersample)
        return {"rgb": out["rgb"], "depth": out["depth"], "mask": out["mask"], "cameras": cams}

    def _path(self, world, compiled, path_seed: int, frames: int, attempts: int = 4):
        """A camera path for ``world``; some worlds leave a kind no free path, so fall back deterministically."""
        from genscene.worlds.camera_paths import PathError, sample_camera_path

        kinds = self.cfg.trajectories
        for attempt in range(attempts):
            kind = kinds[(path_seed + attempt) % len(kinds)]
            try:
                return sample_camera_path(world, kind, num_frames=frames, size=self.cfg.size, seed=path_seed + attempt,
                                          compiled=compiled)
            except PathError:
                continue
        raise PathError(f"{world.family} seed {world.seed}: no camera path after {attempts} attempts")

    def _train_worlds(self) -> list[tuple[str, int]]:
        from genscene.worlds.seeds import seed_range

        return [(family, seed) for seed in seed_range("train", self.cfg.train_pool) for family in self.cfg.families]

    @property
    def bank(self) -> ClipBank:
        """The training clip bank (rendered on first use)."""
        if self._bank is None:
            c = self.cfg
            args = dict(paths=c.bank_paths, frames=c.frames, size=c.size, kinds=tuple(c.trajectories),
                        supersample=c.supersample)
            from rich.progress import Progress

            cache = os.environ.get(BANK_CACHE_ENV)
            with Progress(transient=True) as bar:  # visible while the bank renders (minutes on a CPU)
                task = bar.add_task("rendering the clip bank (worlds)", total=len(self._train_worlds()))
                args["progress"] = lambda done, total: bar.update(task, completed=done)
                if cache:
                    self._bank = cached_clip_bank(cache, self._train_worlds(), self.device, **args)
                else:
                    self._bank = build_clip_bank(self._train_worlds(), device=self.device, **args)
        return self._bank

    def warm_up(self) -> int:
        """Render the bank, or compile every training world, now (outside timed training); returns clips/worlds."""
        if self.cfg.bank_paths > 0:
            return len(self.bank)
        for family, seed in self._train_worlds():
            self._compiled(family, seed, "training")
        return len(self._cache)

    def _item_generator(self, seed: int, step: int, rank: int, index: int) -> torch.Generator:
        return torch.Generator().manual_seed((seed * 1_000_003 + step * 7919 + rank * 104_729 + index * 31) % (2**63))

    def train_item(self, seed: int, step: int, rank: int, index: int, frames: int | None = None):
        """The ``index``-th training clip of ``(step, rank)``; deterministic given the loop seed."""
        from genscene.worlds.camera_paths import PathError
        from genscene.worlds.seeds import seed_range

        g = self._item_generator(seed, step, rank, index)
        if self.cfg.bank_paths > 0:
            i, window = self._bank_draw(g, frames)
            return self.bank.clip(i, window)
        pool = seed_range("train", self.cfg.train_pool)
        for _ in range(8):  # a world with no free path for any kind is skipped, deterministically
            family = self.cfg.families[int(torch.randint(len(self.cfg.families), (1,), generator=g))]
            world_seed = pool[int(torch.randint(self.cfg.train_pool, (1,), generator=g))]
            path_seed = int(torch.randint(2**31 - 1, (1,), generator=g))
            try:
                return self.clip(family, world_seed, path_seed, frames=frames)
            except PathError:
                continue
        raise RuntimeError(f"no training world with a free camera path after 8 draws (step {step}, index {index})")

    def train_bank_draw(self, seed: int, step: int, rank: int, index: int,
                        frames: int | None = None) -> tuple[int, Tensor]:
        """The bank clip and frame indices ``[F]`` that :meth:`train_item` would return, for batched
        gathers (:meth:`ClipBank.gather`)."""
        i, window = self._bank_draw(self._item_generator(seed, step, rank, index), frames)
        return i, torch.arange(self.bank.frames) if window is None else window

    def _bank_draw(self, g: torch.Generator, frames: int | None) -> tuple[int, Tensor | None]:
        """A random bank clip; ``frames`` shorter than the clip takes a random contiguous window."""
        bank = self.bank
        i = int(torch.randint(len(bank), (1,), generator=g))
        t = bank.frames
        if not frames or frames >= t:
            return i, None
        start = int(torch.randint(t - frames + 1, (1,), generator=g))
        return i, torch.arange(start, start + frames)

    def held_out_worlds(self, split: str = "val", count: int | None = None,
                    start: int | None = None) -> tuple[str, list[tuple[str, int]]]:
        """The purpose a split is read for and its fixed held-out worlds ``(family, seed)``, families in turn:
        by default the first ``eval_worlds`` of ``val`` (what a run selects on). Reports pass ``split="test"``,
        which starts at :data:`~genscene.worlds.seeds.REPORT_START` unless ``start`` says otherwise."""
        from genscene.worlds.seeds import REPORT_START, seed_range

        purpose = "report" if split == "test" else "selection"
        if start is None:
            start = REPORT_START if split == "test" else 0
        seeds = seed_range(split, self.cfg.eval_worlds if count is None else count, start, purpose=purpose)
        return purpose, [(self.cfg.families[i % len(self.cfg.families)], seed) for i, seed in enumerate(seeds)]

    def eval_items(self, frames: int | None = None, split: str = "val", count: int | None = None,
                   start: int | None = None):
        """One clip of each of :meth:`held_out_worlds` (path seed = its index)."""
        purpose, worlds = self.held_out_worlds(split, count, start)
        for i, (family, seed) in enumerate(worlds):
            yield self.clip(family, seed, path_seed=i, frames=frames, purpose=purpose)
