"""The scene folder a run writes (DESIGN §6), and reading it back with validation.

Layout (``NNNNN`` = 5-digit frame index)::

    video.mp4            H.264 preview of the frames (odd sizes padded by one edge row/column)
    frames/NNNNN.png     8-bit RGB frames: the exact frames of the scene
    depth/NNNNN.npz      float32 z-depth (+ confidence), exact; 0 = invalid
    depth/NNNNN.png      16-bit depth, ``depth = value * scale``; 0 = invalid
    depth/scale.json     that ``scale`` (one for the folder)
    depth_preview/NNNNN.png  8-bit colour-mapped depth for people (turbo, near red); never read back
    cameras.json         genscene's OpenCV w2c cameras (genscene.io.cameras_json)
    transforms.json      nerfstudio cameras (+ depth_file_path per frame when depth exists)
    sparse/0/*.txt       COLMAP text model, on request (image folder: frames/)
    points.ply           coloured point cloud, when the scene has points (the scene a viewer frames)
    points_far.ply       its far background points (> 10x the median distance to the nearest camera),
                         when there are any; meta.json's ``points`` says how many and the threshold
    gaussians.ply        INRIA 3DGS layout, when the scene has Gaussians
    meta.json            format, size, fps, versions, peak memory + the scene's own meta

The folder is built under a temporary sibling name and renamed into place at the end, so a failure
never leaves a half-written scene.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import Tensor

from genscene.atomic import SCENE_FORMAT, atomic_path, check_output
from genscene.cameras.cameras import Cameras
from genscene.cameras.formats._common import as_number, read_json
from genscene.errors import InputError
from genscene.geometry.gaussians import Gaussians
from genscene.io import depth as depth_io
from genscene.io.cameras_json import load_cameras_json, save_cameras_json
from genscene.io.images import read_image, write_rgb8
from genscene.io.meta import collect_versions, peak_memory, to_jsonable
from genscene.io.ply import (
    colors_to_uint8,
    read_gaussians_ply,
    read_points_ply,
    write_gaussians_ply,
    write_points_ply,
)
from genscene.io.video import frames_to_uint8, write_video

FORMAT = SCENE_FORMAT
DEPTH_PREVIEW = "depth_preview"
"""Folder of the colour-mapped depth previews (for people; nothing reads them back)."""
POINTS_FAR = "points_far.ply"
"""Far background points, kept out of ``points.ply`` (see :func:`genscene.geometry.points.far_point_mask`)."""
FORMAT_VERSION = 1
# meta.json keys that describe the folder itself; they are not part of Scene.meta.
_STRUCTURAL_KEYS = ("format", "format_version", "num_frames", "width", "height", "fps")


@dataclass
class Scene:
    """Everything a run produces, in memory (CPU tensors)."""

    frames: Tensor
    """RGB frames ``[T, 3, H, W]`` float in [0, 1] (stored as 8-bit PNG: read back as ``round(x*255)/255``)."""
    cameras: Cameras
    """Cameras ``[T]`` of the frames (image size ``W x H``)."""
    depths: Tensor | None = None
    """z-depth ``[T, H, W]``; 0 (or NaN/inf/negative, stored as 0) = invalid."""
    confidence: Tensor | None = None
    """Per-pixel depth confidence ``[T, H, W]`` (needs ``depths``)."""
    points: tuple[Tensor, Tensor | None] | None = None
    """Point cloud ``(xyz [N, 3], rgb [N, 3] float in [0, 1] or None)``; xyz stored float32, rgb 8-bit."""
    gaussians: Gaussians | None = None
    """3D Gaussians (activated values)."""
    meta: dict[str, Any] = field(default_factory=dict)
    """Run record (inputs, seeds, timings_s, ...; see genscene.io.meta.build_meta), JSON-serialisable."""
    fps: float = 24.0
    """Frame rate of the video."""

    def __post_init__(self) -> None:
        if self.frames.ndim != 4 or self.frames.shape[1] != 3:
            raise ValueError(f"Scene.frames: expected [T, 3, H, W], got {tuple(self.frames.shape)}")
        t, _, h, w = self.frames.shape
        if self.cameras.batch_shape != (t,):
            raise ValueError(f"Scene.cameras: expected batch [{t}], got {list(self.cameras.batch_shape)}")
        if (self.cameras.width, self.cameras.height) != (w, h):
            raise ValueError(f"Scene.cameras: image size {self.cameras.width}x{self.cameras.height} "
                             f"differs from the frames' {w}x{h}")
        for name in ("depths", "confidence"):
            value = getattr(self, name)
            if value is not None and tuple(value.shape) != (t, h, w):
                raise ValueError(f"Scene.{name}: expected {(t, h, w)}, got {tuple(value.shape)}")
        if self.confidence is not None and self.depths is None:
            raise ValueError("Scene.confidence: needs depths (both are stored in depth/NNNNN.npz)")
        if self.points is not None:
            xyz, rgb = self.points
            if xyz.ndim != 2 or xyz.shape[1] != 3 or (rgb is not None and tuple(rgb.shape) != tuple(xyz.shape)):
                raise ValueError(f"Scene.points: expected (xyz [N, 3], rgb [N, 3] | None), got "
                                 f"{tuple(xyz.shape)}, {None if rgb is None else tuple(rgb.shape)}")
        if not self.fps > 0:
            raise ValueError(f"Scene.fps: must be positive, got {self.fps}")

    @property
    def num_frames(self) -> int:
        return self.frames.shape[0]


def frame_name(index: int, suffix: str = ".png") -> str:
    """File name of frame ``index`` in ``frames/`` and ``depth/``."""
    return f"{index:05d}{suffix}"


# ------------------------------------------------------------------------------------ writing
def write_scene(path: str | Path, scene: Scene, colmap: bool = False, overwrite: bool = False,
                extras: Mapping[str, Callable[[Path], None]] | None = None) -> Path:
    """Write ``scene`` as a scene folder at ``path`` (atomically) and return ``path``.

    Args:
        colmap: also write a COLMAP text model in ``sparse/0`` (image names relative to ``frames/``).
        overwrite: replace an existing scene folder (only once the new one is complete); a folder
            that is not a genscene scene is never replaced (see :func:`genscene.atomic.check_output`).
        extras: more files of the folder, ``{name: writer}``; each writer gets the file's path inside
            the temporary folder, so a failure or a kill while writing it leaves no scene behind.

    Raises:
        InputError: ``path`` exists and ``overwrite`` is False (checked again by the final rename, so
            a folder another run wrote meanwhile is kept), or it is not a genscene scene folder.
    """
    path = check_output(path, overwrite, kind="scene")
    meta = _meta_record(scene)  # fails before anything is written
    split = _split_points(scene)
    if split is not None:
        meta["points"] = split[2]
    with atomic_path(path, directory=True, replace=overwrite) as tmp:
        images = _write_frames(tmp, scene)
        depths = _write_depths(tmp, scene) if scene.depths is not None else None
        if scene.depths is not None:
            meta["depth_preview"] = _write_depth_previews(tmp, scene)
        write_video(tmp / "video.mp4", scene.frames, fps=scene.fps)
        save_cameras_json(tmp / "cameras.json", scene.cameras, images)
        _write_transforms(tmp, scene.cameras, images, depths)
        if colmap:
            _write_colmap(tmp, scene)
        if split is not None:
            near, far, _ = split
            write_points_ply(tmp / "points.ply", *near)
            if len(far[0]):
                write_points_ply(tmp / POINTS_FAR, *far)
        if scene.gaussians is not None:
            write_gaussians_ply(tmp / "gaussians.ply", scene.gaussians)
        for name, write in (extras or {}).items():
            write(tmp / name)
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return path


def points_summary(path: str | Path) -> str:
    """``N points`` of a written scene, with its far background points when it has any (from meta.json)."""
    try:
        record = json.loads((Path(path) / "meta.json").read_text()).get("points") or {}
    except (OSError, ValueError, AttributeError):
        return "no point record"
    text = f"{record.get('count', 0)} points"
    if record.get("far_count"):
        text += (f" + {record['far_count']} far background points apart in {record['far_file']} "
                 f"(beyond {record['far_threshold']:.3g})")
    return text


def _split_points(scene: Scene):
    """``((xyz, rgb) near, (xyz, rgb) far, record for meta.json)`` of the scene's points, or None without points."""
    from genscene.geometry.points import FAR_FACTOR, far_point_mask

    if scene.points is None:
        return None
    xyz, rgb = scene.points
    far, threshold = far_point_mask(xyz, scene.cameras.centers.reshape(-1, 3))
    near = ~far
    pick = lambda mask: (xyz[mask], None if rgb is None else rgb[mask])  # noqa: E731
    record = {"file": "points.ply", "count": int(near.sum()), "far_file": POINTS_FAR if bool(far.any()) else None,
              "far_count": int(far.sum()), "far_threshold": threshold if math.isfinite(threshold) else None,
              "far_rule": f"farther from every camera than {FAR_FACTOR:g}x the median such distance"}
    return pick(near), pick(far), record


