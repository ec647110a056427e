"""Flow-warped noise that stays exactly standard Gaussian (Go-with-the-Flow, as VideoFrom3D uses it).

The noise is tracked on a grid ``upsample`` times finer than the latent grid and carried from
frame to frame along the flow; each latent pixel's noise is the sum of its ``upsample^2`` fine
values divided by ``upsample`` (a sum of k iid N(0, 1) over sqrt(k) is N(0, 1)). Fine tracking lets
motions smaller than a latent pixel accumulate instead of rounding away.

One step (backward flow ``t+1 -> t``, i.e. every fine pixel of frame ``t+1`` *pulls* the fine
pixel of frame ``t`` its flow points into):

* a target whose source is outside the image or marked invalid (disoccluded) gets fresh noise;
* a source pulled by ``n`` targets (an expansion) is split among them as
  ``x / sqrt(n) + (xi_i - mean(xi))`` with fresh ``xi ~ N(0, 1)``: the conditional distribution of
  ``n`` iid N(0, 1) values whose sum is ``sqrt(n) x`` (Go-with-the-Flow's "regaussianize").
  Each value has variance ``1/n + (1 - 1/n) = 1``, values in a group are uncorrelated, and groups
  use disjoint sources, so the fine field stays exactly iid N(0, 1) at every frame while one
  target per source (``n = 1``) copies its value unchanged: pure translation moves noise exactly.

Time: VAEs such as Wan's compress 4 video frames into one latent frame (latent frame ``k`` ends at
video frame ``4k``), so :func:`flow_warped_noise` keeps video frames ``0, 4, 8, ...``.

From a mesh and a camera path (VideoFrom3D)::

    flows, visible = trajectory_flows(vertices, faces, cameras, direction="backward")
    noise = flow_warped_noise(flows, (C, T_lat, h, w), generator, valid=visible)

The generator must live on the flows' device.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def warp_noise_video(
    backward_flows: Tensor,
    num_channels: int,
    latent_size: tuple[int, int],
    generator: torch.Generator,
    valid: Tensor | None = None,
    upsample: int = 4,
) -> Tensor:
    """Noise for every video frame, carried along the flow.

    Args:
        backward_flows: ``[T-1, 2, H, W]`` flow from frame ``t+1`` to frame ``t`` on frame
            ``t+1``'s pixel grid, in that image's pixels (x then y), e.g.
            ``trajectory_flows(..., direction="backward")``.
        num_channels: latent channels ``C``.
        latent_size: ``(h, w)`` of the latent grid (the image is ``H x W``; any ratio).
        generator: seeds all noise (initial and re-injected).
        valid: optional ``[T-1, H, W]`` bool: False where the pixel of frame ``t+1`` is not
            visible in frame ``t`` (disocclusion), which then gets fresh noise.
        upsample: fine-grid factor per latent pixel.

    Returns:
        ``[C, T, h, w]`` float32, each frame iid N(0, 1).
    """
    h, w = latent_size
    hs, ws = h * upsample, w * upsample
    device = backward_flows.device
    fine = torch.randn(num_channels, hs * ws, generator=generator, device=device)
    frames = [_to_latent(fine, h, w, upsample)]
    for t in range(backward_flows.shape[0]):
        mask = None if valid is None else valid[t]
        src, ok = _fine_sources(backward_flows[t], mask, hs, ws)
        fine = _pull(fine, src, ok, generator)
        frames.append(_to_latent(fine, h, w, upsample))
    return torch.stack(frames, dim=1)


def flow_warped_noise(
    backward_flows: Tensor,
    shape: tuple[int, int, int, int],
    generator: torch.Generator,
    valid: Tensor | None = None,
    temporal_factor: int = 4,
    upsample: int = 4,
) -> Tensor:
    """Warped noise for a latent video ``shape = (C, T', h, w)``.

    ``backward_flows`` ``[T-1, 2, H, W]`` covers ``T = temporal_factor * (T' - 1) + 1`` video
    frames; latent frame ``k`` takes video frame ``temporal_factor * k``. Returns ``[C, T', h, w]``.
    """
    C, T_lat, h, w = shape
    T = backward_flows.shape[0] + 1
    if T != temporal_factor * (T_lat - 1) + 1:
        raise ValueError(f"flow_warped_noise: {T} video frames do not make {T_lat} latent frames "
                         f"at temporal factor {temporal_factor}")
    video = warp_noise_video(backward_flows, C, (h, w), generator, valid, upsample)
    return video[:, ::temporal_factor].contiguous()


def _to_latent(fine: Tensor, h: int, w: int, s: int) -> Tensor:
    """Fine field ``[C, (h s)(w s)]`` -> latent ``[C, h, w]``: block sums / s (stays N(0, 1))."""
    C = fine.shape[0]
    blocks = fine.reshape(C, h, s, w, s)
    return blocks.sum(dim=(2, 4)) / s


def _fine_sources(flow: Tensor, valid: Tensor | None, hs: int, ws: int) -> tuple[Tensor, Tensor]:
    """Source fine-pixel index per target fine pixel ``[hs*ws]`` and whether it is usable."""
    _, H, W = flow.shape
    dev = flow.device
    rows = torch.arange(hs, device=dev, dtype=torch.float64) + 0.5
    cols = torch.arange(ws, device=dev, dtype=torch.float64) + 0.5
    # The image pixel containing each fine pixel's centre (nearest sampling of the flow).
    img_r = torch.floor(rows * H / hs).long().clamp(0, H - 1)
    img_c = torch.floor(cols * W / ws).long().clamp(0, W - 1)
    f = flow.to(torch.float64)[:, img_r][:, :, img_c]  # [2, hs, ws] in image pixels
    src_x = cols[None, :] + f[0] * (ws / W)
    src_y = rows[:, None] + f[1] * (hs / H)
    cx, cy = torch.floor(src_x).long(), torch.floor(src_y).long()
    ok = (cx >= 0) & (cx < ws) & (cy >= 0) & (cy < hs) & torch.isfinite(src_x) & torch.isfinite(src_y)
    if valid is not None:
        ok &= valid.to(dev)[img_r][:, img_c].bool()
    src = (cy.clamp(0, hs - 1) * ws + cx.clamp(0, ws - 1)).reshape(-1)
    return src, ok.reshape(-1)


def _pull(fine: Tensor, src: Tensor, ok: Tensor, generator: torch.Generator) -> Tensor:
    """One regaussianized pull step on the fine field ``[C, N]`` (see module docstring)."""
    C, N = fine.shape
    fresh = torch.randn(C, N, generator=generator, device=fine.device)
    src_ok = src[ok]
    counts = torch.bincount(src_ok, minlength=N).to(fine.dtype)  # targets per source
    xi = fresh[:, ok]
    group_sum = torch.zeros(C, N, dtype=fine.dtype, device=fine.device).index_add_(1, src_ok, xi)
    group_mean = group_sum[:, src_ok] / counts[src_ok]
    n = counts[src_ok]
    out = fresh.clone()  # unusable targets keep fresh noise
    out[:, ok] = fine[:, src_ok] / torch.sqrt(n) + (xi - group_mean)
    return out


def noise_correlation(a: Tensor, b: Tensor) -> float:
    """Pearson correlation of two equally shaped noise tensors (a test and diagnostics helper)."""
    a, b = a.flatten().double(), b.flatten().double()
    a, b = a - a.mean(), b - b.mean()
    return float((a @ b) / math.sqrt(float((a @ a) * (b @ b))))
