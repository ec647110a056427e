"""``genscene reconstruct`` pose backends side by side: the network alone, COLMAP alone, and ``--poses auto``.

    python benchmarks/bench_reconstruct.py                         # trained weights, 4 held-out worlds
    python benchmarks/bench_reconstruct.py --weights DIR --worlds 8 --out benchmarks/results/reconstruct.md

Per dataset and method: views given, views registered, AUC@30 / RRA@30 / RTA@30 against GT cameras
over all view pairs (a pair with an unregistered view counts as 180 degrees: a failure), Chamfer
(accuracy / completeness) after Umeyama on correspondences where GT geometry exists (held-out
worlds only), and wall time on this machine. Details of each metric: ``genscene.eval.reconstruct_protocol``;
of the baseline: ``genscene.pipelines.colmap_poses``; of the datasets: ``genscene.data.multiview`` and
``genscene.data.world_cases``.

Each method runs at the resolution it is meant for. ``net``: the geometry network on every view
resized to long side ``--size`` (its training size by default); its point cloud for Chamfer is its
depth unprojected with its cameras. ``colmap``: pycolmap on the full-resolution views
(``--colmap-size 0``; a positive value resizes, never upsamples), one SIMPLE_RADIAL camera with
COLMAP's default focal guess, sparse points; an unregistered view fails all its pairs. ``auto``: what
``genscene reconstruct --poses auto`` writes (:func:`genscene.pipelines.poses.reconstruct_posed`),
given the same COLMAP run and network prediction as the two rows above (its time is their sum plus
the combination); every view has a camera (COLMAP's or the network's placed in COLMAP's frame).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from genscene.data.multiview import REAL_DATASETS, MultiViewCase
from genscene.data.world_cases import held_out_worlds
from genscene.errors import InputError
from genscene.eval.reconstruct_protocol import (
    GtFrame,
    chamfer_pixel_aligned,
    chamfer_sparse,
    pose_metrics_with_failures,
)
from genscene.geometry.projection import unproject_depth
from genscene.pipelines.colmap_poses import ColmapConfig, run_colmap

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@dataclass
class Row:
    """One (dataset, method) result."""

    dataset: str
    method: str
    views: int
    registered: int = 0
    pose: dict[str, float] = field(default_factory=dict)
    geometry: dict[str, float] | None = None
    geometry_failed: bool = False
    """GT geometry exists but the method gave no usable points (shown as "failed", not "n/a")."""
    runtime_s: float = float("nan")
    note: str = ""


@dataclass
class GtCloud:
    """Normalised GT geometry of one case (see :class:`genscene.eval.reconstruct_protocol.GtFrame`)."""

    frame: GtFrame
    cloud: Tensor  # [M, 3] valid GT points at the network size, normalised


def resize_long_side(images: list[Tensor], long_side: int) -> list[Tensor]:
    """Views ``[3, H, W]`` resized (antialiased) so the long side is ``min(long_side, native)``."""
    h, w = images[0].shape[-2:]
    scale = min(1.0, long_side / max(h, w))
    if scale == 1.0:
        return list(images)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return [F.interpolate(im[None], size=size, mode="bilinear", antialias=True, align_corners=False)[0].clamp(0, 1)
            for im in images]


def run_net(case: MultiViewCase, model, size: int, gt: GtCloud | None, max_points: int):
    """The network alone; returns its row, its input views and its prediction (reused by ``auto``)."""
    from genscene.pipelines.reconstruct import ReconstructConfig, predict, prepare_views, reconstruct

    row = Row(case.name, "net", len(case.images))
    views = prepare_views(case.images, size, model.config.patch_size)  # [S, 3, H, W]
    t0 = time.perf_counter()  # like COLMAP's time: from views in memory at the method's input size
    net = predict(views, model)
    scene = reconstruct(views, model, ReconstructConfig(size=size), net)
    row.runtime_s = time.perf_counter() - t0
    row.registered = len(case.images)
    row.pose = pose_metrics_with_failures(scene.cameras, torch.ones(len(case.images), dtype=torch.bool), case.gt)
    h, w = views.shape[-2:]
    row.note = f"{w}x{h}"
    if gt is not None:
        row.geometry = dense_chamfer(case, scene, gt, max_points)
    return row, views, net


def dense_chamfer(case: MultiViewCase, scene, gt: GtCloud, max_points: int) -> dict[str, float]:
    h, w = scene.frames.shape[-2:]
    gt_points, mask = case.gt_geometry(h, w)
    pred_points = unproject_depth(scene.depths.double(), scene.cameras)  # [S, H, W, 3]
    mask = mask & (scene.depths > 0)
    return chamfer_pixel_aligned(pred_points, gt.frame.apply(gt_points), mask, max_points)


def run_pycolmap(case: MultiViewCase, colmap_size: int, gt: GtCloud | None, max_points: int, seed: int):
    """COLMAP alone; returns its row, its input images and its result (reused by ``auto``)."""
    row = Row(case.name, "colmap", len(case.images))
    images = resize_long_side(case.images, colmap_size) if colmap_size > 0 else list(case.images)
    h, w = images[0].shape[-2:]
    result = run_colmap(images, ColmapConfig(seed=seed))
    row.runtime_s = result.runtime_s
    row.registered = int(result.registered.sum())
    row.pose = pose_metrics_with_failures(result.cameras, result.registered, case.gt)
    row.note = f"{w}x{h}, {result.num_models} model(s), {len(result.points)} points"
    if gt is not None and len(result.points):
        gt_points, mask = case.gt_geometry(h, w)
        row.geometry = chamfer_sparse(result.points, result.observations, gt.frame.apply(gt_points), mask,
                                      gt.cloud, max_points)
    row.geometry_failed = gt is not None and row.geometry is None
    return row, images, result


def run_auto(case: MultiViewCase, images: list[Tensor], colmap, views: Tensor, net, size: int,
             gt: GtCloud | None, max_points: int) -> Row:
    """``--poses auto`` from the same COLMAP run and network prediction as the rows above."""
    from genscene.pipelines.poses import reconstruct_posed
    from genscene.pipelines.reconstruct import ReconstructConfig

    row = Row(case.name, "auto", len(case.images))
    names = [f"view_{i:03d}" for i in range(len(case.images))]
    t0 = time.perf_counter()
    scene = reconstruct_posed(images, views, net, names, ReconstructConfig(size=size),
                              colmap_runner=lambda *args, **kwargs: colmap)
    row.runtime_s = time.perf_counter() - t0 + colmap.runtime_s + net.seconds
    record = scene.meta["poses"]
    from_colmap = sum(v["camera"] == "colmap" for v in record["views"])
    row.registered = len(case.images)
    row.pose = pose_metrics_with_failures(scene.cameras, torch.ones(len(case.images), dtype=torch.bool), case.gt)
    row.note = f"{from_colmap} COLMAP + {len(case.images) - from_colmap} net cameras" + (
        f" ({record['reason']})" if record.get("reason") else "")
    if gt is not None:
        row.geometry = dense_chamfer(case, scene, gt, max_points)
    return row


def gt_cloud(case: MultiViewCase, size: int, patch: int) -> GtCloud | None:
    """The case's normalised GT cloud at the network size, or ``None`` without GT geometry."""
    from genscene.pipelines.reconstruct import network_size

    if case.gt_geometry is None:
        return None
    h, w = network_size(*case.images[0].shape[-2:], size, patch)
    points, mask = case.gt_geometry(h, w)
    frame = GtFrame.fit(case.gt, points, mask)
    return GtCloud(frame, frame.apply(points[mask]))


