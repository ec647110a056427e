"""Where the cameras of ``reconstruct`` come from: COLMAP (pycolmap) where it registers, the network elsewhere.

``--poses auto`` (default): COLMAP runs on the full-resolution views when pycolmap imports; every
view it registers takes COLMAP's camera, and the network's dense depth of that view is put in
COLMAP's units by a robust scale + shift fit to the depths of the SfM points the view observes
(:mod:`genscene.geometry.depth_alignment`). Views COLMAP does not register keep the network's
camera, carried into COLMAP's frame by the similarity that maps the network's cameras of the
registered views onto COLMAP's (:func:`genscene.geometry.alignment.similarity_from_cameras`), and
their depth is scaled by it. When COLMAP registers fewer than 2 views, fails, is not installed, the
views differ in size, or there is one view, the network gives everything. ``colmap`` demands a
COLMAP camera for every view (one clear error otherwise); ``net`` skips COLMAP.

Known intrinsics (``--intrinsics`` file or EXIF) go to both: COLMAP starts from them (fixed for a
file, refined for EXIF) and the network's cameras take them instead of its own focal guess.
The scene is finally expressed in view 0's camera with the network's normalisation (mean distance
of the exported points to camera 0 = 1), whatever the backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.errors import InputError
from genscene.geometry.alignment import (
    rotation_between_cameras,
    similarity_from_cameras,
    transform_cameras_sim3,
)
from genscene.geometry.depth_alignment import DepthFit, DepthFitConfig, fit_scale_shift, sample_depth
from genscene.geometry.projection import unproject_depth, world_to_camera
from genscene.io.scene import Scene
from genscene.pipelines.colmap_poses import ColmapConfig, ColmapResult
from genscene.pipelines.reconstruct import NetOutput, ReconstructConfig, confident_points, reconstruct

POSE_BACKENDS = ("auto", "colmap", "net")
COLMAP_INSTALL = "pip install 'genscene[colmap]' (or: pip install pycolmap)"


@dataclass
class PosesConfig:
    """How cameras are chosen."""

    poses: str = "auto"
    """``auto`` (COLMAP where it registers, the network elsewhere), ``colmap`` (COLMAP for every view or
    an error) or ``net`` (the network alone)."""
    colmap: ColmapConfig = field(default_factory=ColmapConfig)
    """COLMAP's settings."""
    depth_fit: DepthFitConfig = field(default_factory=DepthFitConfig)
    """The per-view depth alignment to COLMAP's points."""


@dataclass
class KnownIntrinsics:
    """Intrinsics known before reconstruction, at each view's native size."""

    K: Tensor
    """``[N, 3, 3]`` float64 in pixels of each input view as read."""
    source: str
    """``"file"`` (held fixed by COLMAP) or ``"exif"`` (a prior COLMAP refines)."""


def known_intrinsics(path: Path | None, names: list[str], files: list[Path | None],
                     sizes: list[tuple[int, int]]) -> KnownIntrinsics | None:
    """The ``--intrinsics`` file's cameras; else EXIF focal lengths when every view has one; else None."""
    from genscene.io.intrinsics import exif_intrinsics, read_intrinsics_file

    if path is not None:
        return KnownIntrinsics(read_intrinsics_file(path, names, sizes), "file")
    if not files or any(f is None for f in files):
        return None
    Ks = [exif_intrinsics(f, w, h) for f, (w, h) in zip(files, sizes)]
    if any(K is None for K in Ks):
        return None
    return KnownIntrinsics(torch.stack(Ks), "exif")


def colmap_available() -> bool:
    """Whether pycolmap imports."""
    try:
        import pycolmap  # noqa: F401
    except ImportError:
        return False
    return True


def scaled_intrinsics(K: Tensor, sizes: list[tuple[int, int]], height: int, width: int) -> Tensor:
    """``K [N, 3, 3]`` for views of native ``sizes`` (width, height) resized to ``height x width``."""
    S = torch.stack([torch.diag(torch.tensor([width / w, height / h, 1.0], dtype=torch.float64)) for w, h in sizes])
    return S @ K.double()


@dataclass
class PoseDecision:
    """What :func:`decide_backend` chose before any work."""

    run_colmap: bool
    reason: str = ""
    """Why COLMAP does not run (empty when it does)."""


