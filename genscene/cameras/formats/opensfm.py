"""OpenSfM ``reconstruction.json`` <-> :class:`Cameras`.

A file is a list of reconstructions, each with ``cameras`` (intrinsics by name), ``shots`` (per
image: ``rotation`` as an angle-axis vector and ``translation``, world-to-camera,
``x_cam = R(rotation) X + translation``; OpenCV axes) and ``points``.

OpenSfM's normalised image coordinates put the origin at the image centre with the larger image
side = 1; its pixel coordinates put the first pixel's centre at 0. With ``s = max(w, h)`` a
``perspective`` camera (``focal``) or a ``brown``-family camera (``focal_x, focal_y, c_x, c_y``)
is, in our convention (pixel centres at +0.5)::

    fx = s * focal_x    fy = s * focal_y    cx = w / 2 + s * c_x    cy = h / 2 + s * c_y

Distortion (``k1, k2, ...``) is ignored with a warning; fisheye and spherical cameras are refused.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from genscene.atomic import atomic_write_json
from genscene.cameras.cameras import Cameras
from genscene.cameras.formats._common import (
    as_array,
    as_number,
    as_size,
    flat_numpy,
    make_cameras,
    read_json,
    require_key,
    require_representable,
)
from genscene.errors import InputError
from genscene.rotations import rotmat_to_rotvec_np, rotvec_to_rotmat_np

_BROWN_FAMILY = ("brown", "radial", "simple_radial")
_DISTORTION_KEYS = ("k1", "k2", "k3", "p1", "p2")


def load_opensfm(path: Path, reconstruction: int = 0) -> tuple[Cameras, list[str]]:
    """Read the shots of one reconstruction of an OpenSfM ``reconstruction.json``.

    Returns:
        cameras ``[N]`` (float64) and shot (image) names, in the file's order.
    """
    path = Path(path)
    rec = _reconstruction(read_json(path), path, reconstruction)
    where = f"[{reconstruction}]"
    cameras = require_key(rec, "cameras", path, f"{where}.cameras")
    shots = require_key(rec, "shots", path, f"{where}.shots")
    if not isinstance(shots, dict) or not shots:
        raise InputError(path, "expected a non-empty object of shots", f"{where}.shots")
    intrinsics: dict[str, tuple[np.ndarray, tuple[int, int]]] = {}
    K, w2c, names = [], [], []
    for name, shot in shots.items():
        field = f"{where}.shots.{name}"
        cam_key = require_key(shot, "camera", path, f"{field}.camera")
        if cam_key not in intrinsics:
            cam = require_key(cameras, cam_key, path, f"{where}.cameras.{cam_key}")
            intrinsics[cam_key] = _intrinsics(cam, path, f"{where}.cameras.{cam_key}")
        rot = as_array(require_key(shot, "rotation", path, f"{field}.rotation"), path, f"{field}.rotation", (3,))
        trans = as_array(require_key(shot, "translation", path, f"{field}.translation"), path,
                         f"{field}.translation", (3,))
        M = np.eye(4)
        M[:3, :3] = rotvec_to_rotmat_np(rot)
        M[:3, 3] = trans
        K.append(intrinsics[cam_key][0])
        w2c.append(M)
        names.append(name)
    sizes = {intrinsics[shot["camera"]][1] for shot in shots.values()}
    if len(sizes) != 1:
        raise InputError(path, f"shots use cameras of different image sizes {sorted(sizes)}; "
                         "one Cameras needs one size", f"{where}.cameras")
    (width, height), = sizes
    return make_cameras(np.stack(K), np.stack(w2c), width, height), names


def load_opensfm_points(path: Path, reconstruction: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The points of one reconstruction: ``xyz [P, 3]`` float64 and ``rgb [P, 3]`` uint8."""
    path = Path(path)
    rec = _reconstruction(read_json(path), path, reconstruction)
    points = rec.get("points", {})
    where = f"[{reconstruction}].points"
    if not isinstance(points, dict):
        raise InputError(path, "expected an object of points", where)
    xyz = [as_array(require_key(p, "coordinates", path, f"{where}.{k}.coordinates"), path,
                    f"{where}.{k}.coordinates", (3,)) for k, p in points.items()]
    rgb = [as_array(p.get("color", [0, 0, 0]), path, f"{where}.{k}.color", (3,)) for k, p in points.items()]
    return (np.array(xyz, dtype=np.float64).reshape(-1, 3),
            np.clip(np.rint(np.array(rgb).reshape(-1, 3)), 0, 255).astype(np.uint8))


