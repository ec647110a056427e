"""Plücker ray embeddings: moments, points on rays, latent-grid sub-pixel positions."""

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from genscene.cameras import Cameras, intrinsics_matrix
from genscene.cameras.plucker import plucker_rays


def random_cameras(n=3, seed=0, width=64, height=48):
    R = torch.tensor(Rotation.random(n, random_state=seed).as_matrix())
    t = torch.tensor(np.random.default_rng(seed).normal(size=(n, 3)))
    K = intrinsics_matrix(torch.tensor([52.0, 61.0, 47.0]), torch.tensor([50.0, 58.0, 49.0]), 31.0, 25.5)
    return Cameras.from_Rt(K, R, t, width=width, height=height)


def test_shape_unit_directions_and_orthogonal_moments():
    cams = random_cameras()
    rays = plucker_rays(cams, 12, 16)
    assert rays.shape == (3, 6, 12, 16) and rays.dtype == torch.float64
    m, d = rays[:, :3], rays[:, 3:]
    assert torch.allclose(d.norm(dim=1), torch.ones(3, 12, 16, dtype=torch.float64), atol=1e-12)
    assert float((m * d).sum(1).abs().max()) < 1e-12
    # batch dims pass through
    assert plucker_rays(Cameras(cams.K.reshape(3, 1, 3, 3).expand(3, 2, 3, 3), cams.w2c.reshape(3, 1, 4, 4)
                                .expand(3, 2, 4, 4), 64, 48), 4, 5).shape == (3, 2, 6, 4, 5)


def test_points_on_the_ray_satisfy_p_cross_d_equals_m():
    cams = random_cameras(seed=1)
    rays = plucker_rays(cams, 6, 8)
    m, d = rays[:, :3], rays[:, 3:]
    centres = cams.centers[:, :, None, None]
    for s in (-2.0, 0.3, 5.0):
        p = centres + s * d
        assert torch.allclose(torch.cross(p, d, dim=1), m, atol=1e-12)


def test_ray_through_a_pixel_sees_the_point_that_projects_there():
    cams = random_cameras(seed=2)
    rays = plucker_rays(cams, 48, 64)
    # pixel (row 10, col 20) has centre (20.5, 10.5): the ray hits the point unprojected from it
    uv1 = torch.tensor([20.5, 10.5, 1.0], dtype=torch.float64)
    x_cam = torch.linalg.solve(cams.K, uv1.expand(3, 3).unsqueeze(-1)).squeeze(-1) * 2.7
    X = (cams.c2w[:, :3, :3] @ x_cam.unsqueeze(-1)).squeeze(-1) + cams.c2w[:, :3, 3]
    d = rays[:, 3:, 10, 20]
    assert torch.allclose(torch.cross(X, d, dim=-1), rays[:, :3, 10, 20], atol=1e-12)
    assert float(((X - cams.centers) * d).sum(-1).min()) > 0  # in front: d points from the centre to X


def test_latent_grid_rays_are_full_res_rays_at_the_cell_centres():
    cams = random_cameras(seed=3, width=64, height=48)
    latent = plucker_rays(cams, 6, 8)  # 8x smaller grid
    # an independent computation: cell (i, j) covers pixels [8j, 8j+8) x [8i, 8i+8), centre (8j+4, 8i+4)
    i, j = torch.meshgrid(torch.arange(6), torch.arange(8), indexing="ij")
    uv1 = torch.stack([8.0 * j + 4.0, 8.0 * i + 4.0, torch.ones(6, 8)], -1).to(torch.float64)  # [6, 8, 3]
    for b in range(3):
        d_cam = uv1 @ torch.linalg.inv(cams.K[b]).T
        d = torch.nn.functional.normalize(d_cam @ cams.c2w[b, :3, :3].T, dim=-1)
        o = cams.centers[b].expand_as(d)
        expected = torch.cat([torch.cross(o, d, dim=-1), d], -1).permute(2, 0, 1)
        assert torch.allclose(latent[b], expected, atol=1e-12)
    # and they equal the full-resolution rays of the resized camera at the same cells
    assert torch.allclose(latent, plucker_rays(cams.resize(6, 8), 6, 8), atol=1e-12)