def _write_depth_previews(folder: Path, scene: Scene) -> dict[str, Any]:
    """Write ``depth_preview/NNNNN.png`` (colour-mapped, one near/far for the folder); return their meta.json record."""
    near, far = depth_io.preview_range(scene.depths)
    for i, depth in enumerate(scene.depths):
        depth_io.write_depth_preview(folder / DEPTH_PREVIEW / frame_name(i), depth, near, far)
    return {"folder": DEPTH_PREVIEW, "colormap": depth_io.PREVIEW_COLORMAP, "near": near, "far": far,
            "mapping": depth_io.PREVIEW_MAPPING}


def _meta_record(scene: Scene) -> dict[str, Any]:
    t, _, h, w = scene.frames.shape
    record: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION,
                              "num_frames": t, "width": w, "height": h, "fps": float(scene.fps),
                              "versions": collect_versions(), "peak_memory": peak_memory()}
    record.update({k: v for k, v in scene.meta.items() if k not in _STRUCTURAL_KEYS})
    return to_jsonable(record)


def _write_frames(folder: Path, scene: Scene) -> list[str]:
    names = [f"frames/{frame_name(i)}" for i in range(scene.num_frames)]
    for name, pixels in zip(names, frames_to_uint8(scene.frames)):  # one conversion for all frames
        write_rgb8(folder / name, pixels)
    return names


