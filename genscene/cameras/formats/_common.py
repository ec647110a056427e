"""Shared helpers of the camera format converters: validated parsing, atomic writes, rotations.

Everything here works in float64 numpy: file values are parsed to numpy, checked (shape, finite,
rigid) and only then turned into a :class:`Cameras`. Every bad-input failure raises
:class:`InputError` naming the file and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genscene.cameras.cameras import Cameras
from genscene.errors import InputError, existing_file

# Tolerance for "this matrix is a rotation" on values read from files (often stored as float32).
ROTATION_TOL = 1e-4


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
    except RecursionError:
        raise InputError(path, "JSON nested too deeply") from None


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
