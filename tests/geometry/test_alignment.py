"""Umeyama Sim(3): exact recovery, agreement with scikit-image under noise, reflections, cameras."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation
from skimage.transform import SimilarityTransform

from genscene.cameras.cameras import Cameras, intrinsics_matrix
from genscene.geometry.alignment import align_cameras, apply_sim3, sim3_matrix, transform_cameras_sim3, umeyama
from genscene.geometry.projection import project


def _random_sim3(seed: int):
    rot = torch.from_numpy(Rotation.random(random_state=seed).as_matrix())
    gen = torch.Generator().manual_seed(seed)
    s = torch.tensor(0.3 + 3 * torch.rand((), generator=gen).item(), dtype=torch.float64)
    t = 5 * torch.randn(3, generator=gen, dtype=torch.float64)
    return s, rot, t


def _skimage_similarity(src: torch.Tensor, dst: torch.Tensor) -> SimilarityTransform:
    """scikit-image's own Umeyama estimate, the independent reference."""
    if hasattr(SimilarityTransform, "from_estimate"):
        ref = SimilarityTransform.from_estimate(src.numpy(), dst.numpy())
    else:
        ref = SimilarityTransform(dimensionality=3)
        assert ref.estimate(src.numpy(), dst.numpy())
    assert ref
    return ref


def _points(n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_recovers_known_sim3_exactly():
    for seed in range(5):
        s, R, t = _random_sim3(seed)
        src = _points(50, seed + 10)
        s_hat, R_hat, t_hat = umeyama(src, apply_sim3(src, s, R, t))
        assert abs(float(s_hat - s)) < 1e-9
        assert torch.allclose(R_hat, R, atol=1e-9, rtol=0)
        assert torch.allclose(t_hat, t, atol=1e-9, rtol=0)


def test_noisy_fit_matches_scikit_image_umeyama():
    s, R, t = _random_sim3(7)
    src = _points(200, 8)
    dst = apply_sim3(src, s, R, t) + 0.05 * _points(200, 9)
    s_hat, R_hat, t_hat = umeyama(src, dst)
    ref = _skimage_similarity(src, dst)
    np.testing.assert_allclose(sim3_matrix(s_hat, R_hat, t_hat).numpy(), ref.params, atol=1e-9)
    assert abs(float(s_hat - s)) < 0.02 and torch.allclose(R_hat, R, atol=0.02)


def test_reflection_gives_proper_rotation():
    src = _points(30, 11)
    mirror = torch.diag(torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64))
    s_hat, R_hat, t_hat = umeyama(src, src @ mirror.T)
    assert torch.det(R_hat).item() == pytest.approx(1.0, abs=1e-12)
    ref = _skimage_similarity(src, src @ mirror.T)
    np.testing.assert_allclose(sim3_matrix(s_hat, R_hat, t_hat).numpy(), ref.params, atol=1e-9)


def test_rigid_fit_keeps_unit_scale():
    s, R, t = _random_sim3(12)
    src = _points(40, 13)
    s_hat, R_hat, t_hat = umeyama(src, apply_sim3(src, 1.0, R, t), with_scale=False)
    assert float(s_hat) == 1.0
    assert torch.allclose(R_hat, R, atol=1e-9) and torch.allclose(t_hat, t, atol=1e-9)


def test_degenerate_inputs_raise():
    with pytest.raises(ValueError):
        umeyama(torch.zeros(5, 3, dtype=torch.float64), _points(5, 0))
    with pytest.raises(ValueError):
        umeyama(_points(5, 0), _points(4, 1))


def _ring_cameras(n: int) -> Cameras:
    angles = torch.linspace(0, 1.5, n, dtype=torch.float64)
    c2w = torch.eye(4, dtype=torch.float64).repeat(n, 1, 1)
    for i, a in enumerate(angles):
        c2w[i, :3, :3] = torch.from_numpy(Rotation.from_euler("y", -float(a)).as_matrix())
        c2w[i, :3, 3] = torch.tensor([4 * float(torch.sin(a)), 0.3 * i, -4 * float(torch.cos(a))])
    return Cameras.from_c2w(intrinsics_matrix(50.0, 50.0, 32.0, 24.0).expand(n, 3, 3), c2w, 64, 48)


def test_sim3_camera_transform_preserves_projections():
    cams = _ring_cameras(5)
    s, R, t = _random_sim3(14)
    moved = transform_cameras_sim3(cams, s, R, t)
    pts = _points(20, 15).expand(5, 20, 3)
    uv0, z0 = project(pts, cams)
    uv1, z1 = project(apply_sim3(pts, s, R, t), moved)
    torch.testing.assert_close(uv1, uv0, atol=1e-9, rtol=0)
    torch.testing.assert_close(z1, s * z0, atol=1e-9, rtol=0)
    torch.testing.assert_close(moved.centers, apply_sim3(cams.centers, s, R, t), atol=1e-9, rtol=0)


def test_align_cameras_recovers_the_ground_truth():
    gt = _ring_cameras(6)
    s, R, t = _random_sim3(16)
    pred = transform_cameras_sim3(gt, s, R, t)
    aligned, (s_hat, _, _) = align_cameras(pred, gt)
    assert aligned.allclose(gt, atol=1e-9)
    assert float(s_hat) == pytest.approx(1 / float(s), rel=1e-9)
