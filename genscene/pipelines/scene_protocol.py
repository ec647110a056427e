"""The held-out protocol of ``benchmarks/bench_scene.py`` and ``figure_scene.py``: both routes of ``genscene
scene`` from GT frames and from generated ones, on one procedural world (the rows and their meaning:
``bench_scene.py``'s docstring). It lives with the pipelines, not in ``eval/``, because it runs them on worlds
(``eval/`` sits below both in the import order).
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from genscene.cameras.cameras import Cameras, invert_rigid
from genscene.eval.image_metrics import psnr, ssim
from genscene.geometry.gaussians import Gaussians
from genscene.geometry.projection import median_depth
from genscene.pipelines.decode_gaussians import decode_gaussians
from genscene.pipelines.fit_gaussians import fit_gaussians, render_views
from genscene.pipelines.generate import relative_unit_cameras, render_cache, unit_depth
from genscene.pipelines.photo_to_scene import (
    PhotoToSceneConfig,
    clip_views,
    coverage_paths,
    generate_views,
    join_views,
    photo_to_scene,
)
from genscene.worlds import FAMILIES, make_world
from genscene.worlds.compiled import compile_world
from genscene.worlds.dataset import ClipSpec, render_clip
from genscene.worlds.render import render
from genscene.worlds.seeds import REPORT_START, seed_range

SIZE, HELD = 128, 7
"""Frame side; held-out frames (1-7 of the GT spiral)."""
ROWS = [("gt_fit", "GT frames -> fit (ceiling)"), ("gt_decoder", "GT frames -> decoder (ceiling)"),
        ("gen_fit", "generated -> fit (full pipeline)"), ("gen_decoder", "generated -> decoder (full pipeline)"),
        ("gen_decoder_split", "generated -> decoder, per trajectory"), ("warp", "warp-only point cloud"),
        ("photo", "photo as-is")]


def _rss_mib() -> float:
    """Resident memory now (Linux's /proc; 0 elsewhere, where the peaks read 0)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0


@contextmanager
def cost(record: dict[str, float]):
    """Fill ``record`` with ``seconds`` and ``peak_mib`` (resident memory above the start, sampled every 5 ms)."""
    base, peak, done = _rss_mib(), [0.0], threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], _rss_mib() - base)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    try:
        yield record
    finally:
        record["seconds"] = time.perf_counter() - start
        done.set()
        thread.join()
        record["peak_mib"] = max(peak[0], _rss_mib() - base)


def gt_coverage(compiled, K: torch.Tensor, w2c0: torch.Tensor, unit: float, cfg: PhotoToSceneConfig):
    """The world rendered along the pipeline's coverage paths from frame 0's GT camera (``K [3, 3]``, ``w2c0
    [4, 4]``): frames ``[V, T, 3, S, S]``, depth ``[V, T, S, S]`` and cameras ``[V, T]``, in frame 0's unit."""
    frames, depths, cams = [], [], []
    for rel_c2w in coverage_paths(cfg).values():
        c2w = rel_c2w.double().clone()
        c2w[:, :3, 3] *= unit
        world = Cameras.from_c2w(K.double().expand(len(c2w), 3, 3), invert_rigid(w2c0.double()) @ c2w, SIZE, SIZE)
        out = render(compiled, world, torch.zeros(len(c2w)), edges=False, supersample=2)
        frames.append(out["rgb"].float().clamp(0, 1))
        depths.append(out["depth"].float() / unit)
        cams.append(Cameras.from_c2w(K.double().expand(len(c2w), 3, 3), rel_c2w.double(), SIZE, SIZE))
    return torch.stack(frames), torch.stack(depths), Cameras.stack(cams)


def joined(frames: torch.Tensor, depths: torch.Tensor, cams: Cameras):
    """Clips ``[V, T, ...]`` sharing frame 0 -> the pipeline's joined views (:func:`join_views`)."""
    return join_views(frames), join_views(depths), Cameras.cat([cams[0, :1], cams[:, 1:].reshape(-1)])


