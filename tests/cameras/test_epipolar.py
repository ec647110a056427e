"""Fundamental matrices, epipolar distances and SpatialCrafter's epipolar attention mask."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from genscene.cameras import Cameras, intrinsics_matrix
from genscene.cameras.epipolar import (
    epipolar_attention_mask,
    epipolar_distance_map,
    epipolar_lines,
    fundamental_matrix,
    point_line_distance,
)
from genscene.cameras.trajectories import trajectory_cameras
from genscene.geometry.projection import project


def camera_pair(seed=0):
    rng = np.random.default_rng(seed)
    R = torch.tensor(Rotation.from_rotvec(rng.normal(scale=0.2, size=(2, 3))).as_matrix())
    t = torch.tensor(rng.normal(scale=0.3, size=(2, 3)))
    K = intrinsics_matrix(torch.tensor([80.0, 95.0]), torch.tensor([78.0, 90.0]), torch.tensor([40.0, 47.0]),
                          torch.tensor([30.0, 33.5]))
    cams = Cameras.from_Rt(K, R, t, width=80, height=60)
    return cams[0], cams[1]


def points_in_front(cams_a, n=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    uv = torch.rand(n, 2, generator=g, dtype=torch.float64) * torch.tensor([80.0, 60.0], dtype=torch.float64)
    depth = 2.0 + 2.0 * torch.rand(n, 1, generator=g, dtype=torch.float64)
    x_cam = torch.cat([uv, torch.ones(n, 1, dtype=torch.float64)], -1) @ torch.linalg.inv(cams_a.K).T * depth
    return x_cam @ cams_a.c2w[:3, :3].T + cams_a.c2w[:3, 3]


def hartley_zisserman_F(src, tgt):
    """F = [e']_x P' P^+ from the projection matrices (an independent construction)."""
    P = (src.K @ src.w2c[:3]).numpy()
    P2 = (tgt.K @ tgt.w2c[:3]).numpy()
    C = np.append(src.centers.numpy(), 1.0)
    e2 = P2 @ C
    ex = np.array([[0, -e2[2], e2[1]], [e2[2], 0, -e2[0]], [-e2[1], e2[0], 0]])
    return ex @ P2 @ np.linalg.pinv(P)


def normalised(F):
    F = np.asarray(F) / np.linalg.norm(F)
    return F * np.sign(F.flat[np.argmax(np.abs(F))])


def test_fundamental_matrix_matches_the_projection_matrix_construction():
    src, tgt = camera_pair(1)
    F = fundamental_matrix(src, tgt)
    assert np.allclose(normalised(F.numpy()), normalised(hartley_zisserman_F(src, tgt)), atol=1e-10)
    # swapping the cameras transposes F
    assert np.allclose(normalised(fundamental_matrix(tgt, src).numpy()), normalised(F.numpy().T), atol=1e-10)
    assert abs(float(torch.linalg.det(F))) < 1e-10 * float(F.norm()) ** 3  # rank 2


def test_projections_of_the_same_point_lie_on_each_others_epipolar_lines():
    src, tgt = camera_pair(2)
    X = points_in_front(src, seed=3)
    uv_s, z_s = project(X, src)
    uv_t, z_t = project(X, tgt)
    assert bool((z_s > 0).all() and (z_t > 0).all())
    F = fundamental_matrix(src, tgt)
    lines_t = epipolar_lines(F, uv_s)  # in the target image
    d = point_line_distance(lines_t, uv_t).diagonal()
    assert float(d.max()) < 1e-9
    lines_s = epipolar_lines(fundamental_matrix(tgt, src), uv_t)  # and back in the source
    assert float(point_line_distance(lines_s, uv_s).diagonal().max()) < 1e-9
    # an off-line point: moved by 2.5 px along the line normal it is 2.5 px away
    normal = lines_t[:, :2]
    moved = uv_t + 2.5 * normal
    assert torch.allclose(point_line_distance(lines_t, moved).diagonal(), torch.full((50,), 2.5, dtype=torch.float64))
    # other points' projections are mostly far from this line
    off = point_line_distance(lines_t, uv_t)
    off = off[~torch.eye(50, dtype=torch.bool)]
    assert float(off.median()) > 3.0


def test_distance_map_on_a_coarse_grid_is_in_grid_cells():
    src, tgt = camera_pair(4)
    h, w = 6, 8  # 10x smaller than 60x80
    dist = epipolar_distance_map(src, tgt, h, w)
    assert dist.shape == (48, 48)
    # independent: a point on the ray of source cell (row 2, col 5) projects onto its epipolar line
    uv_cell = torch.tensor([[5.5 * 10, 2.5 * 10, 1.0]], dtype=torch.float64)
    x_cam = uv_cell @ torch.linalg.inv(src.K).T * 3.0
    X = x_cam @ src.c2w[:3, :3].T + src.c2w[:3, 3]
    uv_t, _ = project(X, tgt)
    # distances measured in grid cells: the line through that projection, seen at grid scale
    F_grid = fundamental_matrix(src.resize(h, w), tgt.resize(h, w))
    line = epipolar_lines(F_grid, torch.tensor([[5.5, 2.5]], dtype=torch.float64))
    assert float(point_line_distance(line, uv_t / 10.0)) < 1e-9
    centres = torch.stack(torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")[::-1], -1)
    expected = point_line_distance(line, centres.reshape(-1, 2).to(torch.float64))[0]
    assert torch.allclose(dist[2 * w + 5], expected, atol=1e-12)


@pytest.mark.parametrize("name,params", [("gen3c_left", {"distance": 0.3}), ("orbit", {"angle_deg": 40.0}),
                                         ("spiral", {}), ("gen3c_zoom_in", {"distance": 0.4})])
def test_mask_at_a_coarse_grid_contains_the_true_correspondences(name, params):
    T, H, W, h, w = 4, 48, 64, 12, 16
    K = intrinsics_matrix(50.0, 50.0, 32.0, 24.0)
    cams = trajectory_cameras(name, T, K, W, H, **params)
    mask = epipolar_attention_mask(cams, h, w, threshold=1.5)
    assert mask.shape == (T, h * w, T, h * w) and mask.dtype == torch.bool
    X = points_in_front(cams[0], n=400, seed=7)
    uv, z = project(X.expand(T, -1, 3), cams)
    col = (uv[..., 0] * w / W).floor().long()
    row = (uv[..., 1] * h / H).floor().long()
    seen = (z > 0) & (col >= 0) & (col < w) & (row >= 0) & (row < h)
    token = row * w + col
    checked = 0
    for i in range(T):
        assert bool(mask[i, :, i, :].all())  # same frame always attends
        for k in range(T):
            both = seen[i] & seen[k]
            assert bool(mask[i, token[i][both], k, token[k][both]].all())
            checked += int(both.sum())
    assert checked > 1000
    cross = ~torch.eye(T, dtype=torch.bool)[:, None, :, None].expand_as(mask)
    assert float(mask[cross].float().mean()) < 0.4  # the constraint is selective
    # and a much tighter band misses some of those correspondences
    tight = epipolar_attention_mask(cams, h, w, threshold=0.05)
    pairs = [(token[0][seen[0] & seen[k]], token[k][seen[0] & seen[k]]) for k in range(1, T)]
    missed = sum(int((~tight[0, p, k + 1, q]).sum()) for k, (p, q) in enumerate(pairs))
    assert missed > 0


def test_pairs_without_baseline_attend_fully():
    K = intrinsics_matrix(50.0, 50.0, 32.0, 24.0)
    cams = trajectory_cameras("spatialcrafter_roll", 3, K, 64, 48)  # pure rotation: no epipolar geometry
    assert bool(epipolar_attention_mask(cams, 6, 8, threshold=1.0).all())
    assert bool(torch.isinf(epipolar_distance_map(cams[0], cams[1], 6, 8)).all())
