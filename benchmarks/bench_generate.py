"""The generator on held-out test worlds, beside the warp-only baseline and its ablations, in one run.

    python benchmarks/bench_generate.py --worlds 16 [--steps 20] [--out benchmarks/results/generate.md]

Protocol (GEN3C / SpatialCrafter): ground-truth frame 0 and trajectory of a held-out world clip (GEN3C
and Lyra presets, orbits and random paths, families in turn); the 3D cache is built from the geometry
net's depth of frame 0 (what ``genscene generate`` does). Scores against the ground-truth renders: PSNR
/ SSIM of the generated frames (1 onwards; frame 0 is the input) and of frames 1-13, PSNR inside /
outside the disocclusion mask, and camera following (CameraCtrl's R_err / T_err of the cameras the
geometry net estimates from the clip, against the commanded ones; the "GT clip" row is the estimator's
own error). Rows: the full model; the same weights with a condition withheld at sampling (camera: a mode
trained by condition dropout; cache alone: never dropped alone in training, so out of distribution);
warp-only (the cache render, holes filled by the nearest covered pixel). CPU seconds per 17-frame clip
(full model). This is a report: test seeds from ``REPORT_START``.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import time
from pathlib import Path

import numpy as np
import torch

from genscene.eval.generator_eval import estimated_camera_errors, mean_scores, nearest_fill, video_scores
from genscene.eval.report import emit
from genscene.models.generator import VideoGenerator
from genscene.models.geometry import GeometryNet
from genscene.models.vae import VideoVAE
from genscene.pipelines.generate import GenerateConfig, generate_video, relative_unit_cameras, unit_depth
from genscene.train.stages.generator import GeneratorStage
from genscene.weights import found_checkpoints
from genscene.worlds.seeds import report_seeds

ABLATIONS = {
    "genscene generator (full)": (),
    "no camera (Plücker withheld)": ("camera",),
    "no cache (withheld; untrained mode)": ("cache",),
}
COLUMNS = [("psnr", "PSNR 1+", 2), ("ssim", "SSIM 1+", 3), ("psnr_1_13", "PSNR 1-13", 2),
           ("ssim_1_13", "SSIM 1-13", 3), ("psnr_disoccluded", "PSNR disoccluded", 2),
           ("psnr_visible", "PSNR covered", 2), ("r_err", "R_err (deg)", 1), ("t_err", "T_err", 2)]


def score_world(item: dict, models: tuple, gen_cfg: GenerateConfig,
                others: dict[str, torch.nn.Module] | None = None) -> tuple[dict[str, dict], float]:
    """Rows of one world clip: method -> scores; and the full model's seconds. ``others``: more generators
    (label -> model), each a full-model row of its own (e.g. the two arms of an ablation trained apart)."""
    generator, vae, geometry = models
    rgb, depth = item["rgb"].float(), item["depth"].float()
    cams = relative_unit_cameras(item["cameras"], depth[0])
    depth0 = unit_depth(geometry(rgb[:1][None])["depth"][0, 0].float())
    rows, seconds = {}, 0.0
    out = None
    for name, withheld in ABLATIONS.items():
        t0 = time.perf_counter()
        clip = generate_video(generator, vae, rgb[0], depth0, cams, dataclasses.replace(gen_cfg, withhold=withheld))
        if not withheld:
            seconds, out = time.perf_counter() - t0, clip
        rows[name] = {**video_scores(clip["frames"], rgb, clip["cache_mask"]),
                      **estimated_camera_errors(geometry, clip["frames"], cams)}
    for name, other in (others or {}).items():
        clip = generate_video(other, vae, rgb[0], depth0, cams, gen_cfg)
        rows[name] = {**video_scores(clip["frames"], rgb, clip["cache_mask"]),
                      **estimated_camera_errors(geometry, clip["frames"], cams)}
    warp = nearest_fill(out["cache_rgb"], out["cache_mask"])
    rows["warp-only (cache + nearest fill)"] = {**video_scores(warp, rgb, out["cache_mask"]),
                                                **estimated_camera_errors(geometry, warp, cams)}
    rows["GT clip (estimator floor)"] = {**video_scores(rgb, rgb, out["cache_mask"]),
                                         **estimated_camera_errors(geometry, rgb, cams)}
    return rows, seconds


def table(per_world: list[dict[str, dict]]) -> list[str]:
    lines = ["| method | " + " | ".join(title for _, title, _ in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for name in per_world[0]:
        m = mean_scores([w[name] for w in per_world])
        cells = ["—" if name.startswith("GT") and key.startswith(("psnr", "ssim")) else f"{m[key]:.{digits}f}"
                 for key, _, digits in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=16, help="test worlds from REPORT_START, families in turn")
    ap.add_argument("--steps", type=int, default=20, help="sampler steps")
    ap.add_argument("--guidance", type=float, default=2.0)
    ap.add_argument("--weights", type=Path, default=None, help="generator folder (default: the embedded one)")
    ap.add_argument("--compare", nargs="*", default=[], metavar="LABEL=FOLDER",
                    help="more generator folders, a full-model row each (e.g. the arms of the epipolar ablation)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    others = {label: VideoGenerator.from_pretrained(Path(folder)).eval()
              for label, folder in (item.split("=", 1) for item in args.compare)}
    found = found_checkpoints()
    weights = args.weights or found["generator"]
    models = (VideoGenerator.from_pretrained(weights).eval(), VideoVAE.from_pretrained(found["vae"]).eval(),
              GeometryNet.from_pretrained(found["geometry"]).eval())
    stage = GeneratorStage()
    gen_cfg = GenerateConfig(steps=args.steps, guidance=args.guidance)
    per_world, seconds = [], []
    with torch.no_grad():
        for item in stage.clips(stage.config("tiny"), torch.device("cpu")).eval_items(split="test",
                                                                                       count=args.worlds):
            rows, s = score_world(item, models, gen_cfg, others)
            per_world.append(rows)
            seconds.append(s)
            print(f"world {len(per_world)}/{args.worlds}: full {rows['genscene generator (full)']['psnr']:.2f} dB, "
                  f"{s:.1f} s", flush=True)
    seeds = report_seeds(args.worlds)
    lines = [(f"# Generation on {args.worlds} held-out test worlds ({platform.processor() or platform.machine()}, "
             f"{torch.get_num_threads()} threads, torch {torch.__version__})"), "",
             f"`python benchmarks/bench_generate.py --worlds {args.worlds} --steps {args.steps}"
             + "".join(f" --compare {c}" for c in args.compare) + "`", "",
             (f"World seeds {seeds[0]}-{seeds[-1]}; 128 px, 17 frames; GT frame 0 and cameras; cache from the "
             f"geometry net's depth; {args.steps} steps, guidance {args.guidance}; weights `{weights}`."), "",
             *table(per_world), "",
             ("R_err: sum over frames of the rotation error (degrees) of the geometry net's cameras of the clip, "
             "relative to frame 0; T_err: sum of centre errors on trajectories scaled to a unit furthest centre "
             "(CameraCtrl / SpatialCrafter). Lower is better."), "",
             f"CPU seconds per 17-frame clip (full model, sampling + VAE): median {np.median(seconds):.1f}.", ""]
    emit("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
