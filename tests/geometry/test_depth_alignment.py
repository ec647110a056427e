"""Robust depth alignment (scale + shift against sparse depths) and the camera similarity fit."""

from __future__ import annotations

import math

import pytest
import torch

from genscene.cameras.cameras import Cameras, intrinsics_matrix, invert_rigid, rigid_matrix
from genscene.geometry.alignment import similarity_from_cameras, transform_cameras_sim3
from genscene.geometry.depth_alignment import DepthFit, fit_scale_shift, sample_depth


def test_fit_recovers_scale_and_shift_despite_outliers():
    g = torch.Generator().manual_seed(0)
    pred = 1 + 4 * torch.rand(400, generator=g, dtype=torch.float64)
    target = 2.5 * pred + 0.7 + 0.002 * torch.randn(400, generator=g, dtype=torch.float64)
    bad = torch.randperm(400, generator=g)[:120]  # 30 % mismatches, far off the line
    target[bad] = 1 + 20 * torch.rand(120, generator=g, dtype=torch.float64)
    fit = fit_scale_shift(pred, target)
    assert fit.kind == "scale+shift"
    assert fit.scale == pytest.approx(2.5, abs=5e-3) and fit.shift == pytest.approx(0.7, abs=2e-2)
    assert 270 <= fit.inliers <= 300 and fit.points == 400


def test_fit_ignores_invalid_entries_and_degrades_with_few_points():
    pred = torch.tensor([1.0, 2.0, 3.0, 4.0, 0.0, float("nan")])
    fit = fit_scale_shift(pred, 3 * pred)
    assert fit.kind == "scale" and fit.scale == pytest.approx(3.0) and fit.shift == 0 and fit.points == 4
    none = fit_scale_shift(torch.tensor([1.0, 2.0]), torch.tensor([2.0, 4.0]))
    assert none.kind == "none" and none.scale == 1.0


def test_a_negative_slope_falls_back_to_the_scale():
    pred = torch.linspace(1, 2, 50, dtype=torch.float64)
    fit = fit_scale_shift(pred, 5 - pred)  # depth ordering reversed: no positive affine map exists
    assert fit.kind == "scale" and fit.scale > 0


def test_apply_invalidates_non_positive_depth():
    fit = DepthFit(2.0, -3.0, 0, 0, "scale+shift")
    out = fit.apply(torch.tensor([0.0, 1.0, 2.0, 4.0]))
    assert out.tolist() == [0.0, 0.0, 1.0, 5.0]


def test_sample_depth_is_bilinear_at_pixel_centres_and_zero_near_invalid():
    h, w = 6, 8
    xs = torch.arange(w, dtype=torch.float64) + 0.5
    depth = (1 + xs)[None].expand(h, w).clone()  # depth = 1 + x at pixel centres
    xy = torch.tensor([[0.5, 0.5], [3.25, 2.5], [6.5, 5.5]], dtype=torch.float64)
    torch.testing.assert_close(sample_depth(depth, xy), 1 + xy[:, 0])
    depth[2, 3] = 0
    assert sample_depth(depth, torch.tensor([[3.25, 2.5], [20.0, 2.0]], dtype=torch.float64)).tolist() == [0.0, 0.0]


def _cameras(centres: torch.Tensor, g: torch.Generator) -> Cameras:
    q, _ = torch.linalg.qr(torch.randn(len(centres), 3, 3, generator=g, dtype=torch.float64))
    R = q * torch.linalg.det(q).sign()[:, None, None]
    w2c = invert_rigid(rigid_matrix(R, centres))
    return Cameras(intrinsics_matrix(100.0, 100.0, 32.0, 24.0).expand(len(centres), 3, 3), w2c, 64, 48)


@pytest.mark.parametrize("collinear", [False, True])
def test_similarity_from_cameras_recovers_a_known_transform(collinear):
    g = torch.Generator().manual_seed(1)
    centres = torch.randn(5, 3, generator=g, dtype=torch.float64)
    if collinear:  # a dolly: Umeyama on centres alone could not fix the roll about the line
        centres = torch.linspace(0, 1, 5, dtype=torch.float64)[:, None] * torch.tensor([1.0, 0.2, 0.1])
    src = _cameras(centres, g)
    a = torch.tensor([0.3, -0.5, 0.8], dtype=torch.float64)
    angle = 1.1
    K = torch.tensor([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]]) / a.norm()
    R = torch.eye(3, dtype=torch.float64) + math.sin(angle) * K + (1 - math.cos(angle)) * K @ K
    t = torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64)
    dst = transform_cameras_sim3(src, 3.7, R, t)
    s_fit, R_fit, t_fit = similarity_from_cameras(src, dst)
    assert float(s_fit) == pytest.approx(3.7, rel=1e-9)
    torch.testing.assert_close(R_fit, R)
    torch.testing.assert_close(t_fit, t)


def test_similarity_needs_distinct_centres():
    g = torch.Generator().manual_seed(2)
    src = _cameras(torch.zeros(3, 3, dtype=torch.float64), g)
    with pytest.raises(ValueError, match="coincide"):
        similarity_from_cameras(src, src)
