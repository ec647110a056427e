"""LLFF ``poses_bounds.npy`` <-> :class:`Cameras`.

Each row (``N x 17``) is a ``3 x 5`` matrix flattened row-major, then ``near, far``:
columns 0-2 are the camera's axes in world coordinates in LLFF's ``[down, right, back]`` order,
column 3 the camera centre (together a camera-to-world), column 4 is ``[height, width, focal]``.
The principal point is the image centre and pixels are square (one focal length).

Our OpenCV camera axes are ``[right, down, forward]``, so
``c2w_opencv[:, :3] = [right, down, -back] = [col1, col0, -col2]``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from genscene.atomic import atomic_write_many
from genscene.cameras.cameras import Cameras
from genscene.cameras.formats._common import (
    as_array,
    as_size,
    check_rotation,
    flat_numpy,
    make_cameras,
    require_representable,
)
from genscene.errors import InputError, existing_file


def load_llff(
    path: Path, width: int | None = None, height: int | None = None
) -> tuple[Cameras, np.ndarray]:
    """Read ``poses_bounds.npy``.

    Args:
        path: the ``.npy`` file (never unpickled).
        width, height: size of the images actually used (e.g. ``images_8``); the focal length is
            scaled from the stored ``hwf`` size to it (:meth:`Cameras.resize`). Default: ``hwf``'s size.

    Returns:
        cameras ``[N]`` (float64) and bounds ``[N, 2]`` (near, far depth).
    """
    path = existing_file(path)
    try:
        raw = np.load(path, allow_pickle=False)
    except ValueError as err:
        raise InputError(path, f"not a numeric .npy array ({err})") from None
    arr = as_array(raw, path, "poses_bounds", shape=(None, 17))
    if arr.shape[0] == 0:
        raise InputError(path, "has no cameras", "poses_bounds")
    poses = arr[:, :15].reshape(-1, 3, 5)
    bounds = arr[:, 15:17].copy()
    hwf = poses[:, :, 4]
    if np.any(hwf[:, :2] != hwf[0, :2]):
        raise InputError(path, "cameras have different image sizes; one Cameras needs one size", "hwf")
    h = as_size(hwf[0, 0], path, "hwf.height")
    w = as_size(hwf[0, 1], path, "hwf.width")
    f = hwf[:, 2]
    if np.any(f <= 0):
        raise InputError(path, "focal length must be positive", "hwf.focal")
    if np.any(bounds <= 0) or np.any(bounds[:, 0] >= bounds[:, 1]):
        raise InputError(path, "bounds must satisfy 0 < near < far", "bounds")
    down, right, back, centre = (poses[:, :, k] for k in range(4))
    R_c2w = np.stack([right, down, -back], axis=-1)  # columns: camera x, y, z in world
    check_rotation(R_c2w, path, "poses")
    w2c = np.zeros((len(arr), 4, 4))
    w2c[:, :3, :3] = np.swapaxes(R_c2w, -1, -2)
    w2c[:, :3, 3] = -np.einsum("nij,nj->ni", w2c[:, :3, :3], centre)
    w2c[:, 3, 3] = 1
    K = np.zeros((len(arr), 3, 3))
    K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = f, f, w / 2, h / 2, 1
    cameras = make_cameras(K, w2c, w, h)
    if width is not None or height is not None:
        cameras = cameras.resize(height if height is not None else h, width if width is not None else w)
    return cameras, bounds


def save_llff(path: Path, cameras: Cameras, bounds: np.ndarray) -> None:
    """Write ``cameras [N]`` and ``bounds [N, 2]`` (near, far) as ``poses_bounds.npy`` (atomically).

    Raises ``ValueError`` when the cameras have ``fx != fy`` or an off-centre principal point,
    which LLFF cannot store.
    """
    require_representable(cameras, "LLFF poses_bounds", single_focal=True, centred=True)
    K, w2c = flat_numpy(cameras)
    bounds = np.asarray(bounds, dtype=np.float64)
    if bounds.shape != (K.shape[0], 2):
        raise ValueError(f"save_llff: bounds must be [{K.shape[0]}, 2], got {list(bounds.shape)}")
    R_c2w = np.swapaxes(w2c[:, :3, :3], -1, -2)
    centre = -np.einsum("nij,nj->ni", R_c2w, w2c[:, :3, 3])
    right, down, forward = (R_c2w[:, :, k] for k in range(3))
    hwf = np.stack([np.full(len(K), cameras.height, dtype=np.float64),
                    np.full(len(K), cameras.width, dtype=np.float64), K[:, 0, 0]], axis=-1)
    poses = np.stack([down, right, -forward, centre, hwf], axis=-1)  # [N, 3, 5]
    rows = np.concatenate([poses.reshape(-1, 15), bounds], axis=1)
    buf = io.BytesIO()
    np.save(buf, rows)
    atomic_write_many({Path(path): buf.getvalue()})
