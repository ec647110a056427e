"""The committed tiny models on held-out test worlds (and real photos), beside simple baselines.

    python benchmarks/bench_models.py --worlds 16 --out benchmarks/results/models.md

VAE: reconstruction PSNR of 17-frame clips and of single frames (the causal first frame) at the
training resolution, with the training run's own evaluation code, beside a "same numbers" bicubic
baseline (each frame resized to hold as many values as its latent and back). Real photos from
``../shared/data`` go through the first-frame path when the folder is present. Geometry: AUC@30,
RRA@30, RTA@30, depth delta<1.25 (all valid pixels and the more confident half) and Chamfer after
Umeyama, at 1 to 16 views of the same clips. CPU latency of one call each.

This is a final report: it reads the test split from ``REPORT_START`` (``genscene.worlds.seeds``),
worlds that no run evaluated on and no checkpoint or preset was chosen on.
"""

from __future__ import annotations

import argparse
import math
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from genscene.eval.geometry_eval import evaluate_geometry
from genscene.eval.image_metrics import psnr
from genscene.eval.real_data import real_photos
from genscene.eval.report import emit
from genscene.eval.vae_eval import evaluate_vae
from genscene.models.geometry import GeometryNet
from genscene.models.vae import VideoVAE
from genscene.train.stages.geometry import GeometryStage
from genscene.train.stages.vae import VAEStage
from genscene.weights import found_checkpoints
from genscene.worlds.seeds import REPORT_START, report_seeds


def same_numbers_baseline(frames: Tensor, values: int) -> Tensor:
    """Each frame ``[T, 3, H, W]`` bicubically resized to ``values`` numbers (3 channels) and back."""
    h, w = frames.shape[-2:]
    side = max(1, round(math.sqrt(values / 3)))
    small = F.interpolate(frames, size=(side, side), mode="bicubic", antialias=True, align_corners=False)
    return F.interpolate(small, size=(h, w), mode="bicubic", align_corners=False).clamp(0, 1)


def vae_baseline(clips: list[dict], size: int, vae: VideoVAE) -> dict[str, float]:
    """PSNR of the bicubic baseline at the VAE's rate: a first frame gets one latent frame of numbers,
    each later frame a quarter of one."""
    latent_values = vae.vae.config.z_dim * (size // vae.spatial_factor) ** 2
    video, first = [], []
    for item in clips:
        rgb = item["rgb"]  # [T, 3, H, W]
        rest = same_numbers_baseline(rgb[1:], latent_values // vae.temporal_factor)
        recon = torch.cat([same_numbers_baseline(rgb[:1], latent_values), rest])
        video.append(psnr(recon, rgb).mean())
        first.append(psnr(recon[:1], rgb[:1]).mean())
    metrics = {"psnr_video": float(torch.stack(video).mean()), "psnr_first_frame": float(torch.stack(first).mean())}
    photos = real_photos(size)
    if photos is not None:
        metrics["psnr_real_photos"] = float(psnr(same_numbers_baseline(photos, latent_values), photos).mean())
    return metrics


VIEW_COUNTS = (1, 2, 4, 8, 16)
"""Views per sample in the geometry table (the clips hold 17 frames)."""


def timed(fn, repeats: int = 3) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t) / repeats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=16, help="test worlds from REPORT_START, families in turn")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, default=None, help="also write the tables here (markdown)")
    args = ap.parse_args()
    device = torch.device(args.device)
    found = found_checkpoints()
    machine = platform.processor() or platform.machine()
    seeds = report_seeds(args.worlds)
    lines = [f"# Committed tiny models on {args.worlds} held-out test worlds ({machine}, "
             f"{torch.get_num_threads()} threads, torch {torch.__version__})", "",
             f"`python benchmarks/bench_models.py --worlds {args.worlds}`", "",
             f"World seeds {seeds[0]} to {seeds[-1]} (test split from offset {REPORT_START}): no run evaluated "
             "on them and nothing was chosen on them.", ""]
    with torch.no_grad():
        vstage = VAEStage()
        vcfg = vstage.config("tiny")
        vclips = list(vstage.clips(vcfg, device).eval_items(split="test", count=args.worlds))
        vae = VideoVAE.from_pretrained(found["vae"]).to(device).eval()
        ours = evaluate_vae(vae, vclips, vcfg.data.size)
        base = vae_baseline(vclips, vcfg.data.size, vae)
        clip = vclips[0]["rgb"][None]
        t_vae = timed(lambda: vae.decode(vae.encode(clip)))
        real, real_base = (f"{m['psnr_real_photos']:.2f}" if "psnr_real_photos" in m else "n/a (no ../shared/data)"
                           for m in (ours, base))
        lines += ["## Video VAE (128 px, 17-frame clips, latents [16, 5, 16, 16])", "",
                  "| method | PSNR video (dB) | PSNR first frame (dB) | PSNR real photos, first-frame path (dB) |",
                  "|---|---|---|---|",
                  f"| genscene VAE (tiny, {sum(p.numel() for p in vae.parameters()) / 1e6:.1f}M params) | "
                  f"{ours['psnr_video']:.2f} | {ours['psnr_first_frame']:.2f} | {real} |",
                  f"| bicubic at the same number of values | {base['psnr_video']:.2f} | {base['psnr_first_frame']:.2f} | "
                  f"{real_base} |",
                  "", "PSNR by latent frame of the 17-frame clips (frame 0 alone, then frames 1-4, 5-8, ...): "
                  + ", ".join(f"{ours[k]:.2f}" for k in sorted(ours) if k.startswith("psnr_latent_frame")) + " dB",
                  "", f"CPU encode+decode of one 17x128x128 clip: {t_vae:.2f} s", ""]

        gstage = GeometryStage()
        gcfg = gstage.config("tiny")
        net = GeometryNet.from_pretrained(found["geometry"]).to(device).eval()
        # rendered once, scored at every view count
        clips = list(gstage.clips(gcfg, device).eval_items(split="test", count=args.worlds))
        eval_views = gcfg.data.eval_views
        lines += [f"## Geometry network (128 px; trained on 2-8 views, evaluated on {eval_views})", "",
                  "| views | AUC@30 | RRA@30 | RTA@30 | depth delta<1.25 | delta, confident half | "
                  "Chamfer (normalised scale, after Umeyama) | CPU forward s |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for n in VIEW_COUNTS:
            geo = evaluate_geometry(net, clips, n)
            views = torch.rand(1, n, 3, 128, 128, device=device)
            pose = (f"{geo['auc@30']:.1f} | {geo['rra@30']:.1f} | {geo['rta@30']:.1f}" if n > 1 else "n/a | n/a | n/a")
            bold = "**" if n == eval_views else ""
            lines.append(f"| {bold}{n}{bold} | {pose} | {geo['depth_delta1.25']:.3f} | "
                         f"{geo['depth_delta1.25_conf50']:.3f} | {geo['chamfer']:.3f} | {timed(lambda: net(views)):.2f} |")
        lines += ["", "delta, confident half: depth delta<1.25 over the half of each sample's valid pixels with the "
                  "higher predicted confidence (above the plain column when the confidence ranks errors usefully). "
                  f"{len(clips)} clips of {clips[0]['rgb'].shape[0]} frames: views are evenly spaced frames.", ""]
    emit("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
