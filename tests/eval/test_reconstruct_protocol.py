"""The reconstruction protocol: failure-aware pose metrics and Chamfer alignment on correspondences."""

from __future__ import annotations

import math

import pytest
import torch

from genscene.cameras.cameras import Cameras, rigid_matrix
from genscene.eval.pose_metrics import relative_pose_metrics
from genscene.eval.reconstruct_protocol import (
    GtFrame,
    chamfer_pixel_aligned,
    chamfer_sparse,
    pose_metrics_with_failures,
)
from genscene.geometry.alignment import apply_sim3
from genscene.geometry.projection import unproject_depth


def random_rotations(n: int, g: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(n, 3, 3, generator=g, dtype=torch.float64))
    return q * torch.linalg.det(q).sign()[:, None, None]  # det +1


def ring_cameras(n: int, w: int = 16, h: int = 12) -> Cameras:
    """``n`` cameras on a circle around the origin looking at it (OpenCV)."""
    K = torch.tensor([[20.0, 0, w / 2], [0, 20.0, h / 2], [0, 0, 1]], dtype=torch.float64).repeat(n, 1, 1)
    c2w = torch.eye(4, dtype=torch.float64).repeat(n, 1, 1)
    for i in range(n):
        a = 2 * math.pi * i / n
        centre = torch.tensor([3 * math.sin(a), 0.3 * i, -3 * math.cos(a)], dtype=torch.float64)
        z = -centre / centre.norm()
        x = torch.linalg.cross(torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64), z)
        x = x / x.norm()
        c2w[i, :3, :3] = torch.stack([x, torch.linalg.cross(z, x), z], dim=1)
        c2w[i, :3, 3] = centre
    return Cameras.from_c2w(K, c2w, w, h)


def test_pose_metrics_with_failures_matches_vggt_when_all_registered_and_counts_failures():
    gt = ring_cameras(5)
    g = torch.Generator().manual_seed(1)
    noisy = Cameras(gt.K, gt.w2c.clone(), gt.width, gt.height)
    noisy.w2c[:, :3, :3] = noisy.w2c[:, :3, :3] @ torch.linalg.matrix_exp(
        torch.linalg.cross(torch.eye(3, dtype=torch.float64)[None].expand(5, 3, 3),
                           0.1 * torch.randn(5, 1, 3, generator=g, dtype=torch.float64).expand(5, 3, 3)))
    all_in = pose_metrics_with_failures(noisy, torch.ones(5, dtype=torch.bool), gt)
    reference = relative_pose_metrics(noisy, gt)
    for key in ("auc@30", "rra@30", "rta@30"):
        assert all_in[key] == pytest.approx(reference[key])
    assert all_in["failed_pairs"] == 0

    # exact poses (up to a Sim(3)) on 4 views, view 2 unregistered with garbage: 4 of 10 pairs fail
    registered = torch.tensor([True, True, False, True, True])
    sim3 = rigid_matrix(random_rotations(1, g)[0], torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    pred = gt.transform_world(sim3).scale_world(2.5)
    pred.w2c[2] = torch.eye(4, dtype=torch.float64)
    out = pose_metrics_with_failures(pred, registered, gt)
    assert out["failed_pairs"] == 4
    assert out["rra@30"] == pytest.approx(60.0) and out["rta@30"] == pytest.approx(60.0)
    assert out["auc@30"] == pytest.approx(60.0)  # the 6 good pairs have ~0 error: every bin counts them


def _gt_scene(n: int = 3, h: int = 12, w: int = 16):
    gt = ring_cameras(n, w, h)
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    depth = (2.5 + 0.3 * torch.sin(xx / 3) + 0.2 * torch.cos(yy / 2)).expand(n, h, w)  # [N, H, W]
    mask = torch.ones(n, h, w, dtype=torch.bool)
    mask[:, :2] = False  # sky rows
    return gt, unproject_depth(depth, gt), mask


def test_gt_frame_puts_camera_zero_at_origin_with_unit_mean_distance():
    gt, points, mask = _gt_scene()
    frame = GtFrame.fit(gt, points, mask)
    local = frame.apply(points[mask])
    assert local.norm(dim=-1).mean().item() == pytest.approx(1.0)
    torch.testing.assert_close(frame.apply(gt.centers[0]), torch.zeros(3, dtype=torch.float64))


def test_chamfer_pixel_aligned_is_zero_for_a_similar_copy_and_grows_with_noise():
    gt, points, mask = _gt_scene()
    frame = GtFrame.fit(gt, points, mask)
    gt_norm = frame.apply(points)
    R = random_rotations(1, torch.Generator().manual_seed(2))[0]
    pred = apply_sim3(gt_norm, 0.3, R, torch.tensor([5.0, -1.0, 2.0], dtype=torch.float64))
    exact = chamfer_pixel_aligned(pred, gt_norm, mask)
    assert exact["chamfer"] < 1e-9
    noisy = chamfer_pixel_aligned(pred + 0.01 * torch.randn(pred.shape, generator=torch.Generator().manual_seed(3),
                                                            dtype=torch.float64), gt_norm, mask)
    assert 1e-3 < noisy["accuracy"] < 0.2


def test_chamfer_sparse_aligns_through_observations_and_ignores_an_outlier():
    gt, points, mask = _gt_scene()
    frame = GtFrame.fit(gt, points, mask)
    gt_norm = frame.apply(points)
    cloud = gt_norm[mask]
    g = torch.Generator().manual_seed(4)
    view = torch.randint(0, 3, (40,), generator=g)
    row, col = torch.randint(2, 12, (40,), generator=g), torch.randint(0, 16, (40,), generator=g)
    obs = torch.stack([view.double(), col + 0.5, row + 0.5], dim=1)  # pixel centres
    # SfM points: exact GT points seen in some unknown similarity frame
    R = random_rotations(1, g)[0]
    to_sfm = (4.0, R, torch.tensor([0.0, 1.0, -2.0], dtype=torch.float64))
    sfm = apply_sim3(gt_norm[view, row, col], *to_sfm)
    sfm[0] += 50.0  # a gross mismatch: dropped by the refit
    out = chamfer_sparse(sfm, obs, gt_norm, mask, cloud)
    assert out is not None
    assert torch.tensor(out["accuracy"]) < 1.5  # mean includes the one outlier point, far away
    clean = chamfer_sparse(sfm[1:], obs[1:], gt_norm, mask, cloud)
    assert clean["accuracy"] < 1e-9
    assert clean["completeness"] > 0  # 39 points cannot cover the dense GT cloud
    assert chamfer_sparse(sfm[:2], obs[:2], gt_norm, mask, cloud) is None  # fewer than 3 correspondences
