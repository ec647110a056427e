"""``photo_to_scene`` (``genscene scene``) on procedural worlds: its cost and held-out PSNR.

    python benchmarks/bench_scene.py --split val --worlds 2 [--fit-steps 30] [--voxel 0.02] [--out FILE]

Protocol: each world (room then street, seeds from the split's start; ``test`` reads from ``REPORT_START``)
is rendered at 128 px along GT ``spiral`` (distance 0.1, one turn, 9 frames: frame 8 is frame 0 again), a path
no clip is generated on. Frame 0 is the photo; the pipeline runs on the embedded weights with its default
config unless the options say otherwise. Frames 1-7 are held out: the fitted Gaussians are rendered at their GT poses relative to frame 0,
in units of frame 0's GT median depth (the pipeline's unit, up to the geometry net's depth error), with the
pipeline's intrinsics (its field of view is the geometry net's guess). Reported: held-out PSNR of the
Gaussians, of the photo itself shown at every held-out pose (the floor a 3D scene must beat), PSNR of the
fitted views, Gaussians, and the pipeline's seconds per stage (one torch thread).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import torch

from genscene.cameras.cameras import Cameras
from genscene.commands.generate import generation_models
from genscene.eval.image_metrics import psnr
from genscene.eval.report import emit
from genscene.pipelines.fit_gaussians import render_views
from genscene.pipelines.generate import relative_unit_cameras
from genscene.pipelines.photo_to_scene import PhotoToSceneConfig, photo_to_scene
from genscene.worlds.dataset import ClipSpec, render_clip
from genscene.worlds.seeds import REPORT_START, seed_range

FAMILIES = ("room", "street")
HELD = 7
"""Held-out frames: 1-7 of the GT spiral."""
COLUMNS = [("psnr", "PSNR held-out", 2), ("photo_psnr", "PSNR photo as-is", 2), ("fit_psnr", "PSNR fitted views", 2),
           ("gaussians", "Gaussians", 0), ("generate", "s generate+geometry", 1), ("fit", "s fit", 1),
           ("render", "s fly-through", 1), ("total", "s total", 1)]


def score_world(family: str, seed: int, cfg: PhotoToSceneConfig, models) -> dict[str, float]:
    clip = render_clip(ClipSpec(family, seed, "spiral", 0), 9, 128, supersample=2, distance=0.1, turns=1.0)
    rgb = clip["rgb"].float().clamp(0, 1)
    gt = Cameras(clip["K"].double(), clip["w2c"].double(), 128, 128)
    start = time.perf_counter()
    made = photo_to_scene(rgb[0], *models, cfg)
    total = time.perf_counter() - start
    rel = relative_unit_cameras(gt, clip["depth"][0].float())
    held = Cameras(made.scene.cameras.K[:1].expand(HELD, 3, 3).clone(), rel.w2c[1:1 + HELD], 128, 128)
    background = torch.tensor(made.scene.meta["fit"]["background"])
    pred = render_views(made.scene.gaussians, held.to(dtype=torch.float32), background)
    t = made.scene.meta["timings_s"]
    target = rgb[1:1 + HELD]
    return {"psnr": float(psnr(pred, target).mean()),
            "photo_psnr": float(psnr(rgb[:1].expand(HELD, -1, -1, -1), target).mean()),
            "fit_psnr": made.scene.meta["fit"]["psnr"], "gaussians": made.scene.meta["fit"]["gaussians"],
            "generate": t["input_geometry"] + t["generate"] + t["geometry"], "fit": t["fit"],
            "render": t["render"], "total": total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("val", "test"), default="val")
    ap.add_argument("--worlds", type=int, default=2)
    ap.add_argument("--trajectories", default=None, help="comma-separated (default: the pipeline's)")
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--fit-steps", type=int, default=None)
    ap.add_argument("--voxel", type=float, default=None)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = PhotoToSceneConfig()
    overrides = {k: v for k, v in (("frames", args.frames), ("steps", args.steps)) if v is not None}
    if args.trajectories:
        overrides["trajectories"] = tuple(args.trajectories.split(","))
    fit = {k: v for k, v in (("steps", args.fit_steps), ("voxel", args.voxel)) if v is not None}
    cfg = dataclasses.replace(cfg, **overrides, fit=dataclasses.replace(cfg.fit, **fit))
    seeds = seed_range(args.split, args.worlds, REPORT_START if args.split == "test" else 0,
                       purpose="report" if args.split == "test" else "selection")
    models, _ = generation_models(None)
    names, rows = [], []
    for i, seed in enumerate(seeds):
        names.append(f"{FAMILIES[i % len(FAMILIES)]} {seed}")
        rows.append(score_world(FAMILIES[i % len(FAMILIES)], seed, cfg, models))
        print(f"{names[-1]}: " + ", ".join(f"{title} {rows[-1][k]:.{d}f}" for k, title, d in COLUMNS), flush=True)
    mean = {k: sum(r[k] for r in rows) / len(rows) for k, _, _ in COLUMNS}
    lines = [f"# `genscene scene` on {args.worlds} {args.split} worlds (CPU, 1 torch thread, torch {torch.__version__})",
             "", "`python benchmarks/bench_scene.py " + " ".join(
                 f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None and k != "out") + "`",
             "", f"Config: {cfg}.", "",
             "| world | " + " | ".join(title for _, title, _ in COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]
    for name, row in [*zip(names, rows), ("**mean**", mean)]:
        lines.append(f"| {name} | " + " | ".join(f"{row[k]:.{d}f}" for k, _, d in COLUMNS) + " |")
    emit("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
