"""Forward time of the latent Gaussian decoder against the number of latent frames: hybrid vs Transformer-only.

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/bench_decoder.py --out benchmarks/results/decoder_cpu.md

Lyra's ablation: one Transformer per seven Mamba-2 layers (``tmmmmmmm``) against eight Transformer layers
(``tttttttt``), same width. Random weights and inputs (speed only): ``--views`` trajectories of ``--latent``^2
latent cells (2x2 patches -> tokens), one Gaussian per 8x8 pixels so the backbone, not the head, is timed.
The Mamba-2 mixer runs its PyTorch path here (no ``mamba_ssm`` CUDA kernels on a CPU).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

from genscene.eval.report import emit
from genscene.models.gaussian_decoder import GaussianDecoderConfig, LatentGaussianDecoder

PATTERNS = {"hybrid": "tmmmmmmm", "transformer": "tttttttt"}


@torch.no_grad()
def time_forward(model: LatentGaussianDecoder, latents: torch.Tensor, plucker: torch.Tensor, repeats: int) -> float:
    """Median seconds of ``repeats`` forwards after one warm-up."""
    model(latents, plucker)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model(latents, plucker)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, nargs="+", default=[1, 4, 16, 32, 64], help="latent frames L")
    ap.add_argument("--views", type=int, default=2, help="trajectories V")
    ap.add_argument("--latent", type=int, default=8, help="latent grid side h = w")
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.manual_seed(0)
    models = {name: LatentGaussianDecoder(GaussianDecoderConfig(hidden=args.hidden, blocks=blocks,
                                                                pixels_per_gaussian=8)).eval()
              for name, blocks in PATTERNS.items()}
    params = {name: sum(p.numel() for p in m.parameters()) for name, m in models.items()}
    rows = []
    for frames in args.frames:
        c, v, h = 16, args.views, args.latent
        latents, plucker = torch.randn(1, v, c, frames, h, h), torch.randn(1, v, 2 * c, frames, h, h)
        tokens = v * frames * (h // 2) ** 2
        t = {name: time_forward(m, latents, plucker, args.repeats) for name, m in models.items()}
        rows.append(f"| {frames} | {tokens} | {1000 * t['hybrid']:.1f} | {1000 * t['transformer']:.1f} "
                    f"| {t['transformer'] / t['hybrid']:.2f} |")
        print(rows[-1], flush=True)
    command = (f"OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/bench_decoder.py --frames "
               f"{' '.join(map(str, args.frames))} --views {args.views} --latent {args.latent} "
               f"--hidden {args.hidden} --repeats {args.repeats}")
    setting = (f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
               f"{torch.get_num_threads()} thread(s); random weights, batch 1, {args.views} trajectories of "
               f"{args.latent}x{args.latent} latent cells, width {args.hidden}, 8 blocks; hybrid "
               f"`{PATTERNS['hybrid']}` ({params['hybrid'] / 1e6:.2f}M params) vs Transformer-only "
               f"`{PATTERNS['transformer']}` ({params['transformer'] / 1e6:.2f}M). Median of {args.repeats} "
               f"forwards (no grad) after one warm-up.")
    text = "\n".join(["# Latent Gaussian decoder: forward time vs latent frames (CPU)", "", f"`{command}`", "",
                      setting, "",
                      "| latent frames L | tokens | hybrid ms | Transformer-only ms | Transformer / hybrid |",
                      "|---|---|---|---|---|", *rows, ""])
    emit(text, args.out)


if __name__ == "__main__":
    main()
