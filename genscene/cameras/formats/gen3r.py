"""Gen3R ``cameras.json`` <-> :class:`Cameras`.

Layout (one JSON object)::

    {"extrinsics": [<4x4 world-to-camera, OpenCV axes>, ...],   # one per frame, frame 0 = identity
     "intrinsics": [<3x3 K in pixels>, ...],                     # one per frame (or a single one)
     "width": 560, "height": 560}                                # genscene's addition

The ``extrinsics`` / ``intrinsics`` keys and the per-frame 4x4 / 3x3 lists follow the public Gen3R
training data loader (``gen3r/training/datasets.py`` reads ``cameras["extrinsics"]`` and
``cameras["intrinsics"]``); the official inference script that reads ``--cameras`` was not
available to check. ``width`` / ``height`` are ours (Gen3R assumes 560x560, the default here when
absent). Gen3R expects relative cameras (frame 0 at the identity): :func:`save_gen3r_cameras`
re-expresses them so by default.
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

GEN3R_SIZE = 560


def save_gen3r_cameras(path: Path, cameras: Cameras, relative_to_first: bool = True) -> None:
    """Write ``cameras [N]`` as a Gen3R ``cameras.json`` (atomically).

    Args:
        relative_to_first: re-express the world in frame 0's camera frame (Gen3R's convention, so
            ``extrinsics[0]`` is the identity); ``False`` writes the poses as they are.
    """
    cams = cameras.reshape(-1)
    if relative_to_first:
        cams = cams.relative_to_first()
    K, w2c = flat_numpy(cams)
    atomic_write_json(Path(path), {
        "extrinsics": w2c.tolist(),
        "intrinsics": K.tolist(),
        "width": cameras.width,
        "height": cameras.height,
    })


def load_gen3r_cameras(path: Path, width: int | None = None, height: int | None = None) -> Cameras:
    """Read a Gen3R ``cameras.json`` into cameras ``[N]`` (float64).

    The image size is the file's ``width`` / ``height``, else the arguments, else 560x560.
    """
    path = Path(path)
    meta = read_json(path)
    E = as_array(require_key(meta, "extrinsics", path, "extrinsics"), path, "extrinsics", shape=(None, 4, 4))
    K = as_array(require_key(meta, "intrinsics", path, "intrinsics"), path, "intrinsics")
    if K.shape == (3, 3):
        K = np.broadcast_to(K, (len(E), 3, 3))
    if K.shape not in ((len(E), 3, 3), (1, 3, 3)):
        raise InputError(path, f"expected {len(E)}x3x3 (one per extrinsic), got {'x'.join(map(str, K.shape))}",
                         "intrinsics")
    K = np.broadcast_to(K, (len(E), 3, 3))
    if len(E) == 0:
        raise InputError(path, "has no frames", "extrinsics")
    check_intrinsics(K, path, "intrinsics")
    check_rotation(E[:, :3, :3], path, "extrinsics")
    check_bottom_row(E, path, "extrinsics", "last row of a 4x4 extrinsic must be 0 0 0 1")
    w = as_size(meta.get("width", width if width is not None else GEN3R_SIZE), path, "width")
    h = as_size(meta.get("height", height if height is not None else GEN3R_SIZE), path, "height")
    return make_cameras(K, E, w, h)