def save_opensfm(
    path: Path,
    cameras: Cameras,
    names: list[str],
    points: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Write ``cameras [N]`` as a one-reconstruction ``reconstruction.json`` (atomically).

    One OpenSfM camera per distinct K: ``perspective`` when fx == fy and the principal point is
    the image centre, else ``brown`` (zero distortion). ``points`` is ``(xyz [P,3], rgb [P,3])``.
    """
    require_representable(cameras, "OpenSfM")
    K, w2c = flat_numpy(cameras)
    if len(names) != K.shape[0]:
        raise ValueError(f"save_opensfm: {K.shape[0]} cameras but {len(names)} names")
    if len(set(names)) != len(names):  # shots are keyed by name: a repeat would drop a camera silently
        raise ValueError(f"save_opensfm: shot names repeat ({sorted({n for n in names if names.count(n) > 1})[:3]})")
    w, h = cameras.width, cameras.height
    s = float(max(w, h))
    cams: dict[str, dict] = {}
    keys: dict[tuple[float, ...], str] = {}
    shots = {}
    rotations = rotmat_to_rotvec_np(w2c[:, :3, :3])
    for i, name in enumerate(names):
        params = (K[i, 0, 0], K[i, 1, 1], K[i, 0, 2], K[i, 1, 2])
        if params not in keys:
            keys[params] = f"genscene {len(keys)}"
            cams[keys[params]] = _camera_json(*params, w, h, s)
        shots[name] = {"rotation": rotations[i].tolist(), "translation": w2c[i, :3, 3].tolist(),
                       "camera": keys[params]}
    rec: dict = {"cameras": cams, "shots": shots, "points": {}}
    if points is not None:
        xyz, rgb = (np.asarray(p) for p in points)
        rec["points"] = {str(k): {"coordinates": xyz[k].astype(float).tolist(), "color": rgb[k].astype(float).tolist()}
                         for k in range(len(xyz))}
    atomic_write_json(Path(path), [rec])


def _reconstruction(data, path: Path, index: int) -> dict:
    if not isinstance(data, list) or not data:
        raise InputError(path, "expected a non-empty list of reconstructions", "reconstructions")
    if not 0 <= index < len(data):
        raise InputError(path, f"has {len(data)} reconstructions, asked for index {index}", "reconstructions")
    if not isinstance(data[index], dict):
        raise InputError(path, "expected a JSON object", f"[{index}]")
    return data[index]


def _intrinsics(cam: dict, path: Path, field: str) -> tuple[np.ndarray, tuple[int, int]]:
    kind = cam.get("projection_type", "perspective") if isinstance(cam, dict) else None
    w = as_size(require_key(cam, "width", path, f"{field}.width"), path, f"{field}.width")
    h = as_size(require_key(cam, "height", path, f"{field}.height"), path, f"{field}.height")
    s = max(w, h)
    if kind == "perspective":
        fx = fy = as_number(require_key(cam, "focal", path, f"{field}.focal"), path, f"{field}.focal", positive=True)
        cx = cy = 0.0
    elif kind in _BROWN_FAMILY:
        fx, fy = (as_number(require_key(cam, k, path, f"{field}.{k}"), path, f"{field}.{k}", positive=True)
                  for k in ("focal_x", "focal_y"))
        cx, cy = (as_number(cam.get(k, 0.0), path, f"{field}.{k}") for k in ("c_x", "c_y"))
    else:
        raise InputError(path, f"projection type {kind!r} is not a perspective model we read "
                         f"(perspective, {', '.join(_BROWN_FAMILY)})", f"{field}.projection_type")
    if any(as_number(cam.get(k, 0.0), path, f"{field}.{k}") != 0 for k in _DISTORTION_KEYS):
        warnings.warn(f"{path}: {field}: distortion ignored (camera read as a pinhole)", stacklevel=3)
    K = np.array([[s * fx, 0, w / 2 + s * cx], [0, s * fy, h / 2 + s * cy], [0, 0, 1.0]])
    return K, (w, h)


def _camera_json(fx: float, fy: float, cx: float, cy: float, w: int, h: int, s: float) -> dict:
    if fx == fy and cx == w / 2 and cy == h / 2:
        return {"projection_type": "perspective", "width": w, "height": h, "focal": fx / s, "k1": 0.0, "k2": 0.0}
    return {"projection_type": "brown", "width": w, "height": h, "focal_x": fx / s, "focal_y": fy / s,
            "c_x": (cx - w / 2) / s, "c_y": (cy - h / 2) / s, "k1": 0.0, "k2": 0.0, "k3": 0.0, "p1": 0.0, "p2": 0.0}
