"""Epipolar geometry between cameras and SpatialCrafter's epipolar attention mask.

Pixel coordinates follow :class:`Cameras`: pixel centres at +0.5. For a grid coarser than the image
(the latent grid) the cameras are resized to the grid, so coordinates and distances are in grid
cells and a token's position is the centre of its cell.
"""

from __future__ import annotations

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras


def skew(v: Tensor) -> Tensor:
    """Cross-product matrices ``[*B, 3, 3]`` with ``skew(v) @ x == v x x`` for ``v [*B, 3]``."""
    zero = torch.zeros_like(v[..., 0])
    x, y, z = v.unbind(-1)
    return torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*v.shape[:-1], 3, 3)


def fundamental_matrix(cams_src: Cameras, cams_tgt: Cameras) -> Tensor:
    """Fundamental matrices ``[*B, 3, 3]`` with ``x_tgt^T F x_src = 0`` for matching pixels.

    ``x = (u, v, 1)`` in each camera's pixel coordinates; batch shapes broadcast. Relative pose
    ``X_tgt = R X_src + t`` gives ``E = [t]_x R`` and ``F = K_tgt^-T E K_src^-1`` (SpatialCrafter eq.
    of Sec. 3.1). ``F`` is zero when the centres coincide (no epipolar constraint).
    """
    R_s, t_s = cams_src.R, cams_src.t
    R_t, t_t = cams_tgt.R.to(R_s), cams_tgt.t.to(R_s)
    R = R_t @ R_s.transpose(-1, -2)
    t = t_t - (R @ t_s.unsqueeze(-1)).squeeze(-1)
    E = skew(t) @ R
    K_s_inv = torch.linalg.inv(cams_src.K)
    K_t_inv = torch.linalg.inv(cams_tgt.K.to(R_s))
    return K_t_inv.transpose(-1, -2) @ E @ K_s_inv


def epipolar_lines(F: Tensor, uv_src: Tensor) -> Tensor:
    """Epipolar lines ``[*B, N, 3]`` in the target image of source pixels ``uv_src [*B, N, 2]``.

    Lines ``(a, b, c)`` are scaled so ``a^2 + b^2 = 1``: ``a u + b v + c`` is then the signed pixel
    distance of ``(u, v)`` from the line. Degenerate lines (``F = 0``) come back as zeros.
    """
    x = torch.cat([uv_src, torch.ones_like(uv_src[..., :1])], dim=-1)
    lines = x @ F.transpose(-1, -2)  # row n = F @ x_n
    norm = lines[..., :2].norm(dim=-1, keepdim=True)
    return torch.where(norm > 0, lines / norm.clamp_min(1e-300), torch.zeros_like(lines))


def point_line_distance(lines: Tensor, uv: Tensor) -> Tensor:
    """Absolute distances ``[*B, N, M]`` of points ``uv [*B, M, 2]`` from unit lines ``[*B, N, 3]``."""
    x = torch.cat([uv, torch.ones_like(uv[..., :1])], dim=-1)
    return (lines @ x.transpose(-1, -2)).abs()


def epipolar_distance_map(cams_src: Cameras, cams_tgt: Cameras, height: int, width: int) -> Tensor:
    """Distances ``[*B, h*w, h*w]`` from each target cell centre (last axis) to the epipolar line of
    each source cell centre (middle axis), on an ``h x w`` grid over the images, in grid cells.

    Cells are flattened row-major (``index = row * w + col``). Pairs whose camera centres coincide
    have no epipolar line; their distances are ``inf``.
    """
    src = cams_src.resize(height, width)
    tgt = cams_tgt.resize(height, width)
    F = fundamental_matrix(src, tgt)
    uv = src.pixel_grid(height, width).reshape(-1, 2)  # [h*w, 2] cell centres, grid units
    lines = epipolar_lines(F, uv.expand(*F.shape[:-2], -1, 2))
    dist = point_line_distance(lines, uv.expand(*F.shape[:-2], -1, 2))
    degenerate = (lines[..., :2].abs().sum(-1) == 0).unsqueeze(-1)
    return torch.where(degenerate, torch.full_like(dist, float("inf")), dist)


def epipolar_attention_mask(cameras: Cameras, height: int, width: int, threshold: float,
                            min_baseline: float = 1e-6) -> Tensor:
    """SpatialCrafter's epipolar attention mask over the frames of ``cameras [T]``: bool ``[T, h*w, T, h*w]``.

    ``mask[i, p, k, q]`` says whether token ``p`` of frame ``i`` (query) may attend to token ``q``
    of frame ``k`` (key): tokens of the same frame always attend; across frames the key must lie
    within ``threshold`` grid cells of the query's epipolar line in frame ``k`` (distance of cell
    centres, SpatialCrafter Sec. 3.1). Frame pairs whose centres are closer than ``min_baseline``
    (world units) have no epipolar constraint and attend fully. ``mask.reshape(T*h*w, T*h*w)`` is
    the flat ``[query, key]`` layout attention kernels take (True = attend).

    Memory is ``(T h w)^2`` booleans: 13 frames of 16x16 tokens take 11 MB.
    """
    if len(cameras.batch_shape) != 1:
        raise ValueError(f"epipolar_attention_mask: expected cameras [T], got batch shape {tuple(cameras.batch_shape)}")
    T, N = cameras.batch_shape[0], height * width
    mask = torch.empty(T, N, T, N, dtype=torch.bool)
    centres = cameras.centers
    for i in range(T):  # one query frame at a time keeps the float map at T * N^2
        dist = epipolar_distance_map(cameras[i], cameras, height, width)  # [T, N, N], broadcast over targets
        close = (centres - centres[i]).norm(dim=-1) < min_baseline  # [T]
        frame_mask = (dist <= threshold) | close[:, None, None]
        frame_mask[i] = True
        mask[i] = frame_mask.permute(1, 0, 2)
    return mask