def cases(args) -> list[MultiViewCase]:
    out = []
    for name in args.datasets:
        case = REAL_DATASETS[name](args.data)
        if case is None:
            print(f"skip {name}: its data is not under {args.data}", file=sys.stderr)
        else:
            out.append(case)
    return out


def fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown(rows: list[Row], header: list[str]) -> str:
    lines = [*header, "",
             "| dataset | method | views | registered | AUC@30 | RRA@30 | RTA@30 | Chamfer (acc / comp) | time s | notes |",
             "|---|---|---:|---:|---:|---:|---:|---|---:|---|"]
    for r in rows:
        geo = ("failed" if r.geometry_failed else "n/a") if r.geometry is None else (
            f"{r.geometry['chamfer']:.3f} ({r.geometry['accuracy']:.3f} / {r.geometry['completeness']:.3f})")
        p = r.pose
        lines.append(f"| {r.dataset} | {r.method} | {r.views} | {r.registered} | {fmt(p.get('auc@30'))} | "
                     f"{fmt(p.get('rra@30'))} | {fmt(p.get('rta@30'))} | {geo} | {fmt(r.runtime_s, 2)} | {r.note} |")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", type=Path, default=None, help="geometry checkpoint folder (default: the found one)")
    ap.add_argument("--worlds", type=int, default=4, help="held-out worlds (test split)")
    ap.add_argument("--world-frames", type=int, default=12, help="views per held-out world")
    ap.add_argument("--size", type=int, default=128, help="long side fed to the network")
    ap.add_argument("--colmap-size", type=int, default=0,
                    help="long side given to COLMAP (0: full resolution; never upsampled)")
    ap.add_argument("--world-size", type=int, default=256, help="render size of held-out world views")
    ap.add_argument("--datasets", type=lambda s: [x for x in s.split(",") if x], default=list(REAL_DATASETS),
                    help=f"comma-separated real datasets ({','.join(REAL_DATASETS)})")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    ap.add_argument("--max-points", type=int, default=20_000, help="cloud subsample for Chamfer")
    ap.add_argument("--seed", type=int, default=0, help="COLMAP mapper seed")
    ap.add_argument("--device", default="cpu", help="device of the network")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/reconstruct.md"))
    args = ap.parse_args(argv)
    unknown = [d for d in args.datasets if d not in REAL_DATASETS]
    if unknown:
        ap.error(f"--datasets: unknown {unknown}; choose from {list(REAL_DATASETS)}")
    return args


