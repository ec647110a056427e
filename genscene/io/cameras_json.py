"""genscene's own ``cameras.json``: OpenCV intrinsics and world-to-camera extrinsics per frame.

Layout (values float64, written with full JSON precision)::

    {"convention": "opencv_w2c", "width": W, "height": H,
     "frames": [{"image": "frames/00000.png", "K": [[fx, s, cx], [0, fy, cy], [0, 0, 1]],
                 "w2c": [[r, r, r, t], [r, r, r, t], [r, r, r, t], [0, 0, 0, 1]]}, ...]}

``x_cam = w2c @ x_world``, ``(u, v, 1) ~ K @ x_cam``, +x right, +y down, +z forward, pixel centres at
+0.5 (DESIGN §3). ``image`` is optional and relative to the file's folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genscene.atomic import atomic_write_json
from genscene.cameras.cameras import Cameras
from genscene.cameras.formats._common import (
    as_array,
    as_size,
    check_bottom_row,
    check_intrinsics,
    check_rotation,
    flat_numpy,
    make_cameras,
    read_json,
    require_key,
)
from genscene.errors import InputError

CONVENTION = "opencv_w2c"


def save_cameras_json(path: str | Path, cameras: Cameras, image_paths: list[str] | None = None) -> None:
    """Write ``cameras [N]`` (any batch shape, flattened) to ``path`` atomically.

    Args:
        image_paths: optional ``N`` image paths relative to the file's folder, one per frame.
    """
    K, w2c = flat_numpy(cameras)  # [N, 3, 3], [N, 4, 4]
    if image_paths is not None and len(image_paths) != K.shape[0]:
        raise ValueError(f"save_cameras_json: {K.shape[0]} cameras but {len(image_paths)} image paths")
    frames = []
    for i in range(K.shape[0]):
        frame: dict = {"K": K[i].tolist(), "w2c": w2c[i].tolist()}
        if image_paths is not None:
            frame = {"image": str(image_paths[i]), **frame}
        frames.append(frame)
    atomic_write_json(Path(path), {"convention": CONVENTION, "width": cameras.width,
                                   "height": cameras.height, "frames": frames})


def load_cameras_json(path: str | Path) -> tuple[Cameras, list[str] | None]:
    """Read and validate a ``cameras.json``.

    Returns:
        cameras ``[N]`` float64 and the per-frame image paths (None when no frame names one).

    Raises:
        InputError: naming the file and the field (``convention``, ``width``, ``frames[i].K``, ...).
    """
    path = Path(path)
    meta = read_json(path)
    convention = require_key(meta, "convention", path, "convention")
    if convention != CONVENTION:
        raise InputError(path, f"expected {CONVENTION!r}, got {convention!r}", "convention")
    width = as_size(require_key(meta, "width", path, "width"), path, "width")
    height = as_size(require_key(meta, "height", path, "height"), path, "height")
    frames = require_key(meta, "frames", path, "frames")
    if not isinstance(frames, list) or not frames:
        raise InputError(path, "expected a non-empty list of frames", "frames")
    K = np.zeros((len(frames), 3, 3))
    w2c = np.zeros((len(frames), 4, 4))
    images: list[str | None] = []
    for i, frame in enumerate(frames):
        where = f"frames[{i}]"
        K[i] = as_array(require_key(frame, "K", path, f"{where}.K"), path, f"{where}.K", shape=(3, 3))
        check_intrinsics(K[i], path, f"{where}.K")
        w2c[i] = as_array(require_key(frame, "w2c", path, f"{where}.w2c"), path, f"{where}.w2c", shape=(4, 4))
        check_rotation(w2c[i, :3, :3], path, f"{where}.w2c")
        check_bottom_row(w2c[i], path, f"{where}.w2c", "last row must be 0 0 0 1")
        image = frame.get("image")
        if image is not None and not isinstance(image, str):
            raise InputError(path, "expected a string", f"{where}.image")
        images.append(image)
    named = sum(im is not None for im in images)
    if 0 < named < len(frames):
        raise InputError(path, f"only {named} of {len(frames)} frames name an image", "frames")
    return make_cameras(K, w2c, width, height), (images if named else None)  # type: ignore[return-value]
