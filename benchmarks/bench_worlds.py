"""Throughput of the procedural-world GT renderer: frames per second per family and resolution.

    python benchmarks/bench_worlds.py --device cpu --sizes 128 --out benchmarks/results/worlds_cpu.md
    python benchmarks/bench_worlds.py --device cuda --sizes 128 256              # on a GPU

For each family: one world (seed 0, static) and one 17-frame orbit clip (a random path where no orbit is clear). ``render`` = RGB + depth +
normals + instance/face ids + edges (primary rays + shadow rays for the sun and lamps), ``+flow`` adds
forward flow between consecutive frames. ``batch`` clips of the same world are rendered in one call
(the way a trainer would batch). Figures are the median of ``--repeats`` timed runs after one
warm-up; world building and path sampling are timed separately (once per clip on the CPU).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import torch

from genscene.cameras.cameras import Cameras
from genscene.eval.report import emit
from genscene.worlds import FAMILIES, make_world
from genscene.worlds.camera_paths import PathError, sample_camera_path
from genscene.worlds.compiled import compile_world
from genscene.worlds.render import optical_flow, render


def _photos_available() -> bool:
    """Photo textures need scikit-image's bundled images. Where it is missing (a bare GPU box),
    stand in seeded noise textures: texture content does not change the renderer's speed."""
    try:
        import skimage.data  # noqa: F401
        return True
    except ImportError:
        import numpy as np

        from genscene.worlds import materials

        def noise_photo(spec, size):
            rng = np.random.default_rng(abs(hash(spec.photo)) % 2**31)
            return np.repeat(materials.fbm(rng, size, 8)[..., None], 3, -1)

        materials._photo = noise_photo
        return False


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _time(fn, device, repeats: int) -> float:
    fn()
    _sync(device)
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        _sync(device)
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def bench(device: torch.device, sizes: list[int], frames: int, batch: int, repeats: int, families) -> list[dict]:
    rows = []
    for family in families:
        t = time.perf_counter()
        world = make_world(family, 0)
        build_s = time.perf_counter() - t
        cw = compile_world(world, device)
        t = time.perf_counter()
        try:
            path = sample_camera_path(world, "orbit", frames, 32, seed=0)
        except PathError:  # no clear orbit from any start tried: a random smooth path instead
            path = sample_camera_path(world, "random", frames, 32, seed=0)
        path_s = time.perf_counter() - t
        for size in sizes:
            cams = Cameras(path.cameras.K, path.cameras.w2c, 32, 32).resize(size, size)
            cams = Cameras.cat([cams] * batch).to(device=device)
            times = path.times.repeat(batch).to(device)

            def run_render():
                return render(cw, cams, times)

            def run_flow():
                out = render(cw, cams, times)
                src = {"points_obj": out["points_obj"][:-1], "object": out["object"][:-1]}
                return optical_flow(cw, src, cams[1:], times[1:], out["depth"][1:])

            n = frames * batch
            t_render = _time(run_render, device, repeats)
            t_flow = _time(run_flow, device, repeats)
            peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
            rows.append({"family": family, "objects": len(world.objects), "size": size, "frames": n,
                         "render_fps": n / t_render, "flow_fps": n / t_flow, "build_ms": 1e3 * build_s,
                         "path_ms": 1e3 * path_s, "peak_gib": peak})
            print(f"{family:10s} {size:4d}px  render {n / t_render:8.1f} fps  +flow {n / t_flow:8.1f} fps", flush=True)
    return rows


def table(rows: list[dict], device: torch.device, photos: bool = True) -> str:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.processor() or 'cpu'} " \
        f"({torch.get_num_threads()} threads)"
    lines = [f"# genscene.worlds renderer throughput on {name}, torch {torch.__version__}", "",
             *([] if photos else ["(scikit-image missing here: photo textures replaced by noise; speed unaffected)", ""]),
             "| family | objects | px | frames/call | render fps | render+flow fps | world build ms | path ms | peak GiB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['family']} | {r['objects']} | {r['size']} | {r['frames']} | {r['render_fps']:.1f} | "
                     f"{r['flow_fps']:.1f} | {r['build_ms']:.0f} | {r['path_ms']:.0f} | {r['peak_gib']:.2f} |")
    return "\n".join(lines) + "\n"


def profile(device: torch.device, family: str, frames: int) -> None:
    """Top operators of one 128 px render call (where the time goes)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    world = make_world(family, 0)
    cw = compile_world(world, device)
    path = sample_camera_path(world, "random", frames, 32, seed=0)
    cams = Cameras(path.cameras.K, path.cameras.w2c, 32, 32).resize(128, 128).to(device=device)
    times = path.times.to(device)
    render(cw, cams, times)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with torch_profile(activities=activities) as prof:
        render(cw, cams, times)
        _sync(device)
    key = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=20))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--frames", type=int, default=17)
    ap.add_argument("--batch", type=int, default=1, help="clips per render call")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--families", nargs="+", default=list(FAMILIES))
    ap.add_argument("--out", type=Path, default=None, help="also write the table (markdown) here")
    ap.add_argument("--profile", default=None, help="print the torch profiler's top ops for this family, 128 px")
    args = ap.parse_args()
    device = torch.device(args.device)
    photos = _photos_available()
    if args.profile:
        profile(device, args.profile, args.frames)
        return
    rows = bench(device, args.sizes, args.frames, args.batch, args.repeats, args.families)
    emit(table(rows, device, photos), args.out)


if __name__ == "__main__":
    main()
