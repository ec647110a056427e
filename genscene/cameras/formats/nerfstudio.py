"""nerfstudio ``transforms.json`` <-> :class:`Cameras`.

Layout written (nerfstudio's standard keys)::

    {"camera_model": "OPENCV", "w": W, "h": H, "fl_x": .., "fl_y": .., "cx": .., "cy": ..,
     "k1": 0, "k2": 0, "p1": 0, "p2": 0,
     "frames": [{"file_path": "frames/00000.png", "transform_matrix": <4x4 OpenGL c2w>,
                 "depth_file_path": "depth/00000.png"}, ...]}

Intrinsics shared by every frame are written once at the top level; when they differ each frame
carries its own ``fl_x, fl_y, cx, cy`` (nerfstudio reads per-frame values for any key missing at
the top). ``transform_matrix`` is camera-to-world in OpenGL axes. Pixel coordinates follow
nerfstudio (pixel centres at +0.5), the same as ours, so intrinsics are copied unchanged.
Distortion coefficients on reading are ignored (the cameras are treated as undistorted pinholes).

``applied_transform`` (3x4, written by nerfstudio's data processing) maps the original world (e.g.
COLMAP's) to the world of the frames; :func:`load_transforms` can undo it on request.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genscene.atomic import atomic_write_json
from genscene.cameras.cameras import Cameras, invert_rigid
from genscene.cameras.formats._common import (
    as_array,
    as_number,
    as_size,
    check_rotation,
    flat_numpy,
    make_cameras,
    read_json,
    require_key,
    require_representable,
)
from genscene.cameras.formats.opengl import GL_CV_FLIP
from genscene.errors import InputError

_INTRINSIC_KEYS = ("fl_x", "fl_y", "cx", "cy")
_PINHOLE_MODELS = ("OPENCV", "PINHOLE", "SIMPLE_PINHOLE")


def save_transforms(
    path: Path,
    cameras: Cameras,
    image_paths: list[str],
    depth_paths: list[str] | None = None,
) -> None:
    """Write ``cameras`` (batch ``[N]``) as a nerfstudio ``transforms.json`` at ``path`` (atomically).

    ``image_paths`` / ``depth_paths`` are written as given (nerfstudio resolves them relative to
    the file's folder).
    """
    require_representable(cameras, "transforms.json")
    K, w2c = flat_numpy(cameras)
    n = K.shape[0]
    if len(image_paths) != n:
        raise ValueError(f"save_transforms: {n} cameras but {len(image_paths)} image paths")
    if depth_paths is not None and len(depth_paths) != n:
        raise ValueError(f"save_transforms: {n} cameras but {len(depth_paths)} depth paths")
    # The exact rigid inverse (transpose), not np.linalg.inv, so round trips stay at 1e-15.
    c2w_gl = invert_rigid(torch.from_numpy(w2c)).numpy() @ GL_CV_FLIP.numpy()

    values = {"fl_x": K[:, 0, 0], "fl_y": K[:, 1, 1], "cx": K[:, 0, 2], "cy": K[:, 1, 2]}
    shared = {k: bool(np.all(v == v[0])) for k, v in values.items()}
    meta: dict = {"camera_model": "OPENCV", "w": cameras.width, "h": cameras.height}
    for key in _INTRINSIC_KEYS:
        if shared[key]:
            meta[key] = float(values[key][0])
    meta.update({"k1": 0.0, "k2": 0.0, "p1": 0.0, "p2": 0.0})
    frames = []
    for i in range(n):
        frame: dict = {"file_path": str(image_paths[i]), "transform_matrix": c2w_gl[i].tolist()}
        for key in _INTRINSIC_KEYS:
            if not shared[key]:
                frame[key] = float(values[key][i])
        if depth_paths is not None:
            frame["depth_file_path"] = str(depth_paths[i])
        frames.append(frame)
    meta["frames"] = frames
    atomic_write_json(Path(path), meta)


def read_applied_transform(path: Path) -> Tensor | None:
    """The file's ``applied_transform`` as a rigid ``[4, 4]`` float64 tensor, or ``None`` if absent."""
    meta = read_json(Path(path))
    return _applied_transform(meta, Path(path))


def load_transforms(
    path: Path, *, original_world: bool = False
) -> tuple[Cameras, list[str], list[str] | None]:
    """Read a nerfstudio ``transforms.json``.

    Args:
        path: the JSON file.
        original_world: when the file has an ``applied_transform``, return the cameras in the world
            before it was applied (e.g. COLMAP's, where its points live); by default the cameras
            are in the world of the file's ``transform_matrix`` values.

    Returns:
        cameras ``[N]`` (float64), image paths and depth paths (``None`` when no frame has one), as
        written in the file.
    """
    path = Path(path)
    meta = read_json(path)
    frames = require_key(meta, "frames", path, "frames")
    if not isinstance(frames, list) or not frames:
        raise InputError(path, "expected a non-empty list of frames", "frames")
    model = meta.get("camera_model", "OPENCV")
    if model not in _PINHOLE_MODELS:
        raise InputError(path, f"unsupported camera model {model!r} (expected one of {_PINHOLE_MODELS})",
                         "camera_model")

    K = np.zeros((len(frames), 3, 3))
    c2w_gl = np.zeros((len(frames), 4, 4))
    sizes, image_paths, depth_paths = set(), [], []
    for i, frame in enumerate(frames):
        where = f"frames[{i}]"
        K[i], size = _frame_intrinsics(meta, frame, path, where)
        sizes.add(size)
        M = as_array(require_key(frame, "transform_matrix", path, f"{where}.transform_matrix"), path,
                     f"{where}.transform_matrix")
        if M.shape not in ((4, 4), (3, 4)):
            raise InputError(path, f"expected a 4x4 or 3x4 matrix, got shape {M.shape}", f"{where}.transform_matrix")
        check_rotation(M[:3, :3], path, f"{where}.transform_matrix")
        c2w_gl[i, :3] = M[:3]
        c2w_gl[i, 3, 3] = 1
        image_paths.append(_path_field(frame, "file_path", path, where, required=True))
        depth_paths.append(_path_field(frame, "depth_file_path", path, where, required=False))
    if len(sizes) != 1:
        raise InputError(path, f"frames have different image sizes {sorted(sizes)}; one Cameras needs one size",
                         "frames")
    n_depth = sum(d is not None for d in depth_paths)
    if 0 < n_depth < len(frames):
        raise InputError(path, f"only {n_depth} of {len(frames)} frames have a depth_file_path", "frames")

    c2w_cv = c2w_gl @ GL_CV_FLIP.numpy()
    if original_world:
        applied = _applied_transform(meta, path)
        if applied is not None:
            c2w_cv = invert_rigid(applied).numpy() @ c2w_cv
    w2c = invert_rigid(torch.from_numpy(c2w_cv)).numpy()
    (width, height), = sizes
    cameras = make_cameras(K, w2c, width, height)
    return cameras, image_paths, (depth_paths if n_depth else None)


def _frame_or_top(meta: dict, frame: dict, key: str, path: Path, where: str):
    if key in frame:
        return frame[key]
    if key in meta:
        return meta[key]
    raise InputError(path, "missing (neither in the frame nor at the top level)", f"{where}.{key}")


def _frame_intrinsics(meta: dict, frame, path: Path, where: str) -> tuple[np.ndarray, tuple[int, int]]:
    """K ``[3, 3]`` and ``(w, h)`` of one frame: its own keys first, the top-level ones otherwise."""
    if not isinstance(frame, dict):
        raise InputError(path, "expected a JSON object", where)
    fx, fy = (as_number(_frame_or_top(meta, frame, k, path, where), path, f"{where}.{k}", positive=True)
              for k in ("fl_x", "fl_y"))
    cx, cy = (as_number(_frame_or_top(meta, frame, k, path, where), path, f"{where}.{k}") for k in ("cx", "cy"))
    w, h = (as_size(_frame_or_top(meta, frame, k, path, where), path, f"{where}.{k}") for k in ("w", "h"))
    return np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1.0]]), (w, h)


def _path_field(frame: dict, key: str, path: Path, where: str, required: bool) -> str | None:
    value = require_key(frame, key, path, f"{where}.{key}") if required else frame.get(key)
    if value is not None and not isinstance(value, str):
        raise InputError(path, "expected a string", f"{where}.{key}")
    return value


def _applied_transform(meta: dict, path: Path) -> Tensor | None:
    if not isinstance(meta, dict) or "applied_transform" not in meta:
        return None
    A = as_array(meta["applied_transform"], path, "applied_transform")
    if A.shape not in ((3, 4), (4, 4)):
        raise InputError(path, f"expected a 3x4 matrix, got shape {A.shape}", "applied_transform")
    check_rotation(A[:3, :3], path, "applied_transform")
    M = np.eye(4)
    M[:3] = A[:3]
    return torch.from_numpy(M)
