"""``genscene render SCENE_OR_PLY --trajectory PRESET_OR_FILE -o video.mp4``: splat Gaussians along a path.

A thin parser over :mod:`genscene.pipelines.render_path`, which holds what is rendered and from where.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from genscene.atomic import check_output
from genscene.commands import MAX_FOV, MIN_FOV, finite_float, one_line_errors, resolve_device
from genscene.commands.trajectory import MAX_DISTANCE, MAX_FRAMES
from genscene.errors import InputError
from genscene.limits import check_memory
from genscene.pipelines.render_path import DEFAULT_HEIGHT, DEFAULT_WIDTH, Backend, Geometry

MIN_FPS = 1e-3
"""Lowest frame rate: the video stores its rate as a fraction with denominator <= 1001, lower ones near 0."""
MAX_FPS = 1000.0
"""Highest frame rate."""
MIN_POINT_SIZE = 0.01
"""Pixels; far below the rasterizer's 0.3 px^2 low-pass, so a smaller std would look the same."""
MAX_POINT_SIZE = 1000.0
"""Pixels; a point this wide covers any image."""
MIN_SIDE, MAX_SIDE = 8, 16384
"""Image width and height in pixels (memory decides below the cap)."""
FRAME_BYTES = 3 * 4 + 3 + 3
"""Bytes kept per pixel of every frame: the float RGB, its 8-bit copy and the encoder's frame."""
BATCH_PIXEL_BYTES = 256
"""Bytes per pixel of each frame the rasterizer works on at once (its buffers, tile chunks aside)."""
RASTERIZER_BYTES = 1 << 28
"""The rasterizer's tile chunks: ``budget`` (pixel, Gaussian) pairs of a few floats each."""


class Device(str, Enum):
    """Where to render."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


def render_bytes(frames: int, width: int, height: int, batch: int) -> int:
    """Estimated bytes to render ``frames`` frames of ``width x height`` into a video, ``batch`` at a time."""
    pixels = width * height
    return frames * pixels * FRAME_BYTES + min(frames, batch) * pixels * BATCH_PIXEL_BYTES + RASTERIZER_BYTES


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
    frames: Optional[int] = typer.Option(None, "--frames", "-n", min=1, max=MAX_FRAMES,
                                         help="Frames (presets: 49; files: theirs)."),
    distance: Optional[float] = typer.Option(None, help="Preset magnitude in units of the scene's median depth."),
    param: list[str] = typer.Option([], "--param", "-p", help="Preset parameter KEY=VALUE (repeatable)."),
    width: Optional[int] = typer.Option(None, min=MIN_SIDE, max=MAX_SIDE,
                                        help=f"Image width (default: the scene's, or {DEFAULT_WIDTH})."),
    height: Optional[int] = typer.Option(None, min=MIN_SIDE, max=MAX_SIDE,
                                         help=f"Image height (default: the scene's, or {DEFAULT_HEIGHT})."),
    fov: float = typer.Option(60.0, min=MIN_FOV, max=MAX_FOV,
                              help="Vertical field of view in degrees, for a bare .ply."),
    background: str = typer.Option("0,0,0", help="Background colour R,G,B in [0, 1]."),
    use: Geometry = typer.Option(Geometry.auto,
                                 help="Scene folder geometry (auto: gaussians.ply if present, else points.ply)."),
    point_size: float = typer.Option(1.0, min=MIN_POINT_SIZE, max=MAX_POINT_SIZE,
                                     help="Points: Gaussian std in pixels at the median depth."),
    backend: Backend = typer.Option(Backend.auto, help="Rasterizer (auto: gsplat on CUDA when installed, else torch)."),
    device: Device = typer.Option(Device.auto, help="auto: cuda when available, else cpu."),
    fps: float = typer.Option(24.0, min=MIN_FPS, max=MAX_FPS, help="Frame rate of the video."),
    overwrite: bool = typer.Option(False, help="Replace an existing .mp4 file (never a folder)."),
) -> None:
    """Render Gaussians (or a scene's points) along a camera path into a video, on the CPU or the GPU."""
    import torch
    from rich.progress import track

    from genscene.commands.trajectory import resolve
    from genscene.io.video import write_video
    from genscene.pipelines.render_path import RenderPathConfig, load_source, path_cameras, render_frames

    finite_float("--fov", fov, MIN_FOV, MAX_FOV)
    finite_float("--point-size", point_size, MIN_POINT_SIZE, MAX_POINT_SIZE)
    finite_float("--fps", fps, MIN_FPS, MAX_FPS)
    finite_float("--distance", distance, -MAX_DISTANCE, MAX_DISTANCE)
    if output.suffix.lower() != ".mp4":
        raise InputError(output, "the output must be an .mp4 file")
    check_output(output, overwrite, suffixes=(".mp4",))
    cfg = RenderPathConfig(width=width, height=height, fov=fov, use=use, point_size=point_size,
                           background=parse_background(background), backend=backend)
    dev = torch.device(resolve_device(device.value))

    src = load_source(source, cfg)
    rel_c2w, _, title = resolve(trajectory, frames, distance, param)
    check_memory("--width/--height/--frames", render_bytes(len(rel_c2w), src.width, src.height, cfg.batch),
                 f"for {len(rel_c2w)} frames of {src.width}x{src.height}")
    cameras = path_cameras(src, rel_c2w)
    images = render_frames(src, cameras, cfg, dev, progress=lambda starts: track(
        starts, description=f"rendering {len(cameras)} frames", transient=True))
    if not bool(torch.isfinite(images).all()):
        raise InputError(source, "rendered non-finite pixels (NaN in the Gaussians or cameras); nothing was written")
    write_video(output, images, fps=fps, overwrite=overwrite)
    typer.echo(f"wrote {output} ({len(cameras)} frames {src.width}x{src.height}, {len(src.gaussians)} Gaussians, "
               f"{title}, device {dev.type})")
