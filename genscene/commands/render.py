"""``genscene render SCENE_OR_PLY --trajectory PRESET_OR_FILE -o video.mp4``: splat Gaussians along a path.

The input is a Gaussian ``.ply`` (INRIA layout) or a scene folder (its ``gaussians.ply`` if present,
else its ``points.ply`` as small isotropic Gaussians). Trajectories are relative paths in units of
the scene's median depth with frame 0 at the identity (``genscene trajectory list``); they start at
the scene's first camera, or for a bare ``.ply`` at the identity camera (the frame our pipelines
write Gaussians in), moved back to see the whole cloud when most of it is not in front of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from genscene.commands import one_line_errors
from genscene.errors import InputError

if TYPE_CHECKING:  # torch and the rest load lazily, when the command runs
    from torch import Tensor

    from genscene.cameras.cameras import Cameras
    from genscene.geometry.gaussians import Gaussians

BATCH = 4
"""Frames rendered per call of the rasterizer."""


@dataclass
class Source:
    """What to render and from where the path starts (CPU tensors)."""

    gaussians: Gaussians
    """What to splat."""
    first_c2w: Tensor
    """Camera-to-world ``[4, 4]`` of frame 0."""
    median_depth: float
    """Unit of the trajectory's distances."""
    K: Tensor
    """Intrinsics ``[3, 3]`` at ``width x height``."""
    width: int
    """Image width in pixels."""
    height: int
    """Image height in pixels."""


def points_as_gaussians(xyz: Tensor, rgb: Tensor | None, radius: float) -> Gaussians:
    """Points ``[N, 3]`` (colours ``[N, 3]`` or None) -> isotropic Gaussians of std ``radius``, opacity 0.9."""
    import torch

    from genscene.geometry.gaussians import Gaussians

    xyz = xyz.to(torch.float32)
    n = xyz.shape[0]
    colors = torch.full((n, 3), 0.7) if rgb is None else rgb.to(torch.float32)
    return Gaussians(means=xyz, quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]).expand(n, 4).clone(),
                     scales=torch.full((n, 3), float(radius)), opacities=torch.full((n,), 0.9), colors=colors)


def median_depth_in_front(means: Tensor, c2w: Tensor) -> tuple[float, float]:
    """Median camera z of the points in front of camera ``c2w``, and the fraction that is in front."""
    import torch

    w2c = torch.linalg.inv(c2w.to(torch.float64))
    z = means.to(torch.float64) @ w2c[2, :3] + w2c[2, 3]
    front = z[z > 1e-6]
    if front.numel() == 0:
        return float("nan"), 0.0
    return float(front.median()), front.numel() / z.numel()


def fov_intrinsics(fov_y_deg: float, width: int, height: int) -> Tensor:
    """Square-pixel intrinsics ``[3, 3]`` with vertical field of view ``fov_y_deg``, centred."""
    import torch

    from genscene.cameras.cameras import intrinsics_matrix

    f = 0.5 * height / math.tan(math.radians(fov_y_deg) / 2)
    return intrinsics_matrix(f, f, width / 2, height / 2, dtype=torch.float64)


def load_source(path: Path, width: Optional[int], height: Optional[int], fov: float, point_size: float,
                use: str) -> Source:
    """Read a ``.ply`` or a scene folder and choose frame 0's camera, the unit and the intrinsics."""
    if not path.exists():
        raise InputError(path, "not found")
    if path.is_dir():
        return _scene_folder_source(path, width, height, point_size, use)
    if path.suffix.lower() != ".ply":
        raise InputError(path, "expected a Gaussian .ply file or a scene folder")
    return _ply_source(path, width or 512, height or 384, fov)


def _scene_folder_source(path: Path, width: Optional[int], height: Optional[int], point_size: float,
                         use: str) -> Source:
    """The scene's Gaussians (or points as Gaussians), starting at its first camera."""
    import torch

    from genscene.io.cameras_json import load_cameras_json
    from genscene.io.ply import read_gaussians_ply, read_points_ply

    cameras, _ = load_cameras_json(path / "cameras.json")
    first = cameras[0] if cameras.batch_shape else cameras
    c2w = first.c2w.to(torch.float64)
    w, h = width or first.width, height or first.height
    K = first.resize(h, w).K.to(torch.float64)
    has_gaussians = (path / "gaussians.ply").exists()
    if use == "gaussians" or (use == "auto" and has_gaussians):
        if not has_gaussians:
            raise InputError(path / "gaussians.ply", "not found (use --use points)")
        gaussians = read_gaussians_ply(path / "gaussians.ply")
        depth, _ = median_depth_in_front(gaussians.means, c2w)
    else:
        if not (path / "points.ply").exists():
            raise InputError(path / "points.ply", "not found: the scene has neither gaussians.ply nor points.ply")
        cloud = read_points_ply(path / "points.ply")
        depth, _ = median_depth_in_front(cloud["xyz"], c2w)
        if math.isfinite(depth):
            # A point covers about point_size pixels at the median depth.
            gaussians = points_as_gaussians(cloud["xyz"], cloud["rgb"], point_size * depth / float(K[0, 0]))
    if not math.isfinite(depth):
        raise InputError(path, "nothing to render lies in front of the first camera")
    return Source(gaussians, c2w, depth, K, w, h)


def _ply_source(path: Path, width: int, height: int, fov: float) -> Source:
    """A bare Gaussian .ply: start at the identity camera, or back off to face the cloud if it is behind."""
    import torch

    from genscene.io.ply import read_gaussians_ply

    gaussians = read_gaussians_ply(path)
    if len(gaussians) == 0:
        raise InputError(path, "holds no Gaussians")
    c2w = torch.eye(4, dtype=torch.float64)
    depth, in_front = median_depth_in_front(gaussians.means, c2w)
    if in_front < 0.5:
        c2w = _viewpoint_facing(gaussians.means, fov)
        depth, _ = median_depth_in_front(gaussians.means, c2w)
    return Source(gaussians, c2w, depth, fov_intrinsics(fov, width, height), width, height)


