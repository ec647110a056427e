"""Shared helpers of the camera format converters: validated parsing, atomic writes, rotations.

Everything here works in float64 numpy: file values are parsed to numpy, checked (shape, finite,
rigid) and only then turned into a :class:`Cameras`. Every bad-input failure raises
:class:`InputError` naming the file and the field.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

from genscene.cameras.cameras import Cameras
from genscene.errors import InputError, existing_file
from genscene.io.atomic import atomic_path

# Tolerance for "this matrix is a rotation" on values read from files (often stored as float32).
ROTATION_TOL = 1e-4


# -------------------------------------------------------------------- atomic writes
def atomic_write_many(files: Mapping[Path, bytes]) -> None:
    """Write several files so that none is half-written: all go to temp names, then are renamed."""
    with contextlib.ExitStack() as stack:  # every rename happens only after every file was written
        for path, data in files.items():
            tmp = stack.enter_context(atomic_path(path))
            tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_many({Path(path): text.encode("utf-8")})


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


# -------------------------------------------------------------------- validated reading
def read_text(path: Path) -> str:
    path = existing_file(path)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InputError(path, f"not a UTF-8 text file ({err.reason})") from None


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of a numeric ``.npz`` (``allow_pickle=False``: object arrays are refused)."""
    path = existing_file(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except ValueError as err:
        raise InputError(path, f"not a numeric .npz archive ({err})") from None


def read_json(path: Path) -> Any:
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(path, f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None


def require_key(obj: Any, key: str, source: Path, field: str) -> Any:
    """``obj[key]`` where ``obj`` must be a JSON object; the field is named in the error."""
    if not isinstance(obj, dict):
        raise InputError(source, f"expected a JSON object, got {type(obj).__name__}", field.rsplit(".", 1)[0])
    if key not in obj:
        raise InputError(source, "missing", field)
    return obj[key]


def as_array(value: Any, source: Path, field: str, shape: tuple[int | None, ...] | None = None) -> np.ndarray:
    """``value`` as a finite float64 array of ``shape`` (``None`` entries match any size)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(source, "expected numbers", field) from None
    if shape is not None and (arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape))):
        want = "x".join("N" if s is None else str(s) for s in shape) or "a scalar"
        raise InputError(source, f"expected shape {want}, got {'x'.join(map(str, arr.shape)) or 'a scalar'}", field)
    if not np.all(np.isfinite(arr)):
        raise InputError(source, "contains NaN or infinite values", field)
    return arr


def as_number(value: Any, source: Path, field: str, positive: bool = False) -> float:
    x = float(as_array(value, source, field, shape=()))
    if positive and x <= 0:
        raise InputError(source, f"must be positive, got {x}", field)
    return x


def as_size(value: Any, source: Path, field: str) -> int:
    x = as_number(value, source, field, positive=True)
    if x != int(x):
        raise InputError(source, f"image size must be an integer, got {x}", field)
    return int(x)


def check_rotation(R: np.ndarray, source: Path, field: str, tol: float = ROTATION_TOL) -> None:
    """Raise unless every ``R [..., 3, 3]`` is orthonormal with determinant +1."""
    eye = np.eye(3)
    err = np.abs(R @ np.swapaxes(R, -1, -2) - eye).max(initial=0.0)
    if err > tol:
        raise InputError(source, f"rotation is not orthonormal (max |R R^T - I| = {err:.2g})", field)
    det = np.linalg.det(R)
    if np.any(det < 0):
        raise InputError(source, "rotation has determinant -1 (a reflection)", field)


def check_bottom_row(w2c: np.ndarray, source: Path, field: str, problem: str) -> None:
    """Refuse 4x4 transforms ``[..., 4, 4]`` whose last row is not ``0 0 0 1``."""
    if np.any(np.abs(w2c[..., 3, :] - np.array([0.0, 0.0, 0.0, 1.0])) > 1e-9):
        raise InputError(source, problem, field)


def check_intrinsics(K: np.ndarray, source: Path, field: str) -> None:
    """Raise unless every ``K [..., 3, 3]`` has positive focal lengths and last row ``0 0 1``."""
    if np.any(K[..., 0, 0] <= 0) or np.any(K[..., 1, 1] <= 0):
        raise InputError(source, "focal lengths must be positive", field)
    if np.any(np.abs(K[..., 2, :] - np.array([0.0, 0.0, 1.0])) > 1e-9) or np.any(np.abs(K[..., 1, 0]) > 1e-9):
        raise InputError(source, "intrinsics must be upper triangular with K[2,2] = 1", field)


# -------------------------------------------------------------------- Cameras <-> numpy
def make_cameras(K: np.ndarray, w2c: np.ndarray, width: int, height: int) -> Cameras:
    """A float64 :class:`Cameras` from numpy ``K [N,3,3]`` and ``w2c [N,4,4]`` (or 3x4)."""
    w2c = np.asarray(w2c, dtype=np.float64)
    if w2c.shape[-2:] == (3, 4):
        bottom = np.broadcast_to(np.array([0.0, 0.0, 0.0, 1.0]), (*w2c.shape[:-2], 1, 4))
        w2c = np.concatenate([w2c, bottom], axis=-2)
    return Cameras(torch.from_numpy(np.array(K, dtype=np.float64)), torch.from_numpy(np.array(w2c)), width, height)


def flat_numpy(cameras: Cameras) -> tuple[np.ndarray, np.ndarray]:
    """``K [N,3,3]`` and ``w2c [N,4,4]`` float64 numpy arrays of a flattened camera batch."""
    K = cameras.K.detach().cpu().to(torch.float64).reshape(-1, 3, 3).numpy()
    w2c = cameras.w2c.detach().cpu().to(torch.float64).reshape(-1, 4, 4).numpy()
    return K, w2c


def require_representable(
    cameras: Cameras, fmt: str, *, single_focal: bool = False, centred: bool = False, rtol: float = 1e-6
) -> None:
    """Raise ``ValueError`` if ``cameras`` carry intrinsics that format ``fmt`` cannot store.

    Every format here stores no skew; some store one focal length or no principal point.
    ``rtol`` is relative to the focal length (skew, fx - fy) and to the image size (principal point).
    """
    K, _ = flat_numpy(cameras)
    fx, fy = K[:, 0, 0], K[:, 1, 1]
    if np.any(np.abs(K[:, 0, 1]) > rtol * fx):
        raise ValueError(f"{fmt}: cannot store skewed intrinsics (max skew {np.abs(K[:, 0, 1]).max():.3g} px)")
    if single_focal and np.any(np.abs(fx - fy) > rtol * fx):
        raise ValueError(f"{fmt}: stores one focal length, cameras have fx != fy")
    if centred:
        off = np.maximum(np.abs(K[:, 0, 2] - cameras.width / 2), np.abs(K[:, 1, 2] - cameras.height / 2))
        if np.any(off > rtol * max(cameras.width, cameras.height)):
            raise ValueError(f"{fmt}: assumes the principal point at the image centre; it is off by {off.max():.3g} px")


# -------------------------------------------------------------------- rotations (float64 numpy)
def quat_wxyz_to_rotmat(q: np.ndarray) -> np.ndarray:
    """Unit quaternions ``[..., 4]`` (w, x, y, z; Hamilton) -> rotation matrices ``[..., 3, 3]``."""
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = np.moveaxis(q, -1, 0)
    R = np.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], axis=-1)
    return R.reshape(*q.shape[:-1], 3, 3)


def rotmat_to_quat_wxyz(R: np.ndarray) -> np.ndarray:
    """Rotation matrices ``[..., 3, 3]`` -> unit quaternions ``[..., 4]`` (w, x, y, z) with ``w >= 0``.

    Shepperd's method: build the quaternion from the largest of the four candidate pivots, which
    keeps it accurate near 180-degree rotations.
    """
    R = np.asarray(R, dtype=np.float64)
    m = R.reshape(-1, 3, 3)
    tr = np.trace(m, axis1=1, axis2=2)
    pivots = np.stack([tr, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], axis=1)
    choice = np.argmax(pivots, axis=1)
    q = np.empty((m.shape[0], 4))
    for n, (Rn, c) in enumerate(zip(m, choice)):
        if c == 0:
            s = 2 * np.sqrt(1 + tr[n])
            q[n] = [s / 4, (Rn[2, 1] - Rn[1, 2]) / s, (Rn[0, 2] - Rn[2, 0]) / s, (Rn[1, 0] - Rn[0, 1]) / s]
        else:
            i = c - 1
            j, k = (i + 1) % 3, (i + 2) % 3
            s = 2 * np.sqrt(max(1 + Rn[i, i] - Rn[j, j] - Rn[k, k], 0.0))
            v = np.empty(3)
            v[i] = s / 4
            v[j] = (Rn[j, i] + Rn[i, j]) / s
            v[k] = (Rn[k, i] + Rn[i, k]) / s
            q[n] = [(Rn[k, j] - Rn[j, k]) / s, *v]
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q[q[:, 0] < 0] *= -1
    return q.reshape(*R.shape[:-2], 4)


def axis_angle_to_rotmat(v: np.ndarray) -> np.ndarray:
    """Rotation vectors ``[..., 3]`` (axis * angle, radians) -> ``[..., 3, 3]`` (Rodrigues)."""
    v = np.asarray(v, dtype=np.float64)
    theta = np.linalg.norm(v, axis=-1)[..., None, None]
    Kx = np.zeros((*v.shape[:-1], 3, 3))
    Kx[..., 0, 1], Kx[..., 0, 2] = -v[..., 2], v[..., 1]
    Kx[..., 1, 0], Kx[..., 1, 2] = v[..., 2], -v[..., 0]
    Kx[..., 2, 0], Kx[..., 2, 1] = -v[..., 1], v[..., 0]
    small = theta < 1e-8
    safe = np.where(small, 1.0, theta)
    a = np.where(small, 1.0 - theta**2 / 6, np.sin(safe) / safe)
    b = np.where(small, 0.5 - theta**2 / 24, (1 - np.cos(safe)) / safe**2)
    return np.eye(3) + a * Kx + b * (Kx @ Kx)


def rotmat_to_axis_angle(R: np.ndarray) -> np.ndarray:
    """Rotation matrices ``[..., 3, 3]`` -> rotation vectors ``[..., 3]`` with angle in ``[0, pi]``."""
    q = rotmat_to_quat_wxyz(R)  # w >= 0, so the angle is in [0, pi]
    sin_half = np.linalg.norm(q[..., 1:], axis=-1, keepdims=True)
    angle = 2 * np.arctan2(sin_half, q[..., :1])
    scale = np.where(sin_half < 1e-12, 2.0, angle / np.where(sin_half < 1e-12, 1.0, sin_half))
    return q[..., 1:] * scale
