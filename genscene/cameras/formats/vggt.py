"""VGGT's 9-d camera encoding ``absT_quaR_FoV`` <-> :class:`Cameras`.

As in VGGT's released ``vggt/utils/pose_enc.py`` and ``rotation.py`` (checked against the code):

- ``[0:3]`` the translation ``t`` of the world-to-camera extrinsics ``[R | t]`` (OpenCV axes);
- ``[3:7]`` the rotation ``R`` as a quaternion in **(x, y, z, w)** order (scalar last), with
  ``w >= 0``;
- ``[7]`` ``fov_h = 2 atan((H / 2) / fy)`` and ``[8]`` ``fov_w = 2 atan((W / 2) / fx)``, radians.

Decoding puts the principal point at the image centre ``(W / 2, H / 2)``: the encoding carries
none. :func:`cameras_to_pose_encoding` therefore refuses off-centre principal points unless told
to drop them (``strict=False``).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genscene.atomic import atomic_write_many
from genscene.cameras.cameras import Cameras, intrinsics_matrix, rigid_matrix
from genscene.cameras.formats._common import (
    as_array,
    as_size,
    read_npz,
    require_representable,
)
from genscene.errors import InputError
from genscene.rotations import quat_to_rotmat, rotmat_to_quat


def cameras_to_pose_encoding(cameras: Cameras, strict: bool = True) -> Tensor:
    """``[*B, 9]`` VGGT ``absT_quaR_FoV`` encoding of ``cameras`` (same dtype as the cameras).

    With ``strict`` a ``ValueError`` is raised when a principal point is off the image centre or
    K has skew (the encoding cannot carry either).
    """
    if strict:
        require_representable(cameras, "VGGT pose encoding", centred=True)
    quat_xyzw = rotmat_to_quat(cameras.R)[..., [1, 2, 3, 0]]  # on the cameras' device: no host sync in training
    fov_h = 2 * torch.atan((cameras.height / 2) / cameras.fy)
    fov_w = 2 * torch.atan((cameras.width / 2) / cameras.fx)
    return torch.cat([cameras.t, quat_xyzw, fov_h[..., None], fov_w[..., None]], dim=-1)


def pose_encoding_to_cameras(encoding: Tensor, width: int, height: int) -> Cameras:
    """:class:`Cameras` from a VGGT encoding ``[*B, 9]`` for images of ``width x height``."""
    enc = torch.as_tensor(encoding)
    if not enc.is_floating_point():
        enc = enc.to(torch.float64)
    if enc.shape[-1] != 9:
        raise ValueError(f"pose_encoding_to_cameras: expected [..., 9], got {tuple(enc.shape)}")
    t, quat_xyzw, fov_h, fov_w = enc[..., :3], enc[..., 3:7], enc[..., 7], enc[..., 8]
    R = quat_to_rotmat(quat_xyzw[..., [3, 0, 1, 2]])
    fy = (height / 2) / torch.tan(fov_h / 2)
    fx = (width / 2) / torch.tan(fov_w / 2)
    K = intrinsics_matrix(fx, fy, width / 2, height / 2, dtype=enc.dtype).to(enc.device)
    return Cameras(K, rigid_matrix(R, t), width, height)


def save_pose_encoding(path: Path, cameras: Cameras, strict: bool = True) -> None:
    """Write the encoding of ``cameras`` to an ``.npz``: ``pose_enc [*B, 9]`` and ``image_size_hw [2]``."""
    enc = cameras_to_pose_encoding(cameras, strict=strict).detach().cpu().to(torch.float64).numpy()
    buf = io.BytesIO()
    np.savez(buf, pose_enc=enc, image_size_hw=np.array([cameras.height, cameras.width], dtype=np.int64))
    atomic_write_many({Path(path): buf.getvalue()})


def load_pose_encoding(path: Path) -> Cameras:
    """Read an ``.npz`` written by :func:`save_pose_encoding` (never unpickled)."""
    path = Path(path)
    arrays = read_npz(path)
    for key in ("pose_enc", "image_size_hw"):
        if key not in arrays:
            raise InputError(path, "missing", key)
    enc = as_array(arrays["pose_enc"], path, "pose_enc")
    if enc.ndim == 0 or enc.shape[-1] != 9:
        raise InputError(path, f"expected shape [..., 9], got {list(enc.shape)}", "pose_enc")
    fov = enc[..., 7:]
    if np.any(fov <= 0) or np.any(fov >= np.pi):
        raise InputError(path, "fields of view (entries 7, 8) must lie in (0, pi) radians", "pose_enc")
    hw = as_array(arrays["image_size_hw"], path, "image_size_hw", shape=(2,))
    height, width = as_size(hw[0], path, "image_size_hw"), as_size(hw[1], path, "image_size_hw")
    return pose_encoding_to_cameras(torch.from_numpy(enc), width, height)
