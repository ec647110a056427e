"""Pose-building blocks shared by the trajectory presets.

All poses are camera-to-world ``c2w`` in OpenCV axes (+x right, +y down, +z forward), float64.
Frame 0 of every preset sits at the identity; the scene's look-at point is ``(0, 0, look_at_depth)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genscene.cameras.cameras import rigid_matrix

DTYPE = torch.float64

# The frame-0 "down" direction (OpenCV +y). Look-at rotations keep it as the roll reference so the
# horizon of frame 0 stays level; this is GEN3C's ``up=(0, 1, 0)`` read in OpenCV axes.
DOWN = (0.0, 1.0, 0.0)


def progress(num_frames: int) -> Tensor:
    """Normalised time ``[T]`` from 0 (frame 0) to 1 (last frame); ``[0.]`` for one frame."""
    if num_frames == 1:
        return torch.zeros(1, dtype=DTYPE)
    return torch.linspace(0.0, 1.0, num_frames, dtype=DTYPE)


def look_at(eye: Tensor, target: Tensor, down: tuple[float, float, float] = DOWN) -> Tensor:
    """Camera-to-world rotations ``[*B, 3, 3]`` whose optical axis points from ``eye`` to ``target``.

    Args:
        eye: camera centres ``[*B, 3]``.
        target: look-at points ``[*B, 3]`` (broadcast against ``eye``).
        down: world direction that should appear as image-down (no roll relative to it).

    Columns are the camera's right, down and forward axes in world coordinates.
    """
    eye, target = torch.broadcast_tensors(eye.to(DTYPE), target.to(DTYPE))
    forward = target - eye
    norm = forward.norm(dim=-1, keepdim=True)
    if bool((norm < 1e-12).any()):
        raise ValueError("look_at: the camera reached its look-at point (eye == target)")
    forward = forward / norm
    ref = torch.tensor(down, dtype=DTYPE).expand_as(forward)
    right = torch.cross(ref, forward, dim=-1)
    rnorm = right.norm(dim=-1, keepdim=True)
    if bool((rnorm < 1e-9).any()):
        raise ValueError("look_at: the view direction is parallel to the roll reference (looking straight up/down)")
    right = right / rnorm
    down_axis = torch.cross(forward, right, dim=-1)
    return torch.stack([right, down_axis, forward], dim=-1)


def axis_rotation(axis: tuple[float, float, float], angles: Tensor) -> Tensor:
    """Rotations ``[T, 3, 3]`` by ``angles [T]`` (radians, right-handed) about a fixed unit ``axis``."""
    a = torch.tensor(axis, dtype=DTYPE)
    a = a / a.norm()
    angles = angles.to(DTYPE)
    Kx = torch.tensor([[0.0, -a[2], a[1]], [a[2], 0.0, -a[0]], [-a[1], a[0], 0.0]], dtype=DTYPE)
    s = torch.sin(angles)[:, None, None]
    c = torch.cos(angles)[:, None, None]
    eye = torch.eye(3, dtype=DTYPE)
    return eye + s * Kx + (1 - c) * (Kx @ Kx)  # Rodrigues


def orbit(angles: Tensor, axis: tuple[float, float, float], pivot: Tensor) -> Tensor:
    """Rigidly rotate the frame-0 camera about the line through ``pivot [3]`` along ``axis``.

    Returns ``c2w [T, 4, 4]``: rotation ``R(angle)`` and centre ``pivot + R (0 - pivot)``, so a
    pivot on the optical axis of frame 0 stays on every frame's optical axis (image centre).
    """
    R = axis_rotation(axis, angles)
    pivot = pivot.to(DTYPE)
    centres = pivot - (R @ pivot)
    return rigid_matrix(R, centres)


def translate(centres: Tensor, rotations: Tensor | None = None) -> Tensor:
    """``c2w [T, 4, 4]`` from centres ``[T, 3]`` and rotations ``[T, 3, 3]`` (identity if None)."""
    if rotations is None:
        rotations = torch.eye(3, dtype=DTYPE).expand(centres.shape[0], 3, 3)
    return rigid_matrix(rotations.to(DTYPE), centres.to(DTYPE))


def circle_offsets(t: Tensor, radius_x: float, radius_y: float, turns: float, clockwise: bool) -> Tensor:
    """GEN3C's circle in the image plane of frame 0, starting at the origin: ``[T, 3]``.

    ``x = ±r_x (cos θ - 1)``, ``y = r_y sin θ`` with ``θ = 2π turns t``. With +y pointing down in
    the image, ``clockwise`` moves the camera down first and then left, i.e. clockwise on screen.
    """
    theta = 2 * math.pi * turns * t
    sign = 1.0 if clockwise else -1.0
    x = sign * radius_x * (torch.cos(theta) - 1)
    y = radius_y * torch.sin(theta)
    return torch.stack([x, y, torch.zeros_like(x)], dim=-1)