def _write_depths(folder: Path, scene: Scene) -> list[str]:
    """Write ``depth/NNNNN.{npz,png}`` and ``depth/scale.json``; return the PNG paths."""
    scale = depth_io.depth_scale(scene.depths)
    names = []
    for i, depth in enumerate(scene.depths):
        conf = None if scene.confidence is None else scene.confidence[i]
        depth_io.write_depth_npz(folder / "depth" / frame_name(i, ".npz"), depth, conf)
        depth_io.write_depth_png(folder / "depth" / frame_name(i, ".png"), depth, scale)
        names.append(f"depth/{frame_name(i, '.png')}")
    depth_io.write_depth_scale(folder / "depth", scale)
    return names


def _write_transforms(folder: Path, cameras: Cameras, images: list[str], depths: list[str] | None) -> None:
    from genscene.cameras.formats.nerfstudio import save_transforms

    save_transforms(folder / "transforms.json", cameras, images, depths)


def _write_colmap(folder: Path, scene: Scene) -> None:
    from genscene.cameras.formats.colmap import save_colmap

    points = None
    if scene.points is not None:
        xyz, rgb = scene.points
        rgb8 = colors_to_uint8(rgb) if rgb is not None else colors_to_uint8(torch.full_like(xyz, 0.5))
        points = (xyz.detach().cpu().double().numpy(), rgb8)
    names = [frame_name(i) for i in range(scene.num_frames)]
    save_colmap(folder / "sparse" / "0", scene.cameras, names, binary=False, points=points)


