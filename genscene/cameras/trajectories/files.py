"""Trajectory JSON files: full per-frame poses or key poses to interpolate.

Format (one object)::

    {
      "convention": "opencv_c2w",          # required; the only convention written and read
      "kind": "poses" | "key_poses",       # optional, default "poses"
      "poses": [[[r00, r01, r02, tx], ... 4 rows], ...],   # N >= 1 rigid 4x4 (or 3x4) c2w
      "times": [t0, t1, ...]               # optional, key_poses only: strictly increasing
    }

Loading validates everything and raises :class:`InputError` naming the file and field; nothing is
unpickled. Saving writes a temporary sibling and renames it into place.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from genscene.cameras.cameras import homogeneous, invert_rigid
from genscene.cameras.trajectories.core import check_translations
from genscene.cameras.trajectories.interpolate import interpolate_poses, resample_poses
from genscene.errors import InputError

CONVENTION = "opencv_c2w"
KINDS = ("poses", "key_poses")
ROTATION_TOL = 1e-5


@dataclass
class TrajectoryFile:
    """The content of a trajectory JSON file."""

    poses: Tensor
    """Camera-to-world poses ``[N, 4, 4]`` float64, OpenCV axes, as stored (not re-based)."""
    kind: Literal["poses", "key_poses"] = "poses"
    """``poses``: one pose per frame; ``key_poses``: keys to interpolate."""
    times: Tensor | None = None
    """Key times ``[N]`` (key_poses only); uniform when None."""


def save_trajectory_json(path: str | Path, poses: Tensor, kind: Literal["poses", "key_poses"] = "poses",
                         times: Tensor | None = None, overwrite: bool = True) -> Path:
    """Write ``poses [N, 4, 4]`` (c2w, OpenCV) to ``path`` atomically; returns the path.

    With ``overwrite=False`` an existing ``path`` (also one that appears while writing) is an
    :class:`InputError` and is kept. A folder is never replaced.
    """
    from genscene.atomic import atomic_path

    if kind not in KINDS:
        raise ValueError(f"save_trajectory_json: kind must be one of {KINDS}, got {kind!r}")
    poses = homogeneous(torch.as_tensor(poses, dtype=torch.float64))
    # one pose per line: readable and diff-friendly; json writes floats with repr (exact round trip)
    fields = [f'"convention": {json.dumps(CONVENTION)}', f'"kind": {json.dumps(kind)}']
    if times is not None:
        fields.append(f'"times": {json.dumps([float(t) for t in torch.as_tensor(times).reshape(-1)])}')
    rows = ",\n  ".join(json.dumps(pose) for pose in poses.tolist())
    fields.append(f'"poses": [\n  {rows}\n]')
    path = Path(path)
    with atomic_path(path, replace=overwrite) as tmp:
        tmp.write_text("{\n" + ",\n".join(fields) + "\n}\n")
    return path


def load_trajectory_json(path: str | Path) -> TrajectoryFile:
    """Read and validate a trajectory JSON file."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(path, f"cannot read: {err}") from None
    except json.JSONDecodeError as err:
        raise InputError(path, f"not valid JSON ({err.msg} at line {err.lineno})") from None
    except RecursionError:
        raise InputError(path, "JSON nested too deeply") from None
    if not isinstance(doc, dict):
        raise InputError(path, "expected a JSON object with 'convention' and 'poses'")
    if doc.get("convention") != CONVENTION:
        raise InputError(path, f"must be {CONVENTION!r}, got {doc.get('convention')!r}", field="convention")
    kind = doc.get("kind", "poses")
    if kind not in KINDS:
        raise InputError(path, f"must be one of {', '.join(KINDS)}, got {kind!r}", field="kind")
    poses = _parse_poses(path, doc.get("poses"))
    times = None
    if doc.get("times") is not None:
        times = _parse_times(path, doc["times"], poses.shape[0])
        if kind != "key_poses":
            raise InputError(path, "only key_poses files carry times", field="times")
    return TrajectoryFile(poses=poses, kind=kind, times=times)


def trajectory_from_json(path: str | Path, num_frames: int | None = None, relative: bool = True,
                         rotation: Literal["slerp", "spline"] = "slerp") -> Tensor:
    """Per-frame ``c2w [T, 4, 4]`` from a trajectory file.

    ``poses`` files give their frames (resampled when ``num_frames`` differs); ``key_poses`` files
    are interpolated to ``num_frames`` (default: the number of keys). With ``relative`` the path
    is re-based so that frame 0 is the identity (the ``make_trajectory`` convention).
    """
    traj = load_trajectory_json(path)
    if num_frames is not None and num_frames < 1:
        raise InputError(path, f"must be a positive integer, got {num_frames}", field="num_frames")
    n = num_frames or traj.poses.shape[0]
    if traj.kind == "key_poses":
        c2w = interpolate_poses(traj.poses, n, traj.times, rotation=rotation)
    else:
        c2w = resample_poses(traj.poses, n, rotation=rotation)
    if relative:
        c2w = invert_rigid(c2w[0]) @ c2w
    return c2w


def _parse_poses(path: Path, raw: object) -> Tensor:
    if not isinstance(raw, list) or not raw:
        raise InputError(path, "expected a non-empty list of 4x4 (or 3x4) matrices", field="poses")
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(path, "every pose must be a 4x4 (or 3x4) matrix of numbers", field="poses") from None
    if arr.ndim != 3 or arr.shape[1:] not in ((4, 4), (3, 4)):
        raise InputError(path, f"expected shape [N, 4, 4] or [N, 3, 4], got {list(arr.shape)}", field="poses")
    if not np.isfinite(arr).all():
        raise InputError(path, "contains NaN or infinity", field="poses")
    poses = homogeneous(torch.from_numpy(arr))
    check_translations(poses, path, "poses")
    for i, pose in enumerate(poses):
        where = f"poses[{i}]"
        if not torch.allclose(pose[3], torch.tensor([0.0, 0, 0, 1], dtype=torch.float64), atol=1e-8):
            raise InputError(path, f"last row must be [0, 0, 0, 1], got {pose[3].tolist()}", field=where)
        R = pose[:3, :3]
        err = (R.T @ R - torch.eye(3, dtype=torch.float64)).abs().max().item()
        if err > ROTATION_TOL or torch.det(R).item() <= 0:
            raise InputError(path, f"rotation is not orthonormal with det +1 (|R^T R - I| = {err:.2e}, "
                                   f"det = {torch.det(R).item():.4f})", field=where)
    return poses


def _parse_times(path: Path, raw: object, num_poses: int) -> Tensor:
    if not isinstance(raw, list) or len(raw) != num_poses:
        raise InputError(path, f"expected a list of {num_poses} numbers (one per pose)", field="times")
    try:
        times = [float(t) for t in raw]
    except (TypeError, ValueError):
        raise InputError(path, "every time must be a number", field="times") from None
    if not all(math.isfinite(t) for t in times) or any(b <= a for a, b in zip(times, times[1:])):
        raise InputError(path, "times must be finite and strictly increasing", field="times")
    return torch.tensor(times, dtype=torch.float64)
