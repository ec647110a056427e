"""Projection matrices ``P = K [R | t]`` and the formats built on them.

- :func:`decompose_projection_matrix` / :func:`compose_projection_matrix`: RQ decomposition with a
  positive-diagonal ``K`` (``K[2,2] = 1``) and ``det R = +1``; ``P`` is defined up to scale (a
  negative scale included).
- DTU / NeuS ``cameras.npz``: ``world_mat_i`` (4x4, top 3x4 = ``P`` in pixels) and ``scale_mat_i``
  (4x4, maps the normalised unit-sphere space to the world: ``x_world = scale_mat @ x_norm``).
- Middlebury ``*_par.txt``: a count line, then ``name k11..k33 r11..r33 t1 t2 t3`` per image with
  ``x ~ K (R X + t)``, image origin at the top-left; K is used as-is (pixel centres at +0.5, the
  convention under which the project's 160x120 fixture was scaled).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genscene.atomic import atomic_write_many, atomic_write_text
from genscene.cameras.cameras import Cameras, rigid_matrix
from genscene.cameras.formats._common import (
    as_array,
    check_intrinsics,
    check_rotation,
    flat_numpy,
    make_cameras,
    read_npz,
    read_text,
)
from genscene.errors import InputError


# ==================================================================== P = K [R | t]
def compose_projection_matrix(K: Tensor, w2c: Tensor) -> Tensor:
    """``P [*B, 3, 4] = K [*B, 3, 3] @ w2c[..., :3, :4]``."""
    return K @ w2c[..., :3, :4]


def decompose_projection_matrix(P: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Split ``P [*B, 3, 4]`` (any nonzero scale) into ``K [*B,3,3]``, ``R [*B,3,3]``, ``t [*B,3]``.

    ``K`` is upper triangular with a positive diagonal and ``K[2,2] = 1``; ``R`` is a rotation
    (``det R = +1``); ``P ~ K [R | t]`` up to a scale factor.
    """
    P = torch.as_tensor(P)
    if not P.is_floating_point():
        P = P.to(torch.float64)
    if P.shape[-2:] != (3, 4):
        raise ValueError(f"decompose_projection_matrix: expected [..., 3, 4], got {tuple(P.shape)}")
    # P is defined up to scale: flip the sign so that det(M) > 0, then R = K^-1 M has det +1.
    sign = torch.sign(torch.linalg.det(P[..., :3, :3]))
    if torch.any(sign == 0):
        raise ValueError("decompose_projection_matrix: the left 3x3 block is singular")
    P = P * sign[..., None, None]
    M = P[..., :3, :3]
    # RQ from QR: with the row-reversal J, (J M)^T = Q' R'  =>  M = (J R'^T J)(J Q'^T).
    J = torch.flip(torch.eye(3, dtype=P.dtype, device=P.device), dims=[0])
    Q_, R_ = torch.linalg.qr((J @ M).transpose(-1, -2))
    K = J @ R_.transpose(-1, -2) @ J
    R = J @ Q_.transpose(-1, -2)
    D = torch.diag_embed(torch.sign(torch.diagonal(K, dim1=-2, dim2=-1)))  # make diag(K) > 0
    K, R = K @ D, D @ R
    t = torch.linalg.solve(K, P[..., :3, 3:]).squeeze(-1)
    return K / K[..., 2:3, 2:3], R, t


def cameras_from_projection_matrices(P: Tensor, width: int, height: int) -> Cameras:
    """:class:`Cameras` from pixel projection matrices ``P [*B, 3, 4]``."""
    K, R, t = decompose_projection_matrix(P)
    return Cameras(K, rigid_matrix(R, t), width, height)


def projection_matrices(cameras: Cameras) -> Tensor:
    """``P [*B, 3, 4]`` of ``cameras``."""
    return compose_projection_matrix(cameras.K, cameras.w2c)