def decide_backend(poses: str, sizes: list[tuple[int, int]]) -> PoseDecision:
    """Whether COLMAP runs for ``poses`` on views of ``sizes``; raises :class:`InputError` where ``colmap``
    cannot be honoured."""
    if poses not in POSE_BACKENDS:
        raise InputError("--poses", f"expected one of {', '.join(POSE_BACKENDS)}, got {poses!r}")
    if poses == "net":
        return PoseDecision(False, "--poses net")
    problem = ""
    if len(sizes) < 2:
        problem = "one view: structure from motion needs at least 2"
    elif len(set(sizes)) > 1:
        problem = "the views differ in size (COLMAP here uses one shared camera)"
    elif not colmap_available():
        problem = f"pycolmap is not installed ({COLMAP_INSTALL})"
    if problem and poses == "colmap":
        raise InputError("--poses colmap", problem)
    return PoseDecision(not problem, problem)


def align_view_depth(i: int, colmap: ColmapResult, depth: Tensor, cfg: DepthFitConfig) -> DepthFit:
    """Fit view ``i``'s network depth ``[H, W]`` to the depths of the COLMAP points it observes."""
    tracks = colmap.tracks[colmap.tracks[:, 1] == i]
    if len(tracks) == 0:
        return fit_scale_shift(torch.zeros(0), torch.zeros(0), cfg)
    cams = colmap.cameras[i]
    z = world_to_camera(colmap.points[tracks[:, 0].long()], cams)[:, 2]
    h, w = depth.shape
    xy = tracks[:, 2:] * torch.tensor([w / colmap.cameras.width, h / colmap.cameras.height], dtype=torch.float64)
    return fit_scale_shift(sample_depth(depth.double(), xy), z, cfg)


@dataclass
class Combined:
    """Cameras and depth of every view after combining COLMAP and the network (COLMAP's world)."""

    cameras: Cameras
    """``[S]`` at the network size."""
    depth: Tensor
    """``[S, H, W]`` float64, COLMAP's units; 0 = invalid."""
    views: list[dict]
    """Per view: ``camera`` (``colmap`` or ``net``), ``depth`` (how it was put in COLMAP's units)."""
    placement: dict
    """How the network's cameras were put in COLMAP's frame (when some view needed it)."""


def combine(net: NetOutput, colmap: ColmapResult, cfg: DepthFitConfig | None = None,
            keep_net_K: bool = False) -> Combined:
    """COLMAP's cameras where registered (>= 2 views), the network's elsewhere; network depth in COLMAP's units.

    ``net`` is at the network size ``H x W``; ``colmap`` at the views' native size (one size).
    Unregistered views take COLMAP's shared intrinsics (the median of the registered views'), since
    one camera took every photo, unless ``keep_net_K`` (``net.cameras`` holds known intrinsics).
    """
    cfg = cfg or DepthFitConfig()
    reg = colmap.registered
    if int(reg.sum()) < 2:
        raise ValueError("combine: COLMAP registered fewer than 2 views")
    s_views, h, w = net.depth.shape
    col = colmap.cameras.resize(h, w)
    fits = [align_view_depth(i, colmap, net.depth[i], cfg) if reg[i] else None for i in range(s_views)]
    fitted = [f.scale for f in fits if f is not None and f.kind != "none"]
    shared_scale = float(torch.tensor(fitted).median()) if fitted else 1.0
    K = net.cameras.K.clone()
    w2c = net.cameras.w2c.clone()
    depth = torch.zeros(s_views, h, w, dtype=torch.float64)
    views: list[dict] = [{} for _ in range(s_views)]
    for i in torch.nonzero(reg).flatten().tolist():
        fit = fits[i]
        if fit.kind == "none":  # too few points: the scale shared by the other views
            fit = DepthFit(shared_scale, 0.0, 0, fit.points, "shared scale")
        K[i], w2c[i] = col.K[i], col.w2c[i]
        depth[i] = fit.apply(net.depth[i].double())
        views[i] = {"camera": "colmap", "depth": {"fit": fit.kind, "scale": round(fit.scale, 6),
                                                  "shift": round(fit.shift, 6), "points": fit.points,
                                                  "inliers": fit.inliers}}
    placement: dict = {}
    if not bool(reg.all()):
        s, R, t = _net_to_colmap(net.cameras[reg], col[reg], shared_scale, placement)
        placed = transform_cameras_sim3(net.cameras, s, R, t)
        shared_K = col.K[reg].median(dim=0).values
        for i in torch.nonzero(~reg).flatten().tolist():
            w2c[i] = placed.w2c[i]
            depth[i] = net.depth[i].double() * float(s)
            views[i] = {"camera": "net", "depth": {"fit": "similarity scale", "scale": round(float(s), 6)}}
            if not keep_net_K:
                K[i] = shared_K
    return Combined(Cameras(K, w2c, w, h), depth, views, placement)


