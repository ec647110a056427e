"""VGGT-1B (random weights, published layout): time and peak memory of one forward pass.

    python benchmarks/bench_vggt.py --views 8 [--size 518] [--device cpu] [--threads 1] [--json out.json]

Builds :class:`genscene.models.vggt.VGGT` at its default (published) configuration in float32 with
PyTorch's default initialisation (no checkpoint needed: the cost does not depend on the values),
then times ``model(images)`` on ``--views`` random ``--size x --size`` images (the square is the
largest input VGGT's preprocessing makes at 518), with ``torch.inference_mode``. Reported: seconds
to build the model, seconds of the forward pass (after one warm-up on CUDA; none on the CPU: a
pass takes minutes), the process's peak resident memory (``ru_maxrss``: weights included), the
resident memory after building (about the weights) and, on CUDA, ``max_memory_allocated``. The
forward pass on CUDA runs the aggregator in bfloat16 autocast, as VGGT's demo; the CPU in float32.
Run one size per process: the peak is the process's.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time

import torch

from genscene.models.vggt import VGGT, VGGTConfig


def rss_gb() -> float:
    """Resident memory now, GB (from /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--views", type=int, default=8)
    ap.add_argument("--size", type=int, default=518)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    t0 = time.perf_counter()
    torch.manual_seed(0)
    model = VGGT(VGGTConfig()).to(dev).eval()
    build_s = time.perf_counter() - t0
    after_build = rss_gb()
    images = torch.rand(1, args.views, 3, args.size, args.size, device=dev)
    with torch.inference_mode():
        if dev.type == "cuda":
            model(images)
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        t0 = time.perf_counter()
        out = model(images)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        forward_s = time.perf_counter() - t0
    row = {"views": args.views, "size": args.size, "device": str(dev),
           "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "cpu",
           "threads": args.threads, "params": sum(p.numel() for p in model.parameters()),
           "build_s": round(build_s, 1), "forward_s": round(forward_s, 2),
           "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
           "rss_after_build_gb": round(after_build, 2),
           "cuda_peak_gb": round(torch.cuda.max_memory_allocated(dev) / 1e9, 2) if dev.type == "cuda" else None,
           "finite": bool(torch.isfinite(out["depth"]).all())}
    print(json.dumps(row))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(row, f)


if __name__ == "__main__":
    main()
