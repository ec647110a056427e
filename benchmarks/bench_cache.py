"""Speed of the geometry-conditioning stages: mesh rasterization, 3D-cache warping (plain and with
Lyra's conservative mask), mesh flow, and flow-warped noise. Prints a markdown table.

    python benchmarks/bench_cache.py --device cpu --out benchmarks/results/cache_cpu.md
    python benchmarks/bench_cache.py --device cuda                                    # on a GPU

Scenes: a UV sphere of F triangles (10k and 50k) 2.5 units ahead of a 60-degree camera (G-buffers + edges via
``render_mesh``); a cache built from that render and warped to a camera 0.3 units to the side;
noise for a 49-frame video at latent 16 x h x w (upsample 4). Each figure is the median of
``--repeats`` runs after one warm-up, in milliseconds.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

from genscene.cameras.cameras import Cameras
from genscene.diffusion.noise_warp import flow_warped_noise
from genscene.render.correspondence import mesh_flow
from genscene.render.mesh import render_mesh
from genscene.render.point_cache import PointCache
from genscene.render.rasterize import rasterize


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _time(fn, device: str, repeats: int) -> float:
    fn()
    _sync(device)
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        runs.append(time.perf_counter() - start)
    return 1e3 * statistics.median(runs)


def _sphere(n_lat: int, device: str):
    """A unit UV sphere of ``4 n_lat^2`` triangles (``2 n_lat`` longitudes), 2.5 units ahead."""
    n_lon = 2 * n_lat
    lat = torch.linspace(0, torch.pi, n_lat + 1, dtype=torch.float64)
    lon = torch.linspace(0, 2 * torch.pi, n_lon + 1, dtype=torch.float64)
    la, lo = torch.meshgrid(lat, lon, indexing="ij")
    v = torch.stack([la.sin() * lo.cos(), la.cos(), la.sin() * lo.sin()], -1).reshape(-1, 3)
    idx = torch.arange(v.shape[0]).reshape(n_lat + 1, n_lon + 1)
    f = torch.cat([torch.stack([idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1]], -1).reshape(-1, 3),
                   torch.stack([idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]], -1).reshape(-1, 3)])
    v = v.to(device) + torch.tensor([0.0, 0.0, 2.5], dtype=torch.float64, device=device)
    f = f.to(device)
    colors = (v - v.min(0).values) / (v.max(0).values - v.min(0).values)
    return v, f, colors


def _cameras(size: int, device: str) -> Cameras:
    base = Cameras.from_fov(60, size, size)
    w2c = torch.eye(4, dtype=torch.float64).repeat(2, 1, 1)
    w2c[1, 0, 3] = -0.3
    return Cameras(base.K.expand(2, 3, 3), w2c, size, size).to(device=device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    dev = args.device
    if args.threads:
        torch.set_num_threads(args.threads)

    rows = []
    for n_lat, size in ((50, 64), (50, 128), (112, 128)):
        v, f, c = _sphere(n_lat, dev)
        cams = _cameras(size, dev)
        tag = f"{len(f) // 1000}k tris, {size}px"
        rows.append(("rasterize (1 camera)", tag, _time(lambda: rasterize(v, f, cams[:1]), dev, args.repeats)))
        rows.append(("render_mesh G-buffers + edges", tag,
                     _time(lambda: render_mesh(v, f, cams[:1], vertex_colors=c), dev, args.repeats)))
        rows.append(("mesh_flow A->B", tag, _time(lambda: mesh_flow(v, f, cams[:1], cams[1:]), dev, args.repeats)))
    for size in (64, 128):
        v, f, c = _sphere(50, dev)
        cams = _cameras(size, dev)
        g = render_mesh(v, f, cams[:1], vertex_colors=c)
        cache = PointCache.from_depth(g["rgb"], g["depth"], cams[:1])
        tag = f"1 view, {size}px"
        rows.append(("cache build", tag,
                     _time(lambda: PointCache.from_depth(g["rgb"], g["depth"], cams[:1]), dev, args.repeats)))
        rows.append(("cache render (plain)", tag, _time(lambda: cache.render(cams[1:]), dev, args.repeats)))
        rows.append(("cache render (conservative)", tag,
                     _time(lambda: cache.render(cams[1:], conservative=True), dev, args.repeats)))
    for h, w in ((30, 45), (60, 90)):
        flows = torch.full((48, 2, 8 * h, 8 * w), 0.7, device=dev)
        gen = torch.Generator(device=dev).manual_seed(0)
        rows.append(("flow_warped_noise 49 frames", f"16x13x{h}x{w}",
                     _time(lambda: flow_warped_noise(flows, (16, 13, h, w), gen), dev, args.repeats)))

    where = torch.cuda.get_device_name() if dev.startswith("cuda") else platform.processor() or "cpu"
    lines = [f"# bench_cache on {dev} ({where}), torch {torch.__version__}, "
             f"{torch.get_num_threads()} threads", "",
             "| stage | size | ms |", "|---|---|---:|"]
    lines += [f"| {name} | {tag} | {ms:.1f} |" for name, tag, ms in rows]
    table = "\n".join(lines)
    print(table)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(args.out.suffix + ".tmp")
        tmp.write_text(table + "\n")
        tmp.replace(args.out)


if __name__ == "__main__":
    main()