def _net_to_colmap(net: Cameras, col: Cameras, depth_scale: float, record: dict) -> tuple[Tensor, Tensor, Tensor]:
    """The Sim(3) from the network's world to COLMAP's, fitted on the registered views (``record`` says how).

    The centres give the scale when they are distinct and consistent (positive scale); otherwise the
    scale is the depth fits' median and the translation matches the centres' means.
    """
    try:
        s, R, t = similarity_from_cameras(net, col)
    except ValueError:
        s = None
    if s is not None and s > 0:
        record.update(method="similarity on the registered views' orientations and centres", views=len(net),
                      scale=round(float(s), 6))
        return s, R, t
    R = rotation_between_cameras(net, col)
    s = torch.tensor(depth_scale, dtype=torch.float64)
    t = col.centers.double().mean(0) - s * (R @ net.centers.double().mean(0))
    record.update(method="orientations + the depth fits' median scale", views=len(net), scale=round(float(s), 6))
    return s, R, t


def to_first_view(cameras: Cameras, depth: Tensor, images: Tensor, conf: Tensor,
                  cfg: ReconstructConfig) -> tuple[Cameras, Tensor, tuple[Tensor, Tensor]]:
    """Express in view 0's camera, scaled so the exported points' mean distance to camera 0 is 1.

    Returns the cameras, the depth (same scale) and the exported cloud ``(xyz [P, 3], rgb [P, 3])``.
    """
    cams = cameras.relative_to_first()
    valid = depth > 0
    points = unproject_depth(depth, cams)  # [S, H, W, 3]
    xyz, rgb = confident_points(images, points.float(), conf, cfg, valid)
    scale = float(xyz.double().norm(dim=-1).mean()) if len(xyz) else 1.0
    scale = scale if scale > 0 else 1.0
    return cams.scale_world(1.0 / scale), depth / scale, (xyz / scale, rgb)


def intrinsics_source(known: KnownIntrinsics | None, colmap_used: bool, registered: bool) -> str:
    """Where a view's intrinsics came from, in words (the network's focal is never called measured)."""
    if known is not None:
        return "exif (refined by COLMAP)" if known.source == "exif" and registered else known.source
    if not colmap_used:
        return "net (the network's estimate, not measured)"
    if registered:
        return "colmap (self-calibrated by bundle adjustment)"
    return "colmap (the registered views' shared camera)"


