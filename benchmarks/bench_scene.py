"""``genscene scene`` on held-out procedural worlds: both routes, from GT frames and from generated ones.

    python benchmarks/bench_scene.py --split test --worlds 16 [--decoder DIR] [--out FILE]
    # or side by side on two cores, then the table:
    python benchmarks/bench_scene.py --split test --worlds 16 --shard 0/2 --rows r0.json   # and 1/2 --rows r1.json
    python benchmarks/bench_scene.py --split test --worlds 16 --merge r0.json r1.json --out FILE

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
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from genscene.cameras.cameras import Cameras, invert_rigid
from genscene.commands.checkpoints import load_model
from genscene.commands.generate import generation_models
from genscene.commands.reconstruct import resolve_weights
from genscene.eval.image_metrics import psnr, ssim
from genscene.eval.report import emit
from genscene.geometry.gaussians import Gaussians
from genscene.geometry.projection import median_depth
from genscene.models.gaussian_decoder import LatentGaussianDecoder
from genscene.pipelines.decode_gaussians import decode_gaussians
from genscene.pipelines.fit_gaussians import fit_gaussians, render_views
from genscene.pipelines.generate import relative_unit_cameras, render_cache, unit_depth
from genscene.pipelines.photo_to_scene import PhotoToSceneConfig, clip_views, coverage_paths, photo_to_scene
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
TIMED = ("gt_fit", "gt_decoder", "gen_fit", "gen_decoder")
"""Rows whose Gaussians' cost is reported."""


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


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
    """Clips ``[V, T, ...]`` sharing frame 0 -> views ``[1 + V (T - 1), ...]`` (frame 0 once, as the pipeline)."""
    return (torch.cat([frames[0, :1], frames[:, 1:].flatten(0, 1)]), torch.cat([depths[0, :1], depths[:, 1:].flatten(0, 1)]),
            Cameras.cat([cams[0, :1], cams[:, 1:].reshape(-1)]))


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


def score_world(family: str, seed: int, cfg: PhotoToSceneConfig, models, decoder,
                renders: dict[str, torch.Tensor] | None = None) -> dict[str, dict[str, float]]:
    """Every row's scores on one world; ``renders`` (if given) receives each row's held-out renders ``[HELD, 3,
    S, S]`` and the GT frames (``"gt"``)."""
    renders = {} if renders is None else renders
    world = make_world(family, seed)
    compiled = compile_world(world, "cpu")
    clip = render_clip(ClipSpec(family, seed, "spiral", 0), 9, SIZE, supersample=2, distance=0.1, turns=1.0,
                       flow=False, compiled=(world, compiled))
    rgb = clip["rgb"].float().clamp(0, 1)
    target = rgb[1:1 + HELD]
    unit = float(median_depth(clip["depth"][0].float()))
    gt = Cameras(clip["K"].double(), clip["w2c"].double(), SIZE, SIZE)
    rel = relative_unit_cameras(gt, clip["depth"][0].float())
    vae = models[1]
    rows: dict[str, dict[str, float]] = {name: {} for name, _ in ROWS}

    frames, depths, cams = gt_coverage(compiled, clip["K"][0], clip["w2c"][0], unit, cfg)
    held_gt = Cameras(rel.K[1:1 + HELD], rel.w2c[1:1 + HELD], SIZE, SIZE).to(dtype=torch.float32)
    for name, (gaussians, background) in (("gt_fit", fitted(*joined(frames, depths, cams), cfg, rows["gt_fit"])),
                                          ("gt_decoder", decoded(frames, cams, vae, decoder, rows["gt_decoder"]))):
        rows[name] |= scores(render_views(gaussians, held_gt, background), target, renders, name)

    with cost(rows["gen_fit"]):
        made = photo_to_scene(rgb[0], *models, cfg)
    rows["gen_fit"]["seconds"] = made.scene.meta["timings_s"]["fit"]  # the whole pipeline ran under the clock
    rows["gen_fit"].pop("peak_mib")
    K = made.scene.cameras.K[:1].expand(HELD + 1, 3, 3)
    held = Cameras(K.clone(), rel.w2c[:1 + HELD], SIZE, SIZE).to(dtype=torch.float32)
    background = torch.tensor(made.scene.meta["fit"]["background"])
    rows["gen_fit"] |= scores(render_views(made.scene.gaussians, held[1:], background), target, renders, "gen_fit")
    gen_frames, gen_cams = clip_views(made.scene, made.clips)
    for name, split in (("gen_decoder", False), ("gen_decoder_split", True)):
        gaussians, background = decoded(gen_frames, gen_cams, vae, decoder, rows[name], per_trajectory=split)
        rows[name] |= scores(render_views(gaussians, held[1:], background), target, renders, name)

    warped, _ = render_cache(rgb[0], unit_depth(made.scene.depths[0].float()), held.to(dtype=torch.float64))
    rows["warp"] |= scores(warped[1:].clamp(0, 1), target, renders, "warp")
    rows["photo"] |= scores(rgb[:1].expand(HELD, -1, -1, -1), target, renders, "photo")
    renders["gt"] = target
    return rows


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


def world_names(split: str, count: int) -> list[tuple[str, int]]:
    """``(family, seed)`` of the first ``count`` worlds of ``split`` (test from REPORT_START), families in turn."""
    seeds = seed_range(split, count, REPORT_START if split == "test" else 0,
                       purpose="report" if split == "test" else "selection")
    return [(FAMILIES[i % len(FAMILIES)], seed) for i, seed in enumerate(seeds)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=("val", "test"), default="val")
    ap.add_argument("--worlds", type=int, default=2)
    ap.add_argument("--decoder", type=Path, default=None, help="decoder folder (default: the embedded one)")
    ap.add_argument("--shard", default="0/1", help="I/N: score worlds I, I + N, ... (run N processes side by side)")
    ap.add_argument("--rows", type=Path, default=None, help="write this shard's per-world rows to a JSON file")
    ap.add_argument("--merge", type=Path, nargs="*", default=None, help="only build the table from --rows files")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    cfg = PhotoToSceneConfig()
    worlds = world_names(args.split, args.worlds)
    names = [f"{family} {seed}" for family, seed in worlds]
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
