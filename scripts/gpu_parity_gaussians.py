"""Parity of the torch reference rasterizer and gsplat on a CUDA GPU: forward and gradients.

Both backends render the same random scenes through ``render_gaussians`` in float32 on the GPU; the
torch reference in float64 serves as ground truth to show which side the float32 errors come from.
Prints a markdown table (and writes it to ``--out`` if given).

    python scripts/gpu_parity_gaussians.py --out parity.md
    python scripts/gpu_parity_gaussians.py --self-test   # no GPU: torch vs torch on the CPU
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import torch

from genscene.cameras.cameras import Cameras, intrinsics_matrix, rigid_matrix
from genscene.geometry.gaussians import Gaussians
from genscene.render.gaussians import render_gaussians

FIELDS = ("means", "quats", "scales", "opacities", "colors")


def random_scene(n: int, size: int, seed: int, device: str) -> tuple[Gaussians, Cameras]:
    """n Gaussians in a box 2-5 units ahead, some off-screen or behind the camera; two cameras."""
    g = torch.Generator().manual_seed(seed)
    u = lambda *s: torch.rand(*s, generator=g, dtype=torch.float64)  # noqa: E731
    means = torch.stack([(u(n) - 0.5) * 4.0, (u(n) - 0.5) * 3.0, u(n) * 4.5 - 0.5], -1) + torch.tensor([0, 0, 2.0])
    gauss = Gaussians(
        means=means,
        quats=torch.nn.functional.normalize(torch.randn(n, 4, generator=g, dtype=torch.float64), dim=-1),
        scales=torch.exp(u(n, 3) * math.log(8.0)) * 0.3 / n ** (1 / 3),
        opacities=u(n) * 0.95 + 0.04,
        colors=u(n, 3),
    )
    angle = 0.25
    R = torch.tensor([[math.cos(angle), 0, math.sin(angle)], [0, 1, 0], [-math.sin(angle), 0, math.cos(angle)]],
                     dtype=torch.float64)
    w2c = torch.stack([torch.eye(4, dtype=torch.float64), rigid_matrix(R, torch.tensor([-0.4, 0.1, 0.2]))])
    h = size * 3 // 4
    K = intrinsics_matrix(0.9 * size, 0.9 * size, size / 2 + 1.3, h / 2 - 0.7).expand(2, 3, 3)
    return gauss.to(device=device), Cameras(K=K, w2c=w2c, width=size, height=h)


def render_with_grads(gauss: Gaussians, cams: Cameras, backend: str, dtype: torch.dtype, weights: dict):
    leaves = {k: getattr(gauss, k).detach().to(dtype).requires_grad_(True) for k in FIELDS}
    out = render_gaussians(Gaussians(**leaves), cams, background=(0.1, 0.2, 0.3), backend=backend)
    solid = (out["alpha"] > 0.5).to(dtype)  # expected depth is ill-conditioned where alpha ~ 0
    loss = ((out["rgb"] * weights["rgb"].to(dtype)).sum() + (out["alpha"] * weights["alpha"].to(dtype)).sum()
            + (out["depth"] * solid * weights["depth"].to(dtype)).sum())
    loss.backward()
    return {k: v.detach().double() for k, v in out.items()}, {k: leaves[k].grad.double() for k in FIELDS}


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a - b).norm() / b.norm().clamp_min(1e-30)).item()


def cli_check(n: int = 20000) -> None:
    """``genscene render`` of one random .ply on the GPU (gsplat, torch) and the CPU: timings and agreement."""
    import subprocess
    import sys
    import tempfile

    from genscene.io.ply import write_gaussians_ply
    from genscene.io.video import read_video

    gauss, _ = random_scene(n, 64, seed=7, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        ply = Path(tmp) / "scene.ply"
        write_gaussians_ply(ply, gauss)
        videos = {}
        for backend, device in (("gsplat", "cuda"), ("torch", "cuda"), ("torch", "cpu")):
            video = Path(tmp) / f"{backend}_{device}.mp4"
            cmd = [sys.executable, "-m", "genscene.cli", "render", str(ply), "-t", "lyra_clockwise", "-n", "24",
                   "--width", "320", "--height", "240", "--backend", backend, "--device", device, "-o", str(video)]
            start = time.time()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            print(f"cli {backend}/{device}: rc {proc.returncode}, {time.time() - start:.1f} s: "
                  f"{proc.stdout.strip() or proc.stderr.strip()[-500:]}", flush=True)
            if proc.returncode == 0:
                videos[(backend, device)] = read_video(video)[0]
        ref = videos.get(("gsplat", "cuda"))
        for key, frames in videos.items():
            if ref is not None and key != ("gsplat", "cuda"):
                print(f"cli video {key} vs gsplat/cuda: mean abs {(frames - ref).abs().mean().item():.2e}, "
                      f"max abs {(frames - ref).abs().max().item():.2e} (8-bit H.264)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--counts", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--self-test", action="store_true", help="torch vs torch on the CPU (checks the script)")
    ap.add_argument("--cli", action="store_true", help="also render a .ply through `genscene render` per backend")
    args = ap.parse_args()
    if args.cli:
        cli_check()
    device, other = ("cpu", "torch") if args.self_test else ("cuda", "gsplat")
    if not args.self_test:
        import gsplat

        print(f"gsplat {gsplat.__version__}, torch {torch.__version__}, {torch.cuda.get_device_name()}", flush=True)
    header = (f"| N | px | seed | max abs rgb | rgb px > 1e-3 | max abs depth* | max abs alpha "
              f"| grad rel err ({', '.join(FIELDS)}) "
              f"| {other} vs f64: rgb / grads (means) | torch f32 vs f64: rgb / grads (means) |")
    lines = [header, "|" + "---|" * 10]
    for n in args.counts:
        for size in args.sizes:
            for seed in range(args.seeds):
                gauss, cams = random_scene(n, size, seed, device)
                gen = torch.Generator().manual_seed(100 + seed)
                shape = (2, cams.height, cams.width)
                weights = {k: torch.rand(s, generator=gen, dtype=torch.float64).to(device)
                           for k, s in (("rgb", (2, 3) + shape[1:]), ("alpha", shape), ("depth", shape))}
                t0 = time.time()
                ref_out, ref_grad = render_with_grads(gauss, cams, "torch", torch.float32, weights)
                oth_out, oth_grad = render_with_grads(gauss, cams, other, torch.float32, weights)
                f64_out, f64_grad = render_with_grads(gauss, cams, "torch", torch.float64, weights)
                solid = (f64_out["alpha"] > 0.5) & (ref_out["alpha"] > 0.5) & (oth_out["alpha"] > 0.5)
                err = {k: (ref_out[k] - oth_out[k]).abs().max().item() for k in ("rgb", "alpha")}
                err["depth"] = (ref_out["depth"] - oth_out["depth"]).abs()[solid].max().item() if solid.any() else 0.0
                grads = " / ".join(f"{rel(ref_grad[k], oth_grad[k]):.1e}" for k in FIELDS)

                def vs64(o, g):
                    rgb = (o["rgb"] - f64_out["rgb"]).abs().max().item()
                    return f"{rgb:.1e} / {rel(g['means'], f64_grad['means']):.1e}"

                off = ((ref_out["rgb"] - oth_out["rgb"]).abs().amax(1) > 1e-3).double().mean().item()
                lines.append(f"| {n} | {cams.width}x{cams.height} | {seed} | {err['rgb']:.1e} | {off:.2%} "
                             f"| {err['depth']:.1e} "
                             f"| {err['alpha']:.1e} | {grads} | {vs64(oth_out, oth_grad)} "
                             f"| {vs64(ref_out, ref_grad)} |")
                print(lines[-1], f"({time.time() - t0:.1f} s)", flush=True)
    table = "\n".join(lines)
    note = ("\n\n*depth compared where alpha > 0.5 in all renders. Grad rel err = ||g_torch - g_other|| / ||g_other|| "
            "for the loss sum(w_rgb rgb) + sum(w_a alpha) + sum(w_d depth [alpha > 0.5]) with fixed random w.\n")
    print("\n" + table + note)
    if args.out is not None:
        args.out.write_text(table + note)


if __name__ == "__main__":
    main()
