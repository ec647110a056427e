"""Robust affine fit of a predicted depth map to sparse metric-ish depths: ``target ~ scale * pred + shift``.

Used to put a network's dense depth into an SfM reconstruction's units: for each view, the depths
of the SfM points it observes (their z in that camera) against the network's depth at the same
pixels. SfM tracks include mismatches and the network errs at depth edges, so the fit is robust:
RANSAC on 2-point samples (seeded) finds the inliers, then iteratively reweighted least squares
with Cauchy weights refines on them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor


@dataclass
class DepthFitConfig:
    """How the affine depth fit runs."""

    min_points: int = 8
    """Fewest correspondences for a scale + shift fit; with fewer (but at least ``min_scale_points``) only a
    scale is fitted (median ratio)."""
    min_scale_points: int = 3
    """Fewest correspondences for any fit; below this the caller decides (e.g. a scale shared across views)."""
    iterations: int = 256
    """RANSAC 2-point samples."""
    inlier_rel: float = 0.05
    """Inlier threshold as a fraction of the median target depth."""
    irls_steps: int = 10
    """Reweighting steps after RANSAC."""
    seed: int = 0
    """Seed of the RANSAC sampling (the fit is deterministic)."""


@dataclass
class DepthFit:
    """One view's fit."""

    scale: float
    """Multiplies the predicted depth (> 0)."""
    shift: float
    """Added after scaling (target units)."""
    inliers: int
    """Correspondences consistent with the fit."""
    points: int
    """Correspondences given."""
    kind: str
    """``"scale+shift"``, ``"scale"`` or ``"none"`` (too few points: identity)."""

    def apply(self, depth: Tensor) -> Tensor:
        """Aligned depth; pixels whose aligned depth is not positive (or were invalid, 0) become 0."""
        out = depth * self.scale + self.shift
        return torch.where((depth > 0) & (out > 0), out, torch.zeros_like(out))


def _weighted_affine(x: Tensor, y: Tensor, w: Tensor) -> tuple[Tensor, Tensor]:
    """Weighted least squares ``y ~ a x + b``."""
    sw = w.sum()
    mx, my = (w * x).sum() / sw, (w * y).sum() / sw
    var = (w * (x - mx) ** 2).sum()
    a = (w * (x - mx) * (y - my)).sum() / var.clamp_min(1e-30)
    return a, my - a * mx


def fit_scale_shift(pred: Tensor, target: Tensor, config: DepthFitConfig | None = None) -> DepthFit:
    """Robustly fit ``target ~ scale * pred + shift`` over correspondences ``pred [M]``, ``target [M]``.

    Non-finite or non-positive entries are ignored. A fit whose scale is not positive, or whose
    inliers are fewer than ``min_points``, falls back to the scale alone (median of ``target / pred``).
    """
    cfg = config or DepthFitConfig()
    pred, target = pred.double().flatten(), target.double().flatten()
    ok = torch.isfinite(pred) & torch.isfinite(target) & (pred > 0) & (target > 0)
    x, y = pred[ok], target[ok]
    m = len(x)
    if m < cfg.min_scale_points:
        return DepthFit(1.0, 0.0, 0, m, "none")
    ratio_scale = float((y / x).median())
    tol = cfg.inlier_rel * float(y.median())
    scale_only = DepthFit(ratio_scale, 0.0, int(((ratio_scale * x - y).abs() < tol).sum()), m, "scale")
    if m < cfg.min_points:
        return scale_only
    g = torch.Generator().manual_seed(cfg.seed)
    i = torch.randint(m, (cfg.iterations,), generator=g)
    j = (i + 1 + torch.randint(m - 1, (cfg.iterations,), generator=g)) % m  # a second, different index
    dx = x[j] - x[i]
    a = torch.where(dx.abs() > 1e-12, (y[j] - y[i]) / dx, torch.zeros_like(dx))
    b = y[i] - a * x[i]
    counts = ((a[:, None] * x[None] + b[:, None] - y[None]).abs() < tol).sum(1)
    counts = torch.where(a > 0, counts, torch.zeros_like(counts))
    best = int(counts.argmax())
    inlier = (a[best] * x + b[best] - y).abs() < tol
    if int(inlier.sum()) < cfg.min_points:
        return scale_only
    a, b = _weighted_affine(x[inlier], y[inlier], torch.ones(int(inlier.sum()), dtype=x.dtype))
    for _ in range(cfg.irls_steps):
        r = a * x + b - y
        w = 1.0 / (1.0 + (r / tol) ** 2)  # Cauchy: mismatches beyond a few tol barely count
        a, b = _weighted_affine(x, y, w)
    if not a > 0:
        return scale_only
    inliers = int(((a * x + b - y).abs() < tol).sum())
    return DepthFit(float(a), float(b), inliers, m, "scale+shift")


def sample_depth(depth: Tensor, xy: Tensor) -> Tensor:
    """Bilinear samples of ``depth [H, W]`` at pixel coordinates ``xy [M, 2]`` (pixel centres at +0.5).

    Samples that touch an invalid (0) pixel or fall outside the image are 0.
    """
    h, w = depth.shape
    grid = torch.stack([2 * xy[:, 0] / w - 1, 2 * xy[:, 1] / h - 1], -1).to(depth.dtype)  # align_corners=False
    grid = grid[None, None]  # [1, 1, M, 2]
    value = F.grid_sample(depth[None, None], grid, mode="bilinear", align_corners=False, padding_mode="zeros")
    valid = F.grid_sample((depth > 0).to(depth.dtype)[None, None], grid, mode="bilinear", align_corners=False,
                          padding_mode="zeros")
    return torch.where(valid[0, 0, 0] > 1 - 1e-6, value[0, 0, 0], torch.zeros_like(value[0, 0, 0]))