# ------------------------------------------------------------------------------------ reading
def read_scene(path: str | Path) -> Scene:
    """Read and validate a scene folder written by :func:`write_scene`.

    Frames come from ``frames/`` (exact 8-bit values / 255), depth and confidence from
    ``depth/*.npz`` (``depth/*.png`` + ``scale.json`` where an npz is absent).

    Raises:
        InputError: naming the file: a missing file, a corrupt ``cameras.json`` / ``meta.json``,
            or frame counts or image sizes that disagree with ``cameras.json``.
    """
    path = Path(path)
    if not path.is_dir():
        raise InputError(path, "scene folder not found" if not path.exists() else "not a folder")
    cameras, images = load_cameras_json(path / "cameras.json")
    t = len(cameras)
    meta, fps = _read_meta(path / "meta.json", cameras)
    names = images or [f"frames/{frame_name(i)}" for i in range(t)]
    _check_count(path / "frames", "*.png", t)
    frames = torch.stack([_read_frame(path / name, cameras) for name in names])  # [T, 3, H, W]
    depths, confidence = _read_depths(path / "depth", cameras) if (path / "depth").is_dir() else (None, None)
    points = None
    if (path / "points.ply").exists():
        points = read_scene_points(path)
    gaussians = read_gaussians_ply(path / "gaussians.ply") if (path / "gaussians.ply").exists() else None
    return Scene(frames=frames, cameras=cameras, depths=depths, confidence=confidence, points=points,
                 gaussians=gaussians, meta=meta, fps=fps)


def read_scene_points(path: str | Path) -> tuple[Tensor, Tensor | None]:
    """A scene folder's ``points.ply`` then ``points_far.ply`` (when present) as one ``(xyz [N, 3], rgb [N, 3] | None)``:
    the whole cloud, far background included (renderers want it; a viewer frames ``points.ply`` alone)."""
    path = Path(path)
    clouds = [read_points_ply(path / name) for name in ("points.ply", POINTS_FAR) if (path / name).exists()]
    xyz = torch.cat([c["xyz"] for c in clouds])
    colours = [c["rgb"] for c in clouds]
    rgb = torch.cat(colours) if all(c is not None for c in colours) else None
    return xyz, rgb


def _read_meta(path: Path, cameras: Cameras) -> tuple[dict[str, Any], float]:
    meta = read_json(path)
    if not isinstance(meta, dict):
        raise InputError(path, f"expected a JSON object, got {type(meta).__name__}")
    if meta.get("format") != FORMAT:
        raise InputError(path, f"expected {FORMAT!r}, got {meta.get('format')!r}", "format")
    fps = as_number(meta.get("fps"), path, "fps", positive=True)
    expect = {"num_frames": len(cameras), "width": cameras.width, "height": cameras.height}
    for key, value in expect.items():
        if meta.get(key) != value:
            raise InputError(path, f"is {meta.get(key)!r} but cameras.json has {value}", key)
    return {k: v for k, v in meta.items() if k not in _STRUCTURAL_KEYS}, fps


def _check_count(folder: Path, pattern: str, expected: int) -> None:
    if not folder.is_dir():
        raise InputError(folder, "folder not found")
    found = len(list(folder.glob(pattern)))
    if found != expected:
        raise InputError(folder, f"holds {found} {pattern} files but cameras.json has {expected} frames")


def _read_frame(path: Path, cameras: Cameras) -> Tensor:
    image = read_image(path)  # [3, H, W]
    if (image.shape[2], image.shape[1]) != (cameras.width, cameras.height):
        raise InputError(path, f"image is {image.shape[2]}x{image.shape[1]} but cameras.json says "
                         f"{cameras.width}x{cameras.height}")
    return image


def _read_depths(folder: Path, cameras: Cameras) -> tuple[Tensor, Tensor | None]:
    """Depth ``[T, H, W]`` and confidence ``[T, H, W] | None`` from ``depth/``."""
    t, size = len(cameras), (cameras.height, cameras.width)
    use_npz = any(folder.glob("*.npz"))
    _check_count(folder, "*.npz" if use_npz else "*.png", t)
    scale = None if use_npz else depth_io.read_depth_scale(folder)
    depths, confs = [], []
    for i in range(t):
        file = folder / frame_name(i, ".npz" if use_npz else ".png")
        depth, conf = depth_io.read_depth_npz(file) if use_npz else (depth_io.read_depth_png(file, scale), None)
        if tuple(depth.shape) != size:
            raise InputError(file, f"depth is {tuple(depth.shape)} but cameras.json says (H, W) = {size}")
        depths.append(depth)
        confs.append(conf)
    has_conf = [c is not None for c in confs]
    if any(has_conf) and not all(has_conf):
        missing = folder / frame_name(has_conf.index(False), ".npz")
        raise InputError(missing, "has no confidence while other frames do", "confidence")
    return torch.stack(depths), (torch.stack(confs) if all(has_conf) else None)
