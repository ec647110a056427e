"""RealEstate10K camera files <-> :class:`Cameras`.

A file holds the video's URL on its first line, then one line per frame::

    timestamp fx fy cx cy 0 0 r00 r01 r02 t0 r10 r11 r12 t1 r20 r21 r22 t2

``timestamp`` is in microseconds; ``fx fy cx cy`` are normalised by the image width (fx, cx) and
height (fy, cy); the 3x4 world-to-camera matrix (OpenCV axes) is row-major. The image size is not
in the file, so loading takes it as arguments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from genscene.atomic import atomic_write_text
from genscene.cameras.cameras import Cameras
from genscene.cameras.formats._common import (
    check_intrinsics,
    check_rotation,
    flat_numpy,
    make_cameras,
    read_text,
    require_representable,
)
from genscene.errors import InputError

_N_VALUES = 19


def load_realestate10k(path: Path, width: int, height: int) -> tuple[Cameras, list[int], str | None]:
    """Read a RealEstate10K camera file for frames of ``width x height`` pixels.

    Returns:
        cameras ``[N]`` (float64), timestamps (microseconds) and the URL line (``None`` if absent).
    """
    path = Path(path)
    lines = [(n + 1, line.strip()) for n, line in enumerate(read_text(path).splitlines()) if line.strip()]
    url = None
    if lines and not _is_number(lines[0][1].split()[0]):
        url = lines.pop(0)[1]
    if not lines:
        raise InputError(path, "has no camera lines")
    rows, stamps = [], []
    for n, line in lines:
        tok = line.split()
        field = f"line {n}"
        if len(tok) != _N_VALUES:
            raise InputError(path, f"expected {_N_VALUES} numbers, got {len(tok)}", field)
        try:
            stamps.append(int(tok[0]))
            rows.append([float(t) for t in tok[1:]])
        except ValueError:
            raise InputError(path, f"expected numbers, got {line!r}", field) from None
        if not np.all(np.isfinite(rows[-1])):
            raise InputError(path, "contains NaN or infinite values", field)
    arr = np.array(rows)  # [N, 18]
    fx, fy, cx, cy = arr[:, 0] * width, arr[:, 1] * height, arr[:, 2] * width, arr[:, 3] * height
    K = np.zeros((len(arr), 3, 3))
    K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = fx, fy, cx, cy, 1
    check_intrinsics(K, path, "intrinsics")
    w2c = arr[:, 6:].reshape(-1, 3, 4)
    check_rotation(w2c[:, :, :3], path, "pose")
    return make_cameras(K, w2c, width, height), stamps, url


def save_realestate10k(
    path: Path, cameras: Cameras, timestamps: list[int] | None = None, url: str | None = None
) -> None:
    """Write ``cameras [N]`` as a RealEstate10K camera file (atomically).

    ``timestamps`` default to ``0, 1, 2, ...``; ``url`` (first line) defaults to a placeholder, as
    readers expect the first line to be the video's URL.
    """
    require_representable(cameras, "RealEstate10K")
    K, w2c = flat_numpy(cameras)
    n = K.shape[0]
    stamps = list(range(n)) if timestamps is None else [int(t) for t in timestamps]
    if len(stamps) != n:
        raise ValueError(f"save_realestate10k: {n} cameras but {len(stamps)} timestamps")
    w, h = cameras.width, cameras.height
    lines = [url if url is not None else "genscene"]
    for i in range(n):
        intr = (K[i, 0, 0] / w, K[i, 1, 1] / h, K[i, 0, 2] / w, K[i, 1, 2] / h)
        values = [*intr, 0.0, 0.0, *w2c[i, :3, :4].reshape(-1)]
        lines.append(" ".join([str(stamps[i]), *(repr(float(v)) for v in values)]))
    atomic_write_text(Path(path), "\n".join(lines) + "\n")


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
