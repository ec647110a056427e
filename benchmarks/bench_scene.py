"""``genscene scene`` on held-out procedural worlds: both routes, from GT frames and from generated ones.

    python benchmarks/bench_scene.py --split test --worlds 16 [--decoder DIR] [--out FILE]
    # or side by side on two cores, then the table:
    python benchmarks/bench_scene.py --split test --worlds 16 --shard 0/2 --rows r0.json   # and 1/2 --rows r1.json
    python benchmarks/bench_scene.py --split test --worlds 16 --merge r0.json r1.json --out FILE
    # choosing a decoder on val: GT frames -> decoder, and (--generated) the pipeline's clips -> decoder
    python benchmarks/bench_scene.py --split val --worlds 8 --select DIR [DIR ...] [--generated] [--out FILE]

Protocol (one torch thread): each world (families in turn; ``test`` seeds from ``REPORT_START``, ``val`` from 0)
is rendered at 128 px along the GT ``spiral`` (distance 0.1, one turn, 9 frames), a path no clip follows.
Frame 0 is the photo; frames 1-7 are held out, posed relative to frame 0 in units of its GT median depth (the
pipeline's unit). Rows, each scored by PSNR / SSIM of renders at the held-out poses:

- GT frames -> fit / decoder (the ceiling): the world rendered along the pipeline's coverage paths (its Lyra
  trajectories, GT intrinsics), GT depth, GT cameras; Gaussians by route 1 (``fit_gaussians`` with the
  pipeline's fit config) and route 2 (the latent decoder, both trajectories at once).
- generated -> fit / decoder (the full pipeline): ``photo_to_scene`` on frame 0 with the embedded models and its
  default config; route 2 decodes the same generated clips. Held-out renders use the pipeline's intrinsics (its
  field of view is the geometry net's guess).
- generated -> decoder per trajectory: each clip decoded alone, Gaussians joined (Lyra's multi-view fusion
  ablation, at inference only: the decoder was trained on fused trajectories).
- warp-only: the photo lifted by the geometry net's depth and splatted at the held-out poses (the 3D cache).
- photo as-is: frame 0 shown at every held-out pose (the floor a 3D scene must beat).

Seconds and peak resident memory above the start of the step (sampled every 5 ms) are those of making the
Gaussians (fit: initialisation + optimisation; decoder: VAE encoding + forward + pruning).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from genscene.commands.checkpoints import load_model
from genscene.commands.generate import generation_models
from genscene.commands.reconstruct import resolve_weights
from genscene.eval.report import emit
from genscene.models.gaussian_decoder import LatentGaussianDecoder
from genscene.pipelines.photo_to_scene import PhotoToSceneConfig
from genscene.pipelines.scene_protocol import (
    ROWS,
    generated_clips,
    held_out_world,
    score_ceilings,
    score_decoded,
    score_world,
    world_names,
)


def table(names: list[str], per_world: list[dict], args, cfg: PhotoToSceneConfig) -> str:
    def mean(row: str, key: str) -> float | None:
        values = [w[row][key] for w in per_world if key in w[row]]
        return sum(values) / len(values) if values else None

    def cell(value: float | None, digits: int) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    lines = [f"# `genscene scene`: both routes on {len(names)} {args.split} worlds (CPU, 1 torch thread, "
             f"torch {torch.__version__})", "",
             f"`python benchmarks/bench_scene.py --split {args.split} --worlds {args.worlds}`"
             + (f" with `--decoder {args.decoder}`" if args.decoder else ""), "",
             f"Worlds: {', '.join(names)}. Pipeline: {cfg}.", "",
             "| Gaussians from | PSNR held-out | SSIM held-out | s to make | peak MiB |", "|---|---:|---:|---:|---:|"]
    for row, title in ROWS:
        lines.append(f"| {title} | {cell(mean(row, 'psnr'), 2)} | {cell(mean(row, 'ssim'), 3)} | "
                     f"{cell(mean(row, 'seconds'), 2)} | {cell(mean(row, 'peak_mib'), 0)} |")
    lines += ["", "Per world, PSNR held-out:", "", "| world | " + " | ".join(r for r, _ in ROWS) + " |",
              "|---|" + "---:|" * len(ROWS)]
    for name, world in zip(names, per_world):
        lines.append(f"| {name} | " + " | ".join(f"{world[r]['psnr']:.2f}" for r, _ in ROWS) + " |")
    return "\n".join(lines) + "\n"


def select_decoder(args, worlds: list[tuple[str, int]], cfg: PhotoToSceneConfig) -> str:
    """A table of each ``--select`` decoder's GT-frames -> decoder PSNR / SSIM (and with ``--generated`` its
    generated -> decoder scores: the full pipeline's clips, generated once per world), mean over ``worlds``."""
    torch.set_num_threads(1)
    models = generation_models(None)[0]
    vae = models[1]
    held = [held_out_world(family, seed, cfg) for family, seed in worlds]
    clips = [generated_clips(world, cfg, models) for world in held] if args.generated else []
    head = "| decoder | trained at | GT PSNR | GT SSIM |" + (" gen PSNR | gen SSIM |" if clips else "")
    lines = [f"# Decoders on {len(worlds)} {args.split} worlds: GT frames (and generated clips) -> decoder, "
             "held-out poses", "", head, "|---|---:|" + "---:|" * (4 if clips else 2)]
    for folder in args.select:
        decoder = load_model(LatentGaussianDecoder, folder)
        rows = []
        for world in held:
            scored = {"gt_decoder": {}}
            score_ceilings(world, cfg, vae, decoder, scored, {}, fit=False)
            rows.append(scored["gt_decoder"])
        gen = [score_decoded(*clip, world.target, vae, decoder) for clip, world in zip(clips, held)]
        means = [[sum(r[k] for r in part) / len(part) for k in ("psnr", "ssim")] for part in (rows, gen) if part]
        cells = " | ".join(f"{psnr:.2f} | {ssim:.3f}" for psnr, ssim in means)
        lines.append(f"| {folder} | {decoder.config.image_size} px | {cells} |")
        print(lines[-1], flush=True)
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("val", "test"), default="val")
    ap.add_argument("--worlds", type=int, default=2)
    ap.add_argument("--decoder", type=Path, default=None, help="decoder folder (default: the embedded one)")
    ap.add_argument("--shard", default="0/1", help="I/N: score worlds I, I + N, ... (run N processes side by side)")
    ap.add_argument("--rows", type=Path, default=None, help="write this shard's per-world rows to a JSON file")
    ap.add_argument("--merge", type=Path, nargs="*", default=None, help="only build the table from --rows files")
    ap.add_argument("--select", type=Path, nargs="+", default=None,
                    help="compare decoder folders by the decoder rows alone (choose on val)")
    ap.add_argument("--generated", action="store_true",
                    help="with --select: also score each decoder on the pipeline's generated clips")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    cfg = PhotoToSceneConfig()
    worlds = world_names(args.split, args.worlds)
    names = [f"{family} {seed}" for family, seed in worlds]
    if args.select:
        emit(select_decoder(args, worlds, cfg), args.out)
        return
    if args.merge:
        scored = {}
        for file in args.merge:
            scored |= json.loads(file.read_text())
        emit(table([n for n in names if n in scored], [scored[n] for n in names if n in scored], args, cfg), args.out)
        return
    torch.set_num_threads(1)
    index, count = (int(x) for x in args.shard.split("/"))
    models, _ = generation_models(None)
    decoder = load_model(LatentGaussianDecoder, resolve_weights("decoder", args.decoder))
    scored = {}
    for name, (family, seed) in list(zip(names, worlds))[index::count]:
        scored[name] = score_world(family, seed, cfg, models, decoder)
        print(f"{name}: " + ", ".join(f"{r} {scored[name][r]['psnr']:.2f}" for r, _ in ROWS), flush=True)
        if args.rows:
            args.rows.write_text(json.dumps(scored, indent=1))
    emit(table(list(scored), list(scored.values()), args, cfg), args.out)


if __name__ == "__main__":
    main()