# ==================================================================== DTU / NeuS cameras.npz
def load_dtu_cameras(
    path: Path, width: int, height: int, normalize: bool = True
) -> tuple[Cameras, np.ndarray]:
    """Read a DTU/NeuS ``cameras.npz`` (never unpickled).

    Args:
        width, height: the image size the ``world_mat`` pixels refer to.
        normalize: return cameras of the normalised space (NeuS: ``P = world_mat @ scale_mat``,
            where the object lies in the unit sphere); otherwise of the original world.

    Returns:
        cameras ``[N]`` (float64) and ``scale_mats [N, 4, 4]``.
    """
    path = Path(path)
    arrays = read_npz(path)
    n = sum(1 for k in arrays if k.startswith("world_mat_") and not k.startswith("world_mat_inv"))
    if n == 0:
        raise InputError(path, "missing (no world_mat_0)", "world_mat_0")
    P, S = np.zeros((n, 3, 4)), np.zeros((n, 4, 4))
    for i in range(n):
        key = f"world_mat_{i}"
        if key not in arrays:
            raise InputError(path, "missing (world_mat_i must be numbered 0..N-1)", key)
        W = as_array(arrays[key], path, key)
        if W.shape not in ((4, 4), (3, 4)):
            raise InputError(path, f"expected shape 4x4, got {'x'.join(map(str, W.shape))}", key)
        P[i] = W[:3]
        S[i] = as_array(arrays.get(f"scale_mat_{i}", np.eye(4)), path, f"scale_mat_{i}", shape=(4, 4))
    if normalize:
        P = P @ S
    try:
        K, R, t = decompose_projection_matrix(torch.from_numpy(P))
    except ValueError as err:
        raise InputError(path, str(err), "world_mat") from None
    return Cameras(K, rigid_matrix(R, t), width, height), S


def save_dtu_cameras(path: Path, cameras: Cameras, scale_mats: np.ndarray | None = None) -> None:
    """Write ``cameras [N]`` as a NeuS ``cameras.npz`` (``world_mat_i`` = ``[K [R|t]; 0 0 0 1]``).

    ``scale_mats [N, 4, 4]`` default to the identity (the cameras' world is the normalised space).
    """
    K, w2c = flat_numpy(cameras)
    n = K.shape[0]
    S = np.broadcast_to(np.eye(4), (n, 4, 4)) if scale_mats is None else np.asarray(scale_mats, np.float64)
    if S.shape != (n, 4, 4):
        raise ValueError(f"save_dtu_cameras: scale_mats must be [{n}, 4, 4], got {list(S.shape)}")
    arrays = {}
    for i in range(n):
        W = np.eye(4)
        W[:3] = K[i] @ w2c[i, :3]
        arrays[f"world_mat_{i}"] = W
        arrays[f"scale_mat_{i}"] = np.array(S[i])
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_many({Path(path): buf.getvalue()})


# ==================================================================== Middlebury *_par.txt
def load_middlebury_par(path: Path, width: int, height: int) -> tuple[Cameras, list[str]]:
    """Read a Middlebury ``*_par.txt`` for images of ``width x height``.

    Returns:
        cameras ``[N]`` (float64) and the image names.
    """
    path = Path(path)
    lines = [(n + 1, line.split()) for n, line in enumerate(read_text(path).splitlines()) if line.strip()]
    if not lines:
        raise InputError(path, "empty file")
    (n0, first), *rows = lines
    if len(first) != 1 or not first[0].isdigit():
        raise InputError(path, f"expected the image count, got {' '.join(first)!r}", "line 1")
    if int(first[0]) != len(rows):
        raise InputError(path, f"count says {first[0]} images, file has {len(rows)}", "line 1")
    names, values = [], []
    for n, tok in rows:
        if len(tok) != 22:
            raise InputError(path, f"expected 'name k11..k33 r11..r33 t1 t2 t3' (22 fields), got {len(tok)}",
                             f"line {n}")
        names.append(tok[0])
        try:
            values.append([float(v) for v in tok[1:]])
        except ValueError:
            raise InputError(path, "expected numbers after the name", f"line {n}") from None
    arr = as_array(values, path, "parameters", shape=(None, 21))
    K, R, t = arr[:, :9].reshape(-1, 3, 3), arr[:, 9:18].reshape(-1, 3, 3), arr[:, 18:]
    check_intrinsics(K, path, "K")
    check_rotation(R, path, "R")
    w2c = np.concatenate([R, t[:, :, None]], axis=2)
    return make_cameras(K, w2c, width, height), names


def save_middlebury_par(path: Path, cameras: Cameras, names: list[str]) -> None:
    """Write ``cameras [N]`` and image ``names`` as a Middlebury ``*_par.txt`` (atomically)."""
    K, w2c = flat_numpy(cameras)
    if len(names) != K.shape[0]:
        raise ValueError(f"save_middlebury_par: {K.shape[0]} cameras but {len(names)} names")
    if any(len(name.split()) != 1 for name in names):
        raise ValueError("save_middlebury_par: image names cannot contain whitespace")
    lines = [str(len(names))]
    for i, name in enumerate(names):
        values = [*K[i].reshape(-1), *w2c[i, :3, :3].reshape(-1), *w2c[i, :3, 3]]
        lines.append(" ".join([name, *(repr(float(v)) for v in values)]))
    atomic_write_text(Path(path), "\n".join(lines) + "\n")
