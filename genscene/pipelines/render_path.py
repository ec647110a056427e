"""``render_path``: Gaussians (a ``.ply`` or a scene folder) splatted along a relative camera path.

The input is a Gaussian ``.ply`` (INRIA layout) or a scene folder (its ``gaussians.ply`` if present,
else its ``points.ply`` as small isotropic Gaussians). Trajectories are relative paths in units of
the scene's median depth with frame 0 at the identity (``genscene trajectory list``); they start at
the scene's first camera, or for a bare ``.ply`` at the identity camera (the frame our pipelines
write Gaussians in), moved back to see the whole cloud when most of it is not in front of it.

torch loads lazily, inside the functions, so the CLI can import the option types cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from genscene.errors import InputError

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from genscene.cameras.cameras import Cameras
    from genscene.geometry.gaussians import Gaussians

DEFAULT_WIDTH = 512
"""Image width for a bare ``.ply`` when none is given."""
DEFAULT_HEIGHT = 384
"""Image height for a bare ``.ply`` when none is given."""
POINT_OPACITY = 0.9
"""Opacity of the Gaussians made from a scene's points."""
POINT_GREY = 0.7
"""Colour of the Gaussians made from points that carry none."""


class Geometry(str, Enum):
    """Which geometry of a scene folder to render."""

    auto = "auto"
    """``gaussians.ply`` if present, else ``points.ply``."""
    gaussians = "gaussians"
    """``gaussians.ply`` only."""
    points = "points"
    """``points.ply`` as isotropic Gaussians."""


class Backend(str, Enum):
    """Rasterizer of :func:`genscene.render.gaussians.render_gaussians` (its ``BACKENDS``)."""

    auto = "auto"
    torch = "torch"
    gsplat = "gsplat"


@dataclass
class RenderPathConfig:
    """How the source is read and the frames are rendered."""

    width: int | None = None
    """Image width in pixels; None: the scene's, or :data:`DEFAULT_WIDTH` for a bare ``.ply``."""
    height: int | None = None
    """Image height in pixels; None: the scene's, or :data:`DEFAULT_HEIGHT` for a bare ``.ply``."""
    fov: float = 60.0
    """Vertical field of view in degrees, for a bare ``.ply`` (a scene folder has its own K)."""
    use: Geometry = Geometry.auto
    """Which geometry of a scene folder to render."""
    point_size: float = 1.0
    """Points: Gaussian std in pixels at the median depth."""
    background: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """Background colour RGB in [0, 1]."""
    backend: Backend = Backend.auto
    """Rasterizer."""
    batch: int = 4
    """Frames rendered per call of the rasterizer."""


@dataclass
class RenderSource:
    """What to render and from where the path starts (CPU tensors)."""

    gaussians: Gaussians
    """What to splat."""
    first_c2w: Tensor
    """Camera-to-world ``[4, 4]`` float64 of frame 0."""
    median_depth: float
    """Unit of the trajectory's distances."""
    K: Tensor
    """Intrinsics ``[3, 3]`` float64 at ``width x height``."""
    width: int
    """Image width in pixels."""
    height: int
    """Image height in pixels."""


def points_as_gaussians(xyz: Tensor, rgb: Tensor | None, radius: float) -> Gaussians:
    """Points as isotropic Gaussians.

    Args:
        xyz: positions ``[N, 3]``.
        rgb: colours ``[N, 3]`` in [0, 1], or None for :data:`POINT_GREY`.
        radius: the std of every Gaussian, in world units.

    Returns:
        N float32 Gaussians: identity rotations, scales ``radius``, opacity :data:`POINT_OPACITY`.
    """
    import torch

    from genscene.geometry.gaussians import Gaussians

    xyz = xyz.to(torch.float32)
    n = xyz.shape[0]
    colors = torch.full((n, 3), POINT_GREY) if rgb is None else rgb.to(torch.float32)
    return Gaussians(means=xyz, quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]).expand(n, 4).clone(),
                     scales=torch.full((n, 3), float(radius)), opacities=torch.full((n,), POINT_OPACITY),
                     colors=colors)


def median_depth_in_front(means: Tensor, c2w: Tensor) -> tuple[float, float]:
    """Median camera z of the points in front of a camera, and the fraction that is in front.

    Args:
        means: points ``[N, 3]`` in world coordinates.
        c2w: the camera's camera-to-world ``[4, 4]`` (OpenCV axes: +z forward).

    Returns:
        ``(median z of the points with z > 1e-6, their fraction of N)``; ``(nan, 0.0)`` when none is.
    """
    import torch

    w2c = torch.linalg.inv(c2w.to(torch.float64))
    z = means.to(torch.float64) @ w2c[2, :3] + w2c[2, 3]
    front = z[z > 1e-6]
    if front.numel() == 0:
        return float("nan"), 0.0
    return float(front.median()), front.numel() / z.numel()


def viewpoint_facing(means: Tensor, fov_y_deg: float) -> Tensor:
    """A camera looking along +z at a cloud's centre from far enough back to see its extent.

    Args:
        means: points ``[N, 3]`` in world coordinates.
        fov_y_deg: the camera's vertical field of view in degrees.

    Returns:
        Camera-to-world ``[4, 4]`` float64: identity rotation, centred on the points' per-axis median,
        backed off along -z by ``r / tan(fov / 2) + r`` (``r``: 90th percentile distance to the centre).
    """
    import torch

    pts = means.to(torch.float64)
    centre = pts.median(0).values
    radius = float((pts - centre).norm(dim=-1).quantile(0.9)) if len(pts) > 1 else 1.0
    back = max(radius, 1e-3) / math.tan(math.radians(fov_y_deg) / 2) + radius
    c2w = torch.eye(4, dtype=torch.float64)
    c2w[:3, 3] = centre - torch.tensor([0.0, 0.0, back], dtype=torch.float64)
    return c2w


