"""Rotations, one home for the whole tree: quaternions (w, x, y, z; Hamilton), matrices, rotation vectors.

Ground floor (imports nothing from genscene). Two families, by where the data lives:

- torch, batched, on any device and differentiable: :func:`quat_to_rotmat`, :func:`rotmat_to_quat`
  (Gaussians, the VGGT pose encoding in training);
- numpy float64 for file formats, on scipy's :class:`~scipy.spatial.transform.Rotation`:
  :func:`quat_wxyz_to_rotmat_np`, :func:`rotmat_to_quat_wxyz_np`, :func:`rotvec_to_rotmat_np`,
  :func:`rotmat_to_rotvec_np`.

Quaternions returned by either family have ``w >= 0``.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial.transform import Rotation
from torch import Tensor


def quat_to_rotmat(q: Tensor) -> Tensor:
    """Rotation matrices ``[..., 3, 3]`` from quaternions ``[..., 4]`` (w, x, y, z), normalised first."""
    w, x, y, z = torch.nn.functional.normalize(q, dim=-1).unbind(-1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        dim=-1,
    ).reshape(*q.shape[:-1], 3, 3)


def rotmat_to_quat(R: Tensor) -> Tensor:
    """Rotation matrices ``[..., 3, 3]`` -> unit quaternions ``[..., 4]`` (w, x, y, z) with ``w >= 0``.

    Uses the largest of the four candidate denominators (Shepperd's method) for stability; no host
    sync, so it stays on the device inside a training step.
    """
    m = R
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    diag = torch.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1)
    cand = torch.stack([  # [..., 4, 4]: row i is 4 q_i q, so any row with a large q_i gives q
        torch.stack([diag[..., 0], m21 - m12, m02 - m20, m10 - m01], -1),
        torch.stack([m21 - m12, diag[..., 1], m01 + m10, m02 + m20], -1),
        torch.stack([m02 - m20, m01 + m10, diag[..., 2], m12 + m21], -1),
        torch.stack([m10 - m01, m02 + m20, m12 + m21, diag[..., 3]], -1),
    ], -2)
    best = diag.argmax(-1)
    q = torch.gather(cand, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = torch.nn.functional.normalize(q, dim=-1)
    return torch.where(q[..., :1] < 0, -q, q)


def _flat(values: np.ndarray, tail: tuple[int, ...]) -> tuple[np.ndarray, tuple[int, ...]]:
    values = np.asarray(values, dtype=np.float64)
    batch = values.shape[: values.ndim - len(tail)]
    return values.reshape(-1, *tail), batch


def quat_wxyz_to_rotmat_np(q: np.ndarray) -> np.ndarray:
    """Quaternions ``[..., 4]`` (w, x, y, z), normalised first -> rotation matrices ``[..., 3, 3]``.

    A zero quaternion gives a nan matrix (callers validate what they read and name the file).
    """
    flat, batch = _flat(q, (4,))
    zero = np.linalg.norm(flat, axis=-1) < 1e-12
    R = np.full((len(flat), 3, 3), np.nan)
    if (~zero).any():
        R[~zero] = Rotation.from_quat(flat[~zero][:, [1, 2, 3, 0]]).as_matrix()
    return R.reshape(*batch, 3, 3)


def rotmat_to_quat_wxyz_np(R: np.ndarray) -> np.ndarray:
    """Rotation matrices ``[..., 3, 3]`` -> unit quaternions ``[..., 4]`` (w, x, y, z) with ``w >= 0``."""
    flat, batch = _flat(R, (3, 3))
    xyzw = Rotation.from_matrix(flat).as_quat()
    q = xyzw[:, [3, 0, 1, 2]]
    q[q[:, 0] < 0] *= -1
    return q.reshape(*batch, 4)


def rotvec_to_rotmat_np(v: np.ndarray) -> np.ndarray:
    """Rotation vectors ``[..., 3]`` (axis * angle, radians) -> ``[..., 3, 3]``."""
    flat, batch = _flat(v, (3,))
    return Rotation.from_rotvec(flat).as_matrix().reshape(*batch, 3, 3)


def rotmat_to_rotvec_np(R: np.ndarray) -> np.ndarray:
    """Rotation matrices ``[..., 3, 3]`` -> rotation vectors ``[..., 3]`` with angle in ``[0, pi]``."""
    flat, batch = _flat(R, (3, 3))
    return Rotation.from_matrix(flat).as_rotvec().reshape(*batch, 3)
