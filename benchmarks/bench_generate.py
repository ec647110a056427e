"""The generator on held-out test worlds, beside the warp-only baseline, in one run.

    python benchmarks/bench_generate.py --worlds 16 [--steps 20] [--out benchmarks/results/generate.md]

Protocol (GEN3C / SpatialCrafter): ground-truth frame 0 and trajectory of a held-out world clip (GEN3C
and Lyra presets, orbits and random paths, families in turn); the 3D cache is built from the geometry
net's depth of frame 0 (what ``genscene generate`` does). Scores against the ground-truth renders:
PSNR of all frames and of frames 1-13, and PSNR inside / outside the disocclusion mask. Baseline:
warp-only, the cache render with its holes filled by the nearest covered pixel (no diffusion). CPU
seconds per 17-frame clip. This is a report: test seeds from ``REPORT_START``.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

from genscene.eval.generator_eval import mean_scores, nearest_fill, video_scores
from genscene.eval.report import emit
from genscene.models.generator import VideoGenerator
from genscene.models.geometry import GeometryNet
from genscene.models.vae import VideoVAE
from genscene.pipelines.generate import GenerateConfig, generate_video, relative_unit_cameras, unit_depth
from genscene.train.stages.generator import GeneratorStage
from genscene.weights import found_checkpoints
from genscene.worlds.seeds import report_seeds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=16, help="test worlds from REPORT_START, families in turn")
    ap.add_argument("--steps", type=int, default=20, help="sampler steps")
    ap.add_argument("--guidance", type=float, default=2.0)
    ap.add_argument("--weights", type=Path, default=None, help="generator folder (default: the embedded one)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    found = found_checkpoints()
    generator = VideoGenerator.from_pretrained(args.weights or found["generator"]).eval()
    vae = VideoVAE.from_pretrained(found["vae"]).eval()
    geometry = GeometryNet.from_pretrained(found["geometry"]).eval()
    stage = GeneratorStage()
    cfg = stage.config("tiny")
    gen_cfg = GenerateConfig(steps=args.steps, guidance=args.guidance)
    ours, warp, seconds = [], [], []
    with torch.no_grad():
        for item in stage.clips(cfg, torch.device("cpu")).eval_items(split="test", count=args.worlds):
            rgb, depth = item["rgb"].float(), item["depth"].float()
            cams = relative_unit_cameras(item["cameras"], depth[0])
            depth0 = unit_depth(geometry(rgb[:1][None])["depth"][0, 0].float())
            t0 = time.perf_counter()
            out = generate_video(generator, vae, rgb[0], depth0, cams, gen_cfg)
            seconds.append(time.perf_counter() - t0)
            ours.append(video_scores(out["frames"], rgb, out["cache_mask"]))
            warp.append(video_scores(nearest_fill(out["cache_rgb"], out["cache_mask"]), rgb, out["cache_mask"]))
    seeds = report_seeds(args.worlds)
    rows = [("genscene generator (tiny)", mean_scores(ours)), ("warp-only (cache + nearest fill)", mean_scores(warp))]
    lines = [f"# Generation on {args.worlds} held-out test worlds ({platform.processor() or platform.machine()}, "
             f"{torch.get_num_threads()} threads, torch {torch.__version__})", "",
             f"`python benchmarks/bench_generate.py --worlds {args.worlds} --steps {args.steps}`", "",
             f"World seeds {seeds[0]}-{seeds[-1]}; 128 px, 17 frames; GT frame 0 and cameras; cache from the "
             f"geometry net's depth; {args.steps} steps, guidance {args.guidance}.", "",
             "| method | PSNR all frames | PSNR frames 1-13 | PSNR disoccluded | PSNR covered |",
             "|---|---:|---:|---:|---:|"]
    for name, m in rows:
        lines.append(f"| {name} | {m['psnr']:.2f} | {m['psnr_1_13']:.2f} | {m['psnr_disoccluded']:.2f} | "
                     f"{m['psnr_visible']:.2f} |")
    lines += ["", f"CPU seconds per 17-frame clip (sampling + VAE): median {np.median(seconds):.1f}.", ""]
    emit("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