def _viewpoint_facing(means: Tensor, fov_y_deg: float) -> Tensor:
    """A camera looking along +z at the cloud's centre from far enough back to see its extent."""
    import torch

    pts = means.to(torch.float64)
    centre = pts.median(0).values
    radius = float((pts - centre).norm(dim=-1).quantile(0.9)) if len(pts) > 1 else 1.0
    back = max(radius, 1e-3) / math.tan(math.radians(fov_y_deg) / 2) + radius
    c2w = torch.eye(4, dtype=torch.float64)
    c2w[:3, 3] = centre - torch.tensor([0.0, 0.0, back], dtype=torch.float64)
    return c2w


def path_cameras(source: Source, rel_c2w: Tensor) -> Cameras:
    """Cameras ``[T]`` along relative poses ``[T, 4, 4]`` (units of the median depth) from frame 0."""
    import torch

    from genscene.cameras.cameras import Cameras, invert_rigid

    rel = rel_c2w.to(torch.float64).clone()
    rel[:, :3, 3] *= source.median_depth
    c2w = source.first_c2w @ rel  # [T, 4, 4]
    T = c2w.shape[0]
    return Cameras(K=source.K.expand(T, 3, 3).clone(), w2c=invert_rigid(c2w), width=source.width,
                   height=source.height)


def parse_background(text: str) -> tuple[float, float, float]:
    """``"r,g,b"`` with each value in [0, 1]."""
    parts = text.split(",")
    try:
        rgb = tuple(float(p) for p in parts)
    except ValueError:
        rgb = ()
    if len(rgb) != 3 or not all(0.0 <= c <= 1.0 for c in rgb):
        raise InputError("--background", f"expected R,G,B in [0, 1], got {text!r}")
    return rgb  # type: ignore[return-value]


@one_line_errors
def render(
    source: Path = typer.Argument(..., metavar="SCENE_OR_PLY",
                                  help="A Gaussian .ply (INRIA layout) or a scene folder."),
    trajectory: str = typer.Option(..., "--trajectory", "-t", help="Preset name (genscene trajectory list) or JSON."),
    output: Path = typer.Option(..., "--output", "-o", help="Video file to write (.mp4)."),
    frames: Optional[int] = typer.Option(None, "--frames", "-n", help="Frames (presets: 49; files: theirs)."),
    distance: Optional[float] = typer.Option(None, help="Preset magnitude in units of the scene's median depth."),
    param: list[str] = typer.Option([], "--param", "-p", help="Preset parameter KEY=VALUE (repeatable)."),
    width: Optional[int] = typer.Option(None, help="Image width (default: the scene's, or 512)."),
    height: Optional[int] = typer.Option(None, help="Image height (default: the scene's, or 384)."),
    fov: float = typer.Option(60.0, help="Vertical field of view in degrees, for a bare .ply."),
    background: str = typer.Option("0,0,0", help="Background colour R,G,B in [0, 1]."),
    use: str = typer.Option("auto", help="Scene folder: gaussians, points or auto (gaussians if present)."),
    point_size: float = typer.Option(1.0, help="Points: Gaussian std in pixels at the median depth."),
    backend: str = typer.Option("auto", help="auto, torch or gsplat."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    fps: float = typer.Option(24.0, help="Frame rate of the video."),
    overwrite: bool = typer.Option(False, help="Replace an existing output file."),
) -> None:
    """Render Gaussians (or a scene's points) along a camera path into a video, on the CPU or the GPU."""
    import torch
    from rich.progress import track

    from genscene.commands.trajectory import resolve
    from genscene.io.video import write_video
    from genscene.render.gaussians import BACKENDS, render_gaussians

    if output.exists() and not overwrite:
        raise InputError(output, "already exists (pass --overwrite to replace it)")
    if output.suffix.lower() != ".mp4":
        raise InputError(output, "the output must be an .mp4 file")
    if use not in ("auto", "gaussians", "points"):
        raise InputError("--use", f"expected auto, gaussians or points, got {use!r}")
    if backend not in BACKENDS:
        raise InputError("--backend", f"expected one of {', '.join(BACKENDS)}, got {backend!r}")
    if device not in ("auto", "cpu", "cuda"):
        raise InputError("--device", f"expected auto, cpu or cuda, got {device!r}")
    for name, value in (("--width", width), ("--height", height), ("--frames", frames)):
        if value is not None and value < 1:
            raise InputError(name, f"must be a positive integer, got {value}")
    if not 1.0 <= fov < 179.0:
        raise InputError("--fov", f"must be in [1, 179) degrees, got {fov}")
    bg = parse_background(background)
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device", "cuda requested but no CUDA device is available")
    dev = torch.device("cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu")

    src = load_source(source, width, height, fov, point_size, use)
    rel_c2w, _, title = resolve(trajectory, frames, distance, param)
    cameras = path_cameras(src, rel_c2w)
    gaussians = src.gaussians.to(device=dev, dtype=torch.float32)
    images = []
    with torch.no_grad():
        for start in track(range(0, len(cameras), BATCH), description=f"rendering {len(cameras)} frames",
                           transient=True):
            batch = cameras[start:start + BATCH]
            images.append(render_gaussians(gaussians, batch, background=bg, backend=backend)["rgb"].cpu())
    write_video(output, torch.cat(images), fps=fps)
    typer.echo(f"wrote {output} ({len(cameras)} frames {src.width}x{src.height}, {len(src.gaussians)} Gaussians, "
               f"{title}, device {dev.type})")
