"""A bank of training clips rendered once, before the clock starts.

Rendering a clip on the fly costs far more than a small model's step (world textures are
synthesised on the CPU and collision-free camera paths take many small ray casts), so a run
renders its training clips up front: worker processes build worlds and sample camera paths on the
CPU, and the main process renders each world's paths in one batched call on the training device.
The bank is a pure function of the data config, so every rank and every resumed run sees the same
clips; batches draw from it with a seeded generator.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras

INLINE_JOBS = 16
"""Banks of at most this many worlds are planned in-process (no worker start-up cost)."""


@dataclass
class WorldPlan:
    """One world compiled on the CPU and the camera paths to render in it."""

    family: str
    seed: int
    compiled: object  # CompiledWorld on the CPU
    K: Tensor  # [P, T, 3, 3]
    w2c: Tensor  # [P, T, 4, 4]
    times: Tensor  # [P, T] seconds


def plan_world(family: str, seed: int, paths: int, frames: int, size: int, kinds: tuple[str, ...]) -> WorldPlan | None:
    """Compile ``(family, seed)`` and sample ``paths`` camera paths (``None``: no free path at all).

    Path ``i`` tries the kinds in turn starting at ``kinds[i % len(kinds)]``, deterministically.
    """
    from genscene.worlds import make_world
    from genscene.worlds.camera_paths import PathError, sample_camera_path
    from genscene.worlds.compiled import compile_world
    from genscene.worlds.seeds import check_seeds

    check_seeds([seed], "training")
    world = make_world(family, seed)
    compiled = compile_world(world, "cpu")
    found = []
    for i in range(paths):
        for attempt in range(len(kinds) + 2):
            kind = kinds[(i + attempt) % len(kinds)]
            try:
                found.append(sample_camera_path(world, kind, num_frames=frames, size=size,
                                                seed=1000 * i + attempt, compiled=compiled))
                break
            except PathError:
                continue
    if not found:
        return None
    return WorldPlan(family, seed, compiled, torch.stack([p.cameras.K for p in found]).float(),
                     torch.stack([p.cameras.w2c for p in found]).float(), torch.stack([p.times for p in found]).float())


def _plan_job(job: tuple) -> WorldPlan | None:
    torch.set_num_threads(1)  # one core per worker process
    return plan_world(*job)


@dataclass
class ClipBank:
    """``N`` clips of ``T`` frames at ``H x W`` kept on one device (compact dtypes)."""

    rgb: Tensor  # [N, T, 3, H, W] uint8
    depth: Tensor  # [N, T, H, W] float16, 0 where nothing is hit (sky)
    K: Tensor  # [N, T, 3, 3] float32
    w2c: Tensor  # [N, T, 4, 4] float32
    worlds: list[tuple[str, int]]  # (family, seed) of each clip

    def __len__(self) -> int:
        return self.rgb.shape[0]

    @property
    def frames(self) -> int:
        return self.rgb.shape[1]

    def clip(self, index: int, frames: Tensor | None = None) -> dict[str, Tensor | Cameras]:
        """Clip ``index`` (optionally only frame indices ``frames [F]``) in the on-the-fly clip layout:
        ``rgb [F,3,H,W]`` float in [0, 1], ``depth [F,H,W]`` float32, ``mask [F,H,W]``, ``cameras`` [F]."""
        frames = torch.arange(self.frames) if frames is None else frames
        one = self.gather(torch.tensor([index]), frames[None])
        return {k: v[0] for k, v in one.items()}

    def gather(self, index: Tensor, frames: Tensor) -> dict[str, Tensor | Cameras]:
        """Clips ``index [B]`` at frame indices ``frames [B, F]``, in one indexing call per buffer:
        ``rgb [B,F,3,H,W]`` float in [0, 1], ``depth [B,F,H,W]`` float32, ``mask``, ``cameras`` [B, F]."""
        i, f = index.to(self.rgb.device)[:, None], frames.to(self.rgb.device)
        depth = self.depth[i, f].float()
        h, w = depth.shape[-2:]
        return {"rgb": self.rgb[i, f].float() / 255, "depth": depth, "mask": depth > 0,
                "cameras": Cameras(self.K[i, f], self.w2c[i, f], w, h)}


def build_clip_bank(jobs: list[tuple[str, int]], paths: int, frames: int, size: int, kinds: tuple[str, ...],
                    device: torch.device, workers: int | None = None, supersample: int = 1,
                    progress: Callable[[int, int], None] | None = None) -> ClipBank:
    """Render ``paths`` clips in each ``(family, seed)`` world of ``jobs`` onto ``device``.

    ``workers``: CPU processes planning worlds (default: the cores this rank may use; small banks
    are planned in-process). ``supersample``: anti-aliasing samples per pixel side for ``rgb``.
    ``progress(done, total)`` is called after each world.
    """
    from genscene.worlds.render import render

    args = [(family, seed, paths, frames, size, tuple(kinds)) for family, seed in jobs]
    if workers is None:
        workers = 0 if len(jobs) <= INLINE_JOBS else _default_workers()
    rgb, depth, K, w2c, worlds = [], [], [], [], []
    worlds_done: list[WorldPlan | None] = []

    def consume(plan: WorldPlan | None) -> None:
        if progress is not None:
            progress(len(worlds_done) + 1, len(args))
        worlds_done.append(plan)
        if plan is None:
            return
        p, t = plan.times.shape
        cams = Cameras(plan.K.reshape(p * t, 3, 3), plan.w2c.reshape(p * t, 4, 4), size, size).to(device)
        out = render(plan.compiled.to(device), cams, plan.times.reshape(-1).to(device), edges=False,
                     supersample=supersample)
        rgb.append((out["rgb"] * 255).round().clamp(0, 255).to(torch.uint8).reshape(p, t, 3, size, size))
        depth.append(out["depth"].to(torch.float16).reshape(p, t, size, size))
        K.append(plan.K.to(device))
        w2c.append(plan.w2c.to(device))
        worlds.extend([(plan.family, plan.seed)] * p)

    if workers == 0:
        for job in args:
            consume(plan_world(*job))
    else:
        ctx = multiprocessing.get_context("spawn")  # the parent may hold a CUDA context: never fork it
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            for plan in pool.map(_plan_job, args):  # ordered: the bank does not depend on scheduling
                consume(plan)
    if not rgb:
        raise RuntimeError("clip bank: no world had a collision-free camera path")
    return ClipBank(torch.cat(rgb), torch.cat(depth), torch.cat(K), torch.cat(w2c), worlds)


def cached_clip_bank(cache_dir: str | Path, jobs: list[tuple[str, int]], device: torch.device, **kwargs) -> ClipBank:
    """:func:`build_clip_bank` through a file cache (:func:`~genscene.train.tensor_cache.cached_tensors`):
    processes asking for the same bank at once wait for the first to render it, then load it."""
    from genscene.train.tensor_cache import cached_tensors

    spec = json.dumps({"jobs": jobs, **{k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()
                                        if k not in ("workers", "progress")}}, sort_keys=True)

    def make() -> tuple[dict[str, Tensor], dict[str, str]]:
        bank = build_clip_bank(jobs, device=device, **kwargs)
        return {"rgb": bank.rgb, "depth": bank.depth, "K": bank.K, "w2c": bank.w2c}, {"worlds": json.dumps(bank.worlds)}

    tensors, metadata = cached_tensors(cache_dir, "bank", spec, make)
    worlds = [tuple(w) for w in json.loads(metadata["worlds"])]
    return ClipBank(*(tensors[k].to(device) for k in ("rgb", "depth", "K", "w2c")), worlds)


def _default_workers() -> int:
    """Cores per local rank (ranks on one host split the machine)."""
    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    return max(1, min(32, (os.cpu_count() or 1) // local))


__all__ = ["ClipBank", "WorldPlan", "build_clip_bank", "cached_clip_bank", "plan_world"]