def quiet_colmap() -> None:
    """Keep COLMAP's INFO and WARNING log off the terminal (errors still show)."""
    import pycolmap

    pycolmap.logging.minloglevel = int(pycolmap.logging.Level.ERROR)


def main(argv: list[str] | None = None) -> int:
    from genscene.atomic import atomic_path
    from genscene.commands.reconstruct import resolve_weights
    from genscene.models.geometry import GeometryNet

    args = parse_args(argv)
    quiet_colmap()
    try:
        weights = resolve_weights("geometry", args.weights)
        t0 = time.perf_counter()
        model = GeometryNet.from_pretrained(weights).to(args.device).eval()
        load_s = time.perf_counter() - t0
        todo = cases(args)
    except InputError as err:
        print(err, file=sys.stderr)
        return 2
    patch = model.config.patch_size
    with torch.no_grad():  # warm-up: the first forward pays one-off allocator / kernel selection costs
        model(torch.zeros(1, 2, 3, 4 * patch, 4 * patch, device=args.device))
    rows: list[Row] = []

    def bench(case: MultiViewCase) -> None:
        gt = gt_cloud(case, args.size, patch)
        net_row, views, net = run_net(case, model, args.size, gt, args.max_points)
        colmap_row, images, colmap = run_pycolmap(case, args.colmap_size, gt, args.max_points, args.seed)
        rows.extend([net_row, colmap_row, run_auto(case, images, colmap, views, net, args.size, gt, args.max_points)])
        print("\n".join(markdown(rows[-3:], []).splitlines()[-3:]), file=sys.stderr, flush=True)

    notes = []
    for case in todo:
        bench(case)
        notes.append(f"- {case.name}: {case.note}")
    if args.worlds > 0:
        for case in held_out_worlds(args.worlds, args.world_frames, args.world_size):
            bench(case)
            notes.append(f"- {case.name}: {case.note}")

    header = [
        "# Reconstruction: the network, COLMAP (pycolmap) and `--poses auto`",
        "",
        f"Command: `python benchmarks/bench_reconstruct.py {' '.join(sys.argv[1:] if argv is None else argv)}`",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, "
        f"network on {args.device} with {torch.get_num_threads()} torch thread(s), COLMAP on all cores; weights `{weights}` (loaded in {load_s:.2f} s, not in the times below).",
        f"net: the geometry network at long side {args.size}; points = its depth unprojected with its cameras. "
        f"colmap: pycolmap at {'full resolution' if args.colmap_size <= 0 else f'long side {args.colmap_size}'}, "
        "one SIMPLE_RADIAL camera, default focal guess (1.2 x long side, no EXIF), no known intrinsics; largest "
        "model kept. auto: `genscene reconstruct --poses auto` (COLMAP's cameras where registered, the network's "
        "placed by a similarity elsewhere; network depth aligned per view to COLMAP's points), from the same "
        "COLMAP run and network prediction. "
        "Times: wall seconds from the views in memory at each method's input size (net: network forward + scene "
        "assembly; colmap: PNG writing, SIFT, matching, mapping; auto: both + combination).",
        "AUC@30 / RRA@30 / RTA@30 in percent over all view pairs; a pair with an unregistered view counts "
        "as 180 degrees (failure). Chamfer in units of the GT scene scale (mean GT point distance to "
        "GT camera 0 = 1), after Umeyama Sim(3) on correspondences (pixels for genscene, first "
        "observation + GT depth for COLMAP's sparse points); n/a = no GT geometry.",
        "",
        *notes,
    ]
    text = markdown(rows, header)
    print(text)
    with atomic_path(args.out) as tmp:
        tmp.write_text(text)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