def fitted(frames, depths, cams, cfg: PhotoToSceneConfig, record: dict) -> tuple[Gaussians, torch.Tensor]:
    with cost(record):
        gaussians, stats = fit_gaussians(frames, depths, cams, cfg.fit)
    return gaussians, torch.tensor(stats["background"])


def decoded(frames, cams, vae, decoder, record: dict, per_trajectory: bool = False) -> tuple[Gaussians, torch.Tensor]:
    with cost(record):
        if per_trajectory:
            gaussians = Gaussians.cat([decode_gaussians(frames[v:v + 1], cams[v:v + 1], vae, decoder)[0]
                                       for v in range(len(frames))])
        else:
            gaussians = decode_gaussians(frames, cams, vae, decoder)[0]
    return gaussians, torch.zeros(3)


def scores(pred: torch.Tensor, target: torch.Tensor, renders: dict, row: str) -> dict[str, float]:
    renders[row] = pred
    return {"psnr": float(psnr(pred, target).mean()), "ssim": float(ssim(pred, target).mean())}


@dataclass
class HeldOutWorld:
    """One world of the protocol: the photo, the held-out GT frames and poses, and its GT coverage clips."""

    rgb: torch.Tensor
    """The GT spiral ``[9, 3, S, S]``: frame 0 the photo, frames 1-7 held out."""
    rel: Cameras
    """The spiral's cameras ``[9]`` relative to frame 0, in units of its GT median depth (GT intrinsics)."""
    coverage: tuple[torch.Tensor, torch.Tensor, Cameras]
    """GT frames ``[V, T, 3, S, S]``, depth ``[V, T, S, S]`` and cameras ``[V, T]`` along the coverage paths."""

    @property
    def target(self) -> torch.Tensor:
        return self.rgb[1:1 + HELD]

    def held(self, K: torch.Tensor | None = None) -> Cameras:
        """The held-out poses ``[HELD]`` with intrinsics ``K [3, 3]`` (default: GT), float32."""
        K = self.rel.K[1:1 + HELD] if K is None else K.expand(HELD, 3, 3).clone()
        return Cameras(K, self.rel.w2c[1:1 + HELD], SIZE, SIZE).to(dtype=torch.float32)


def held_out_world(family: str, seed: int, cfg: PhotoToSceneConfig) -> HeldOutWorld:
    world = make_world(family, seed)
    compiled = compile_world(world, "cpu")
    clip = render_clip(ClipSpec(family, seed, "spiral", 0), 9, SIZE, supersample=2, distance=0.1, turns=1.0,
                       flow=False, compiled=(world, compiled))
    unit = float(median_depth(clip["depth"][0].float()))
    rel = relative_unit_cameras(Cameras(clip["K"].double(), clip["w2c"].double(), SIZE, SIZE),
                                clip["depth"][0].float())
    return HeldOutWorld(clip["rgb"].float().clamp(0, 1), rel,
                        gt_coverage(compiled, clip["K"][0], clip["w2c"][0], unit, cfg))


def score_ceilings(world: HeldOutWorld, cfg: PhotoToSceneConfig, vae, decoder, rows: dict, renders: dict,
                   fit: bool = True) -> None:
    """The GT-frame rows (``gt_fit`` unless ``fit`` is False, ``gt_decoder``) into ``rows``."""
    frames, depths, cams = world.coverage
    made = {"gt_decoder": decoded(frames, cams, vae, decoder, rows["gt_decoder"])}
    if fit:
        made["gt_fit"] = fitted(*joined(frames, depths, cams), cfg, rows["gt_fit"])
    for name, (gaussians, background) in made.items():
        rows[name] |= scores(render_views(gaussians, world.held(), background), world.target, renders, name)