def load_source(path: Path, cfg: RenderPathConfig) -> RenderSource:
    """Read a ``.ply`` or a scene folder and choose frame 0's camera, the unit and the intrinsics.

    Raises:
        InputError: the path is missing, not a ``.ply`` or folder, or holds nothing to render.
    """
    if not path.exists():
        raise InputError(path, "not found")
    if path.is_dir():
        return _scene_folder_source(path, cfg)
    if path.suffix.lower() != ".ply":
        raise InputError(path, "expected a Gaussian .ply file or a scene folder")
    return _ply_source(path, cfg.width or DEFAULT_WIDTH, cfg.height or DEFAULT_HEIGHT, cfg.fov)


def _scene_folder_source(path: Path, cfg: RenderPathConfig) -> RenderSource:
    """The scene's Gaussians (or points as Gaussians), starting at its first camera."""
    import torch

    from genscene.io.cameras_json import load_cameras_json
    from genscene.io.ply import read_gaussians_ply

    cameras, _ = load_cameras_json(path / "cameras.json")
    first = cameras[0] if cameras.batch_shape else cameras
    c2w = first.c2w.to(torch.float64)
    w, h = cfg.width or first.width, cfg.height or first.height
    K = first.resize(h, w).K.to(torch.float64)
    has_gaussians = (path / "gaussians.ply").exists()
    if cfg.use is Geometry.gaussians or (cfg.use is Geometry.auto and has_gaussians):
        if not has_gaussians:
            raise InputError(path / "gaussians.ply", "not found (use --use points)")
        gaussians = read_gaussians_ply(path / "gaussians.ply")
        depth, _ = median_depth_in_front(gaussians.means, c2w)
    else:
        if not (path / "points.ply").exists():
            raise InputError(path / "points.ply", "not found: the scene has neither gaussians.ply nor points.ply")
        from genscene.io.scene import read_scene_points

        xyz, rgb = read_scene_points(path)  # far background included: it fills windows and skies
        depth, _ = median_depth_in_front(xyz, c2w)
        if math.isfinite(depth):
            # A point covers about point_size pixels at the median depth.
            gaussians = points_as_gaussians(xyz, rgb, cfg.point_size * depth / float(K[0, 0]))
    if not math.isfinite(depth):
        raise InputError(path, "nothing to render lies in front of the first camera")
    return RenderSource(gaussians, c2w, depth, K, w, h)


def _ply_source(path: Path, width: int, height: int, fov: float) -> RenderSource:
    """A bare Gaussian .ply: start at the identity camera, or back off to face the cloud if it is behind."""
    import torch

    from genscene.cameras.cameras import Cameras
    from genscene.io.ply import read_gaussians_ply

    gaussians = read_gaussians_ply(path)
    if len(gaussians) == 0:
        raise InputError(path, "holds no Gaussians")
    c2w = torch.eye(4, dtype=torch.float64)
    depth, in_front = median_depth_in_front(gaussians.means, c2w)
    if in_front < 0.5:
        c2w = viewpoint_facing(gaussians.means, fov)
        depth, _ = median_depth_in_front(gaussians.means, c2w)
    K = Cameras.from_fov(fov, width, height).K
    return RenderSource(gaussians, c2w, depth, K, width, height)


def path_cameras(source: RenderSource, rel_c2w: Tensor) -> Cameras:
    """Cameras along a relative path that starts at the source's frame 0.

    Args:
        source: frame 0's pose, the unit of distance and the intrinsics.
        rel_c2w: relative camera-to-world poses ``[T, 4, 4]``, translations in units of the median depth.

    Returns:
        Cameras ``[T]`` float64 at ``source.width x source.height``, ``c2w[t] = first_c2w @ rel_c2w[t]``
        with the translation scaled by the median depth.
    """
    import torch

    from genscene.cameras.cameras import Cameras, invert_rigid

    rel = rel_c2w.to(torch.float64).clone()
    rel[:, :3, 3] *= source.median_depth
    c2w = source.first_c2w @ rel  # [T, 4, 4]
    T = c2w.shape[0]
    return Cameras(K=source.K.expand(T, 3, 3).clone(), w2c=invert_rigid(c2w), width=source.width,
                   height=source.height)


def render_frames(source: RenderSource, cameras: Cameras, cfg: RenderPathConfig, device: torch.device,
                  progress: Callable[[range], Iterable[int]] | None = None) -> Tensor:
    """Splat the source's Gaussians into every camera, ``cfg.batch`` frames per rasterizer call.

    Args:
        source: what to render.
        cameras: cameras ``[T]`` (from :func:`path_cameras`).
        cfg: background, backend and batch size.
        device: where to render (the Gaussians are moved there as float32).
        progress: wraps the batch start indices, e.g. in a progress bar; None iterates them plainly.

    Returns:
        ``rgb [T, 3, H, W]`` float32 in [0, 1] on the CPU.
    """
    import torch

    from genscene.render.gaussians import render_gaussians

    gaussians = source.gaussians.to(device=device, dtype=torch.float32)
    starts = range(0, len(cameras), cfg.batch)
    images = []
    with torch.no_grad():
        for start in (starts if progress is None else progress(starts)):
            batch = cameras[start:start + cfg.batch]
            images.append(render_gaussians(gaussians, batch, background=cfg.background,
                                           backend=cfg.backend.value)["rgb"].cpu())
    return torch.cat(images)
