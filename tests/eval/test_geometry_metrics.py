"""Accuracy / completeness / Chamfer: known offsets, subsets, alignment, brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from scipy.spatial.transform import Rotation

from genscene.eval.geometry_metrics import GeometryMetricsConfig, geometry_metrics
from genscene.geometry.alignment import apply_sim3
from genscene.geometry.points import PointCloud, farthest_point_sample

RAW = GeometryMetricsConfig(align=False, num_samples=None)


def _plane(n: int = 15, spacing: float = 0.1) -> torch.Tensor:
    g = torch.arange(n, dtype=torch.float64) * spacing
    x, y = torch.meshgrid(g, g, indexing="ij")
    return torch.stack([x, y, torch.zeros_like(x)], -1).reshape(-1, 3)


@pytest.mark.parametrize("d", [0.01, 0.05, 0.3])
def test_shifted_plane_gives_the_offset(d):
    gt = _plane()
    # tilt the plane so the offset is along a non-axis normal
    R = torch.from_numpy(Rotation.from_euler("xy", [0.3, -0.5]).as_matrix())
    gt = gt @ R.T
    pred = gt + d * R[:, 2]
    m = geometry_metrics(pred, gt, RAW)
    assert m.accuracy == pytest.approx(d, abs=1e-12)
    assert m.completeness == pytest.approx(d, abs=1e-12)
    assert m.chamfer == pytest.approx(d, abs=1e-12)


def test_subset_is_accurate_but_incomplete():
    gt = _plane()
    pred = gt[gt[:, 0] < 0.75]  # half the plane
    m = geometry_metrics(PointCloud(pred), gt, RAW)
    assert m.accuracy == 0.0
    comp = cdist(gt.numpy(), pred.numpy()).min(1)
    assert m.completeness == pytest.approx(comp.mean(), abs=1e-12) and m.completeness > 0.1
    assert m.completeness_median == pytest.approx(np.median(comp), abs=1e-12)
    swapped = geometry_metrics(gt, pred, RAW)
    assert swapped.accuracy == pytest.approx(m.completeness) and swapped.completeness == 0.0


def test_matches_brute_force_on_random_clouds():
    gen = torch.Generator().manual_seed(0)
    pred = torch.randn(300, 3, generator=gen, dtype=torch.float64)
    gt = torch.randn(200, 3, generator=gen, dtype=torch.float64) * 1.2
    m = geometry_metrics(pred, gt, RAW)
    d = cdist(pred.numpy(), gt.numpy())
    assert m.accuracy == pytest.approx(d.min(1).mean(), abs=1e-12)
    assert m.completeness == pytest.approx(d.min(0).mean(), abs=1e-12)
    assert m.chamfer == pytest.approx((d.min(1).mean() + d.min(0).mean()) / 2, abs=1e-12)


def test_umeyama_alignment_removes_a_global_similarity():
    gt = torch.randn(400, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    R = torch.from_numpy(Rotation.from_euler("zyx", [0.7, -0.2, 1.1]).as_matrix())
    pred = apply_sim3(gt, 0.37, R, torch.tensor([3.0, -1.0, 2.0], dtype=torch.float64))
    unaligned = geometry_metrics(pred, gt, RAW)
    assert unaligned.chamfer > 1.0
    m = geometry_metrics(pred, gt, GeometryMetricsConfig(num_samples=None))
    assert m.chamfer < 1e-9
    s, R_hat, _ = m.sim3
    assert s == pytest.approx(1 / 0.37, rel=1e-9)
    np.testing.assert_allclose(R_hat, R.numpy().T, atol=1e-9)


def test_alignment_pairs_and_farthest_point_sampling():
    gen = torch.Generator().manual_seed(2)
    gt = torch.rand(3000, 3, generator=gen, dtype=torch.float64)
    pred = 2.0 * gt + 1.0  # a similarity of the ground truth, fitted from separate pairs
    subset = torch.arange(0, 3000, 7)
    pairs = (pred[:50], gt[:50])
    full = geometry_metrics(pred[subset], gt, GeometryMetricsConfig(num_samples=None), align_pairs=pairs)
    assert full.sim3[0] == pytest.approx(0.5, rel=1e-9)
    assert full.accuracy < 1e-9
    assert full.completeness == pytest.approx(cdist(gt.numpy(), gt[subset].numpy()).min(1).mean(), rel=1e-9)

    # FPS to 500 points: pred (429 points) is kept whole, gt is sampled from the seeded generator
    cfg = GeometryMetricsConfig(num_samples=500, seed=3)
    m = geometry_metrics(pred[subset], gt, cfg, align_pairs=pairs)
    g = torch.Generator().manual_seed(3)
    farthest_point_sample(gt[subset], 500, g)  # pred is sampled first (all kept, no draw)
    gt_s = gt[farthest_point_sample(gt, 500, g)].numpy()
    d = cdist(gt[subset].numpy(), gt_s)
    assert m.accuracy == pytest.approx(d.min(1).mean(), rel=1e-9)
    assert m.completeness == pytest.approx(d.min(0).mean(), rel=1e-9)
    assert 0 < m.accuracy < 0.08
    assert geometry_metrics(pred[subset], gt, cfg, align_pairs=pairs).as_dict() == m.as_dict()  # seeded


def test_alignment_without_correspondences_raises():
    with pytest.raises(ValueError, match="align_pairs"):
        geometry_metrics(_plane(), _plane()[:-1])