def score_generated(world: HeldOutWorld, cfg: PhotoToSceneConfig, models, decoder, rows: dict,
                    renders: dict) -> None:
    """The full-pipeline rows, the warp-only cloud and the photo as-is into ``rows``."""
    rgb, target, vae = world.rgb, world.target, models[1]
    with cost(rows["gen_fit"]):
        made = photo_to_scene(rgb[0], *models, cfg)
    rows["gen_fit"]["seconds"] = made.scene.meta["timings_s"]["fit"]  # the whole pipeline ran under the clock
    rows["gen_fit"].pop("peak_mib")
    held = world.held(made.scene.cameras.K[0])
    background = torch.tensor(made.scene.meta["fit"]["background"])
    rows["gen_fit"] |= scores(render_views(made.scene.gaussians, held, background), target, renders, "gen_fit")
    gen_frames, gen_cams = clip_views(made.scene, made.clips)
    for name, split in (("gen_decoder", False), ("gen_decoder_split", True)):
        gaussians, background = decoded(gen_frames, gen_cams, vae, decoder, rows[name], per_trajectory=split)
        rows[name] |= scores(render_views(gaussians, held, background), target, renders, name)
    K = made.scene.cameras.K[:1].expand(HELD + 1, 3, 3).clone()
    cache_cams = Cameras(K, world.rel.w2c[:1 + HELD], SIZE, SIZE)  # frame 0 (the photo) and the held-out poses
    warped, _ = render_cache(rgb[0], unit_depth(made.scene.depths[0].float()), cache_cams)
    rows["warp"] |= scores(warped[1:].clamp(0, 1), target, renders, "warp")
    rows["photo"] |= scores(rgb[:1].expand(HELD, -1, -1, -1), target, renders, "photo")


def generated_clips(world: HeldOutWorld, cfg: PhotoToSceneConfig, models) -> tuple[torch.Tensor, Cameras, Cameras]:
    """The pipeline's generated clips of the world's photo (generation only, no fit): frames ``[V, T, 3, S, S]``,
    their cameras ``[V, T]``, and the held-out poses ``[HELD]`` with the pipeline's intrinsics."""
    scene, _, spans, _ = generate_views(world.rgb[0], *models, cfg, lambda *a: None)
    frames, cams = clip_views(scene, spans)
    return frames, cams, world.held(scene.cameras.K[0])


def score_decoded(frames: torch.Tensor, cams: Cameras, held: Cameras, target: torch.Tensor, vae, decoder
                  ) -> dict[str, float]:
    """PSNR / SSIM at the ``held`` poses of the Gaussians ``decoder`` makes of clips ``frames`` / ``cams``."""
    gaussians, background = decoded(frames, cams, vae, decoder, {})
    return scores(render_views(gaussians, held, background), target, {}, "decoded")


def score_world(family: str, seed: int, cfg: PhotoToSceneConfig, models, decoder,
                renders: dict[str, torch.Tensor] | None = None, generated: bool = True,
                fit: bool = True) -> dict[str, dict[str, float]]:
    """Every row's scores on one world (``generated=False``: only the GT-frame rows; ``fit=False``: no
    ``gt_fit``); ``renders`` (if given) receives each row's held-out renders ``[HELD, 3, S, S]`` and the GT
    frames (``"gt"``)."""
    renders = {} if renders is None else renders
    world = held_out_world(family, seed, cfg)
    rows: dict[str, dict[str, float]] = {name: {} for name, _ in ROWS}
    score_ceilings(world, cfg, models[1], decoder, rows, renders, fit)
    if generated:
        score_generated(world, cfg, models, decoder, rows, renders)
    renders["gt"] = world.target
    return {name: row for name, row in rows.items() if row}


def world_names(split: str, count: int) -> list[tuple[str, int]]:
    """``(family, seed)`` of the first ``count`` worlds of ``split`` (test from REPORT_START), families in turn."""
    seeds = seed_range(split, count, REPORT_START if split == "test" else 0,
                       purpose="report" if split == "test" else "selection")
    return [(FAMILIES[i % len(FAMILIES)], seed) for i, seed in enumerate(seeds)]


__all__ = ["HELD", "ROWS", "SIZE", "HeldOutWorld", "generated_clips", "held_out_world", "score_ceilings",
           "score_decoded", "score_world", "world_names"]