@torch.no_grad()
def reconstruct_posed(native: list[Tensor], views: Tensor, net: NetOutput, names: list[str],
                      cfg: ReconstructConfig, poses: PosesConfig | None = None,
                      known: KnownIntrinsics | None = None, colmap_runner=None) -> Scene:
    """The scene of ``views [S, 3, H, W]`` (the network's input) with cameras from the chosen backend.

    Args:
        native: the views as read, ``[3, H_i, W_i]`` (COLMAP runs on these).
        net: the network's prediction for ``views``.
        names: view names (for the record).
        known: known intrinsics, or None (COLMAP self-calibrates; the network's focal is a guess).
        colmap_runner: ``run_colmap``-like callable (tests substitute it); default: pycolmap.
    """
    from genscene.pipelines.colmap_poses import run_colmap

    poses = poses or PosesConfig()
    s, _, h, w = views.shape
    sizes = [(int(im.shape[-1]), int(im.shape[-2])) for im in native]
    decision = decide_backend(poses.poses, sizes)
    if known is not None:
        K = scaled_intrinsics(known.K, sizes, h, w)
        net = NetOutput(Cameras(K, net.cameras.w2c, w, h), net.depth, net.confidence, net.points, net.seconds)
    record: dict = {"requested": poses.poses, "backend": "net", "reason": decision.reason}
    colmap = None
    if decision.run_colmap:
        runner = colmap_runner or run_colmap
        try:
            colmap = runner(native, poses.colmap, known_K=None if known is None else known.K,
                            fix_intrinsics=known is not None and known.source == "file")
        except Exception as err:  # COLMAP's own failures (and its bindings') are a fallback, not a crash
            if poses.poses == "colmap":
                raise InputError("--poses colmap", f"COLMAP failed: {type(err).__name__}: {err}") from None
            record["reason"] = f"COLMAP failed: {type(err).__name__}: {err}"
        if colmap is not None:
            registered = int(colmap.registered.sum())
            record["colmap"] = {"registered": registered, "views": s, "points": len(colmap.points),
                                "models": colmap.num_models, "seconds": round(colmap.runtime_s, 3),
                                "matching": "exhaustive" if s <= poses.colmap.exhaustive_max_views else "sequential",
                                "image_size": [sizes[0][1], sizes[0][0]]}
            if poses.poses == "colmap" and registered < s:
                missing = [names[i] for i in range(s) if not colmap.registered[i]]
                raise InputError("--poses colmap", f"COLMAP registered {registered} of {s} views (not: "
                                                   f"{', '.join(missing[:5])}); use --poses auto to take the "
                                                   "network's cameras for those")
            if registered < 2:
                record["reason"] = f"COLMAP registered {registered} of {s} views"
                colmap = None
    if colmap is None:
        views_record = [{"camera": "net", "depth": {"fit": "network"}} for _ in range(s)]
    else:
        combined = combine(net, colmap, poses.depth_fit, keep_net_K=known is not None)
        views_record = combined.views
        record["backend"] = "colmap" if all(v["camera"] == "colmap" for v in views_record) else "colmap+net"
        record["reason"] = ""
        if combined.placement:
            record["net_placement"] = combined.placement
    for name, v in zip(names, views_record):
        v["name"] = name
        v["intrinsics"] = intrinsics_source(known, colmap is not None, v["camera"] == "colmap")
    record["views"] = views_record
    if colmap is None and known is None:  # the network alone, exactly as it predicted (its point head)
        scene = reconstruct(views, None, cfg, net)
        scene.meta["poses"] = record
        return scene
    if colmap is None:  # the network's poses and depth with the known intrinsics: points from depth
        cams, depth = net.cameras, net.depth.double()
    else:
        cams, depth = combined.cameras, combined.depth
    cams, depth, points = to_first_view(cams, depth, views, net.confidence, cfg)
    meta = {"timings_s": {"network": round(net.seconds, 3)}, "views": s, "network_size": [h, w],
            "scale": "normalised: mean distance of points to the frame-0 camera = 1", "poses": record}
    if colmap is not None:
        meta["timings_s"]["colmap"] = round(colmap.runtime_s, 3)
    return Scene(frames=views.float(), cameras=cams, depths=depth.float(), confidence=net.confidence,
                 points=points, meta=meta)


def summary_lines(meta: dict) -> list[str]:
    """Human lines about where each view's camera came from (printed by the command)."""
    record = meta["poses"]
    views = record["views"]
    from_colmap = [v["name"] for v in views if v["camera"] == "colmap"]
    from_net = [v["name"] for v in views if v["camera"] == "net"]
    lines = []
    if from_colmap:
        col = record["colmap"]
        lines.append(f"cameras: {len(from_colmap)} of {len(views)} views from COLMAP ({col['points']} points, "
                     f"{col['seconds']:.1f} s)")
    if from_net:
        shown = ", ".join(from_net[:6]) + (", ..." if len(from_net) > 6 else "")
        why = f" ({record['reason']})" if record.get("reason") else ""
        lines.append(f"cameras: {len(from_net)} of {len(views)} views from the network{why}: {shown}")
    sources = sorted({v["intrinsics"] for v in views})
    lines.append("intrinsics: " + "; ".join(sources))
    return lines
