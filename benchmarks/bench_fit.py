"""Per-scene Gaussian fitting on held-out test worlds: fit every other frame, score the frames in between.

    python benchmarks/bench_fit.py --worlds 8 [--steps 200] [--seconds 60] [--device cpu] [--out benchmarks/results/fit.md]

Protocol: ground-truth clips of test worlds (the generator's tiny preset: 128 px, 17 frames, GT depth and
cameras; families in turn, seeds from ``REPORT_START``). ``fit_gaussians`` (default ``FitConfig`` unless
``--steps`` / ``--seconds`` / ``--voxel`` say otherwise) fits the 9 even frames; the 8 odd frames are held
out. Reported per world and on average: PSNR / SSIM of the held-out frames for the depth initialisation
alone (no optimisation) and for the fit, PSNR of the fitted frames, the fit's seconds (init + optimisation,
not the scoring renders) and its Gaussian count. CPU runs use ``--threads`` torch threads (default 1).
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
from pathlib import Path

import torch
from rich.progress import Progress

from genscene.eval.image_metrics import psnr, ssim
from genscene.eval.report import emit
from genscene.pipelines.fit_gaussians import FitConfig, fit_gaussians, init_gaussians, render_views
from genscene.train.stages.generator import GeneratorStage
from genscene.worlds.seeds import report_seeds

COLUMNS = [("init_psnr", "init PSNR held-out", 2), ("psnr", "PSNR held-out", 2), ("ssim", "SSIM held-out", 3),
           ("train_psnr", "PSNR fitted views", 2), ("seconds", "seconds", 1), ("gaussians", "Gaussians", 0)]


def held_out_scores(gaussians, background, cameras, frames, backend: str) -> tuple[float, float]:
    """Mean PSNR and SSIM of ``gaussians`` rendered into ``cameras [T]`` against ``frames [T, 3, H, W]``."""
    pred = render_views(gaussians, cameras.to(dtype=torch.float32), background, backend)
    return float(psnr(pred, frames).mean()), float(ssim(pred, frames).mean())


def score_world(item: dict, cfg: FitConfig, device: torch.device, bar: Progress) -> dict[str, float]:
    """Fit the even frames of one clip and score the odd ones; returns the row's numbers."""
    rgb, depth = item["rgb"].float().to(device), item["depth"].float().to(device)
    cams = item["cameras"].to(device=device)
    fit, held = list(range(0, len(rgb), 2)), list(range(1, len(rgb), 2))
    init = init_gaussians(rgb[fit], depth[fit], cams[fit], cfg.voxel, cfg.init_opacity, cfg.max_depth_ratio,
                          cfg.init_scale)
    task = bar.add_task("fitting", total=cfg.steps)
    gaussians, stats = fit_gaussians(rgb[fit], depth[fit], cams[fit], cfg,
                                     progress=lambda done, total: bar.update(task, completed=done))
    bar.remove_task(task)
    background = torch.tensor(stats["background"], device=device)
    init_psnr, _ = held_out_scores(init, background, cams[held], rgb[held], cfg.backend)
    held_psnr, held_ssim = held_out_scores(gaussians, background, cams[held], rgb[held], cfg.backend)
    return {"init_psnr": init_psnr, "psnr": held_psnr, "ssim": held_ssim, "train_psnr": stats["psnr"],
            "seconds": stats["seconds"], "gaussians": stats["gaussians"], "init_gaussians": stats["init_gaussians"],
            "steps": stats["steps"]}


def table(names: list[str], rows: list[dict[str, float]]) -> list[str]:
    """Markdown rows: one per world, then the mean."""
    lines = ["| world | " + " | ".join(title for _, title, _ in COLUMNS) + " |", "|---|" + "---:|" * len(COLUMNS)]
    mean = {key: sum(r[key] for r in rows) / len(rows) for key, _, _ in COLUMNS}
    for name, row in [*zip(names, rows), ("**mean**", mean)]:
        lines.append(f"| {name} | " + " | ".join(f"{row[key]:.{digits}f}" for key, _, digits in COLUMNS) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=8, help="test worlds from REPORT_START, families in turn")
    ap.add_argument("--steps", type=int, default=None, help="optimiser steps (default: FitConfig's)")
    ap.add_argument("--seconds", type=float, default=None, help="seconds budget per world (default: none)")
    ap.add_argument("--voxel", type=float, default=None, help="init voxel, fraction of the median depth")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    overrides = {k: v for k, v in (("steps", args.steps), ("seconds", args.seconds), ("voxel", args.voxel))
                 if v is not None}
    cfg = dataclasses.replace(FitConfig(), **overrides)
    stage = GeneratorStage()
    data_cfg = stage.config("tiny")
    families = data_cfg.data.families
    seeds = report_seeds(args.worlds)
    names, rows = [], []
    with Progress(transient=True) as bar:
        for i, item in enumerate(stage.clips(data_cfg, device).eval_items(split="test", count=args.worlds)):
            rows.append(score_world(item, cfg, device, bar))
            names.append(f"{families[i % len(families)]} {seeds[i]}")
            bar.console.print(f"world {i + 1}/{args.worlds} ({names[-1]}): held-out {rows[-1]['psnr']:.2f} dB "
                              f"(init {rows[-1]['init_psnr']:.2f}), {rows[-1]['seconds']:.1f} s, "
                              f"{rows[-1]['steps']} steps")
    where = (f"{torch.cuda.get_device_name(device)}" if device.type == "cuda"
             else f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads")
    lines = [f"# Per-scene Gaussian fitting on {args.worlds} held-out test worlds ({where}, torch {torch.__version__})",
             "", f"`python benchmarks/bench_fit.py --worlds {args.worlds}"
             + "".join(f" --{k} {v}" for k, v in overrides.items()) + f" --device {args.device}`", "",
             (f"World seeds {seeds[0]}-{seeds[-1]}; 128 px, 17 frames; the 9 even frames fitted from GT depth and "
              f"cameras, the 8 odd frames held out. Config: {cfg}."), "",
             *table(names, rows), ""]
    emit("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
