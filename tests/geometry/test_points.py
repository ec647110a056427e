"""Point clouds: depth lifting, voxel down-sampling, farthest point sampling."""

from __future__ import annotations

import math

import pytest
import torch

from genscene.cameras.cameras import Cameras, intrinsics_matrix, rigid_matrix
from genscene.geometry.points import PointCloud, depth_to_points, farthest_point_sample, voxel_downsample
from genscene.geometry.projection import project


def _rotation(axis, angle) -> torch.Tensor:
    axis = torch.as_tensor(axis, dtype=torch.float64)
    axis = axis / axis.norm()
    K = torch.zeros(3, 3, dtype=torch.float64)
    K[0, 1], K[0, 2], K[1, 2] = -axis[2], axis[1], -axis[0]
    K = K - K.T
    return torch.eye(3, dtype=torch.float64) + math.sin(angle) * K + (1 - math.cos(angle)) * K @ K


def _cameras(t: int, h: int, w: int, seed: int = 0) -> Cameras:
    gen = torch.Generator().manual_seed(seed)
    Rs = torch.stack([_rotation(torch.randn(3, generator=gen), 0.4 * i + 0.1) for i in range(t)])
    ts = torch.randn(t, 3, generator=gen, dtype=torch.float64)
    K = intrinsics_matrix(30.0, 32.0, w / 2 + 0.3, h / 2 - 0.2).expand(t, 3, 3)
    return Cameras(K, rigid_matrix(Rs, ts), w, h)


def test_unproject_project_round_trip():
    t, h, w = 3, 6, 8
    cams = _cameras(t, h, w)
    depth = 1 + 4 * torch.rand(t, h, w, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    pc = depth_to_points(depth, cams)
    assert len(pc) == t * h * w
    uv, z = project(pc.xyz.reshape(t, h * w, 3), cams)
    grid = cams.pixel_grid().reshape(1, h * w, 2).expand(t, -1, -1)
    torch.testing.assert_close(uv, grid, atol=1e-9, rtol=0)
    torch.testing.assert_close(z, depth.reshape(t, h * w), atol=1e-9, rtol=0)


def test_mask_invalid_depth_colours_and_confidence():
    t, h, w = 2, 4, 5
    cams = _cameras(t, h, w)
    depth = torch.full((t, h, w), 2.0, dtype=torch.float64)
    depth[0, 0, 0] = 0.0
    depth[1, 2, 3] = float("nan")
    mask = torch.ones(t, h, w, dtype=torch.bool)
    mask[1, 0, :] = False
    images = torch.rand(t, 3, h, w, generator=torch.Generator().manual_seed(2))
    conf = torch.arange(t * h * w, dtype=torch.float64).reshape(t, h, w)
    pc = depth_to_points(depth, cams, images=images, mask=mask, confidence=conf)
    keep = mask & torch.isfinite(depth) & (depth > 0)
    assert len(pc) == int(keep.sum()) == t * h * w - 2 - w
    torch.testing.assert_close(pc.rgb, images.permute(0, 2, 3, 1)[keep].double())
    torch.testing.assert_close(pc.confidence, conf[keep])


def test_planar_depth_gives_coplanar_points():
    # A plane n . x_cam = d in camera 0's frame has z-depth d / (n . K^-1 [u, v, 1]) at each pixel.
    h, w = 12, 16
    cams = _cameras(1, h, w, seed=3)
    n = torch.tensor([0.2, -0.3, 1.0], dtype=torch.float64)
    n = n / n.norm()
    d = 3.0
    uv = cams.pixel_grid()
    rays = torch.cat([uv, torch.ones(h, w, 1, dtype=torch.float64)], -1) @ torch.linalg.inv(cams.K[0]).T
    depth = (d / (rays @ n)).unsqueeze(0)
    pc = depth_to_points(depth, cams)
    centred = pc.xyz - pc.xyz.mean(0)
    sv = torch.linalg.svdvals(centred)
    assert sv[2] < 1e-10 * sv[0]
    # and it is the right plane: in world coordinates, n_w . x = d with n_w = R^T n, offset d - n . t
    R, t = cams.R[0], cams.t[0]
    torch.testing.assert_close(pc.xyz @ (R.T @ n), torch.full((h * w,), d - float(n @ t), dtype=torch.float64))


def test_voxel_downsample_dense_grid_one_point_per_voxel_at_mean():
    # 4x3x2 voxels of size 0.5, each holding a 3x3x3 lattice of points at known offsets.
    size = 0.5
    offsets = torch.tensor([0.05, 0.2, 0.45], dtype=torch.float64)
    sub = torch.stack(torch.meshgrid(offsets, offsets, offsets, indexing="ij"), -1).reshape(-1, 3)
    cells = torch.stack(torch.meshgrid(torch.arange(4), torch.arange(3), torch.arange(2), indexing="ij"), -1)
    cells = cells.reshape(-1, 3).double() - torch.tensor([2.0, 1.0, 0.0], dtype=torch.float64)  # negatives too
    xyz = (cells[:, None, :] * size + sub[None]).reshape(-1, 3)
    rgb = torch.rand(len(xyz), 3, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    perm = torch.randperm(len(xyz), generator=torch.Generator().manual_seed(5))
    out = voxel_downsample(PointCloud(xyz[perm], rgb[perm]), size)
    assert len(out) == len(cells)
    expected_mean = cells * size + offsets.mean()
    order = torch.argsort(expected_mean[:, 0] * 100 + expected_mean[:, 1] * 10 + expected_mean[:, 2])
    torch.testing.assert_close(out.xyz, expected_mean[order], atol=1e-12, rtol=0)
    expected_rgb = rgb.reshape(len(cells), -1, 3).mean(1)[order]
    torch.testing.assert_close(out.rgb, expected_rgb, atol=1e-12, rtol=0)
    again = voxel_downsample(PointCloud(xyz, rgb), size)  # input order does not matter
    torch.testing.assert_close(again.xyz, out.xyz, atol=1e-12, rtol=0)


def test_farthest_point_sample_picks_one_point_per_cluster():
    gen = torch.Generator().manual_seed(6)
    centres = torch.tensor([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10], [10, 10, 10]], dtype=torch.float64)
    pts = (centres[:, None] + 0.1 * torch.randn(5, 20, 3, generator=gen, dtype=torch.float64)).reshape(-1, 3)
    idx = farthest_point_sample(pts, 5, torch.Generator().manual_seed(0))
    assert sorted((idx // 20).tolist()) == [0, 1, 2, 3, 4]
    assert farthest_point_sample(pts, 1000).tolist() == list(range(100))


def test_point_cloud_indexing_and_cat():
    pc = PointCloud(torch.arange(12.0).reshape(4, 3), torch.zeros(4, 3), torch.ones(4))
    assert len(pc[1:3]) == 2 and len(pc[torch.tensor([True, False, True, True])]) == 3
    assert pc[-1].xyz.tolist() == [[9.0, 10.0, 11.0]]
    both = PointCloud.cat([pc, PointCloud(torch.zeros(2, 3))])
    assert len(both) == 6 and both.rgb is None and both.confidence is None
    with pytest.raises(ValueError):
        PointCloud(torch.zeros(3, 3), rgb=torch.zeros(2, 3))
