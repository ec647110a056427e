"""Projection between world points, pixels and z-depth, for batched :class:`Cameras`."""

from __future__ import annotations

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras


def world_to_camera(points: Tensor, cameras: Cameras) -> Tensor:
    """Points ``[*B, N, 3]`` (world) -> ``[*B, N, 3]`` in each camera's OpenCV frame."""
    R = cameras.R.to(points)
    t = cameras.t.to(points)
    return points @ R.transpose(-1, -2) + t.unsqueeze(-2)


def camera_to_world(points: Tensor, cameras: Cameras) -> Tensor:
    """Points ``[*B, N, 3]`` in each camera's frame -> world ``[*B, N, 3]``."""
    c2w = cameras.c2w.to(points)
    return points @ c2w[..., :3, :3].transpose(-1, -2) + c2w[..., :3, 3].unsqueeze(-2)


def project(points: Tensor, cameras: Cameras) -> tuple[Tensor, Tensor]:
    """Project world points ``[*B, N, 3]``.

    Returns:
        uv ``[*B, N, 2]`` in pixels (pixel centres at +0.5) and z-depth ``[*B, N]``.
        Points behind the camera get ``z <= 0``; their uv is not meaningful.
    """
    xc = world_to_camera(points, cameras)
    z = xc[..., 2]
    pix = xc @ cameras.K.to(points).transpose(-1, -2)
    uv = pix[..., :2] / z.unsqueeze(-1).clamp_min(1e-12)
    return uv, z


def unproject_depth(depth: Tensor, cameras: Cameras) -> Tensor:
    """Lift a z-depth map ``[*B, H, W]`` to world points ``[*B, H, W, 3]`` through pixel centres.

    ``depth`` may be at another resolution than ``cameras``: the pixel grid is scaled to match.
    """
    h, w = depth.shape[-2:]
    uv = cameras.pixel_grid(h, w).to(depth)  # [H, W, 2]
    ones = uv.new_ones(*uv.shape[:-1], 1)
    pix = (torch.cat([uv, ones], dim=-1) * depth.unsqueeze(-1)).flatten(-3, -2)  # [*B, H*W, 3]
    K_inv = cameras.K.to(depth).inverse()
    xc = pix @ K_inv.transpose(-1, -2)
    return camera_to_world(xc, cameras).reshape(*depth.shape, 3)


def median_depth(depth: Tensor) -> float:
    """Median of the valid (finite, positive) values of a depth map ``[..., H, W]``; 1.0 when none is valid.
    The unit of genscene's trajectories and generator: frame 0's median depth."""
    valid = depth[torch.isfinite(depth) & (depth > 0)]
    return float(valid.median()) if valid.numel() else 1.0
