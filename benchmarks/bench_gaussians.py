"""Gaussian splatting speed: ms per frame of ``render_gaussians`` for each backend, scene size and resolution.

    python benchmarks/bench_gaussians.py --device cpu --backends torch --out benchmarks/results/gaussians_cpu.md
    python benchmarks/bench_gaussians.py --device cuda --backends gsplat torch     # on a GPU machine

The scene: N Gaussians in a box 2-5 units ahead of one camera (focal 0.9 x width), scales shrinking as
N^(-1/3) so the covered area stays similar, opacities in [0.04, 0.99]. Forward is timed under
``torch.no_grad``; "fwd+bwd" renders with gradients on all parameters and back-propagates a
weighted sum of rgb, depth and alpha. Each figure is the median of ``--repeats`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time
from pathlib import Path

import torch

from genscene.cameras.cameras import Cameras, intrinsics_matrix
from genscene.geometry.gaussians import Gaussians
from genscene.render.gaussians import render_gaussians

FIELDS = ("means", "quats", "scales", "opacities", "colors")


def scene(n: int, size: int, seed: int = 0, device: str = "cpu") -> tuple[Gaussians, Cameras]:
    g = torch.Generator().manual_seed(seed)
    u = lambda *s: torch.rand(*s, generator=g)  # noqa: E731
    means = torch.stack([(u(n) - 0.5) * 3.0, (u(n) - 0.5) * 3.0, u(n) * 3.0 + 2.0], -1)
    gauss = Gaussians(
        means=means,
        quats=torch.nn.functional.normalize(torch.randn(n, 4, generator=g), dim=-1),
        scales=torch.exp(u(n, 3) * math.log(8.0)) * 0.25 / n ** (1 / 3),
        opacities=u(n) * 0.95 + 0.04,
        colors=u(n, 3),
    )
    K = intrinsics_matrix(0.9 * size, 0.9 * size, size / 2, size / 2, dtype=torch.float32)
    return gauss.to(device=device), Cameras(K=K, w2c=torch.eye(4), width=size, height=size).reshape(1)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_ms(fn, device: str, repeats: int) -> float:
    fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def bench_one(backend: str, device: str, n: int, size: int, repeats: int, backward: bool) -> dict:
    gauss, cam = scene(n, size, device=device)

    def forward():
        with torch.no_grad():
            return render_gaussians(gauss, cam, backend=backend)

    def forward_backward():
        leaves = Gaussians(**{k: getattr(gauss, k).detach().requires_grad_(True) for k in FIELDS})
        out = render_gaussians(leaves, cam, backend=backend)
        (out["rgb"].sum() + out["alpha"].sum() + (out["depth"] * out["alpha"]).sum()).backward()

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    row = {"fwd": time_ms(forward, device, repeats), "cover": forward()["alpha"].mean().item()}
    row["fwd_bwd"] = time_ms(forward_backward, device, repeats) if backward else float("nan")
    row["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else float("nan")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--backends", nargs="+", default=["torch"], choices=["torch", "gsplat"])
    ap.add_argument("--counts", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-backward", action="store_true")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--out", type=Path, default=None, help="also write the table (markdown) here")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    where = torch.cuda.get_device_name() if args.device == "cuda" else f"{platform.processor() or 'CPU'}, " \
        f"{torch.get_num_threads()} threads"
    lines = [f"Gaussian splatting, ms/frame (median of {args.repeats}), device: {where}, torch {torch.__version__}",
             "", "| backend | N | px | mean alpha | forward ms | fwd+bwd ms | peak CUDA MiB |",
             "|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for backend in args.backends:
        for n in args.counts:
            for size in args.sizes:
                r = bench_one(backend, args.device, n, size, args.repeats, not args.no_backward)
                lines.append(f"| {backend} | {n} | {size} | {r['cover']:.2f} | {r['fwd']:.1f} | {r['fwd_bwd']:.1f} "
                             f"| {r['peak_mib']:.0f} |")
                print(lines[-1], flush=True)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
