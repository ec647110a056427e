"""The Cameras type: derived quantities, image-space edits and world-space edits."""

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from genscene.cameras import Cameras, intrinsics_matrix, invert_rigid, rigid_matrix
from genscene.geometry.projection import project, unproject_depth


def random_cameras(n: int = 4, seed: int = 0) -> Cameras:
    R = torch.tensor(Rotation.random(n, random_state=seed).as_matrix())
    t = torch.tensor(np.random.default_rng(seed).normal(size=(n, 3)))
    K = intrinsics_matrix(torch.full((n,), 110.0), torch.full((n,), 95.0), 61.0, 47.5)
    return Cameras.from_Rt(K, R, t, width=128, height=96)


def test_centres_are_where_the_camera_is():
    cams = random_cameras()
    # the centre maps to the camera origin
    c_h = torch.cat([cams.centers, torch.ones(4, 1, dtype=torch.float64)], -1)
    origin = (cams.w2c @ c_h.unsqueeze(-1)).squeeze(-1)[:, :3]
    assert torch.allclose(origin, torch.zeros_like(origin), atol=1e-12)
    assert torch.allclose(cams.c2w @ cams.w2c, torch.eye(4, dtype=torch.float64).expand(4, 4, 4), atol=1e-12)


def test_rays_hit_the_pixel_they_start_from():
    cams = random_cameras(2)
    o, d = cams.rays()  # [2, 96, 128, 3]
    pts = (o + 2.5 * d).reshape(2, -1, 3)
    uv, z = project(pts, cams)
    grid = cams.pixel_grid().reshape(-1, 2)
    assert torch.allclose(uv, grid.expand_as(uv), atol=1e-9)
    assert torch.all(z > 0)
    assert torch.allclose(d.norm(dim=-1), torch.ones((), dtype=torch.float64), atol=1e-12)


def test_principal_ray_of_centred_camera_is_optical_axis():
    cams = Cameras.from_fov(60.0, width=64, height=64)
    _, d = cams.rays(2, 2)
    # the four rays of a 2x2 grid are symmetric about +z
    assert torch.allclose(d.mean(dim=(0, 1)) / d.mean(dim=(0, 1)).norm(), torch.tensor([0, 0, 1.0], dtype=torch.float64))
    assert math.isclose(float(cams.fov_y), math.radians(60.0), rel_tol=1e-12)


def test_resize_and_crop_keep_projections():
    cams = random_cameras(3)
    X = torch.tensor([[0.3, -0.2, 4.0], [1.0, 0.5, 3.0]], dtype=torch.float64)
    pts = cams.c2w[:, None, :3, :3] @ X[None, :, :, None]
    pts = pts.squeeze(-1) + cams.c2w[:, None, :3, 3]  # camera-frame X placed in world
    uv, _ = project(pts, cams)
    uv2, _ = project(pts, cams.resize(48, 256))
    assert torch.allclose(uv2, uv * torch.tensor([2.0, 0.5], dtype=torch.float64), atol=1e-9)
    uv3, _ = project(pts, cams.crop(10, 20, 50, 60))
    assert torch.allclose(uv3, uv - torch.tensor([20.0, 10.0], dtype=torch.float64), atol=1e-9)


def test_rays_at_latent_resolution_match_full_resolution_subpixels():
    cams = random_cameras(1)
    _, d_full = cams.rays()
    _, d_lat = cams.rays(96 // 8, 128 // 8)
    # latent cell (i, j) centre = full-res continuous coordinate 8j+4 -> between pixels 8j+3 and 8j+4
    d_mid = torch.nn.functional.normalize(d_full[:, 3::8, 3::8] + d_full[:, 4::8, 4::8], dim=-1)
    assert torch.allclose(d_lat, d_mid, atol=1e-4)


def test_relative_to_first_and_world_transform_preserve_relative_poses():
    cams = random_cameras(5)
    rel = cams.relative_to_first()
    assert torch.allclose(rel.w2c[0], torch.eye(4, dtype=torch.float64), atol=1e-12)
    # relative pose between frames i and j is invariant
    for i, j in [(1, 2), (3, 4)]:
        a = cams.w2c[j] @ cams.c2w[i]
        b = rel.w2c[j] @ rel.c2w[i]
        assert torch.allclose(a, b, atol=1e-12)


def test_relative_to_first_along_the_frame_dim_of_a_batch_of_sequences():
    seqs = [random_cameras(3, seed=s) for s in (1, 2)]
    batch = Cameras.stack(seqs)  # [2, 3]
    rel = batch.relative_to_first(frame_dim=1)
    for b, seq in enumerate(seqs):  # each sequence against its own first frame, as one at a time
        assert torch.allclose(rel.w2c[b], seq.relative_to_first().w2c, atol=1e-12)


def test_scale_normalisation_scales_depth():
    cams = random_cameras(2)
    depth = torch.full((2, 96, 128), 3.0, dtype=torch.float64)
    pts = unproject_depth(depth, cams)
    scaled = cams.normalize_scale(3.0)
    _, z = project(pts.reshape(2, -1, 3) / 3.0, scaled)
    assert torch.allclose(z, torch.ones_like(z), atol=1e-12)


def test_invert_rigid_matches_general_inverse():
    R = torch.tensor(Rotation.random(6, random_state=3).as_matrix())
    M = rigid_matrix(R, torch.randn(6, 3, dtype=torch.float64))
    assert torch.allclose(invert_rigid(M), torch.linalg.inv(M), atol=1e-12)


def test_indexing_and_concatenation():
    cams = random_cameras(4)
    both = Cameras.cat([cams[:2], cams[2:]])
    assert both.allclose(cams)
    stacked = Cameras.stack([cams, cams])
    assert stacked.batch_shape == (2, 4)
    assert stacked[1, 2].allclose(cams[2])


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="K"):
        Cameras(torch.eye(4), torch.eye(4), 10, 10)
    with pytest.raises(ValueError, match="size"):
        Cameras(torch.eye(3), torch.eye(4), 0, 10)
