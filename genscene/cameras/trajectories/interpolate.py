"""Smooth camera paths through key poses: quaternion slerp (or a C2 rotation spline) for the
orientation, a not-a-knot cubic spline for the camera centre (scipy)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor

from genscene.cameras.cameras import homogeneous, rigid_matrix


def key_times_or_uniform(num_keys: int, key_times: Tensor | np.ndarray | None) -> np.ndarray:
    """Key times as float64 ``[K]``: uniform on [0, 1] when None, else strictly increasing as given."""
    if key_times is None:
        return np.linspace(0.0, 1.0, num_keys) if num_keys > 1 else np.zeros(1)
    times = np.asarray(key_times, dtype=np.float64).reshape(-1)
    if times.shape[0] != num_keys:
        raise ValueError(f"interpolate_poses: {times.shape[0]} key times for {num_keys} key poses")
    if num_keys > 1 and not np.all(np.diff(times) > 0):
        raise ValueError("interpolate_poses: key times must be strictly increasing")
    return times


def interpolate_poses(
    key_c2w: Tensor,
    num_frames: int,
    key_times: Tensor | np.ndarray | None = None,
    rotation: Literal["slerp", "spline"] = "slerp",
) -> Tensor:
    """Camera-to-world poses ``[T, 4, 4]`` (float64) through ``key_c2w [K, 4, 4]`` (or ``[K, 3, 4]``).

    Frames are spaced uniformly in time from the first key time to the last; a frame whose time
    equals a key time reproduces that key exactly (up to rounding). With uniform key times
    (the default) and ``(T - 1)`` a multiple of ``(K - 1)``, key ``k`` lands on frame
    ``k (T - 1) / (K - 1)``.

    Args:
        key_c2w: key poses in any world frame; the output is in the same frame.
        num_frames: ``T >= 1``.
        key_times: ``[K]`` strictly increasing times of the keys (any unit); uniform when None.
        rotation: ``"slerp"``: piecewise quaternion slerp (constant angular speed per segment);
            ``"spline"``: scipy's ``RotationSpline`` (continuous angular velocity and acceleration).
    """
    from scipy.interpolate import CubicSpline
    from scipy.spatial.transform import Rotation, RotationSpline, Slerp

    key = homogeneous(torch.as_tensor(key_c2w, dtype=torch.float64))
    if key.ndim != 3:
        raise ValueError(f"interpolate_poses: expected [K, 4, 4] key poses, got {tuple(key.shape)}")
    num_keys = key.shape[0]
    times = key_times_or_uniform(num_keys, key_times)
    if num_keys == 1:
        return key.expand(num_frames, 4, 4).clone()
    frame_times = np.linspace(times[0], times[-1], num_frames) if num_frames > 1 else times[:1]
    frame_times = np.clip(frame_times, times[0], times[-1])  # guard rounding at the ends

    R_keys = key[:, :3, :3].numpy()
    centres = key[:, :3, 3].numpy()
    rotations = Rotation.from_matrix(R_keys)
    if rotation == "slerp":
        R = Slerp(times, rotations)(frame_times).as_matrix()
    elif rotation == "spline":
        R = RotationSpline(times, rotations)(frame_times).as_matrix()
    else:
        raise ValueError(f"interpolate_poses: rotation must be 'slerp' or 'spline', got {rotation!r}")
    C = CubicSpline(times, centres, axis=0, bc_type="not-a-knot")(frame_times)
    return rigid_matrix(torch.from_numpy(R), torch.from_numpy(C))


def resample_poses(c2w: Tensor, num_frames: int, rotation: Literal["slerp", "spline"] = "slerp") -> Tensor:
    """A dense path ``[N, 4, 4]`` resampled to ``num_frames`` frames (the input frames as uniform keys)."""
    if c2w.shape[0] == num_frames:
        return torch.as_tensor(c2w, dtype=torch.float64).clone()
    return interpolate_poses(c2w, num_frames, rotation=rotation)
