"""``render_path``: sources, median depth, points as Gaussians, path cameras and their intrinsics."""

from __future__ import annotations

import math

import pytest
import torch

from genscene.cameras.cameras import Cameras, intrinsics_matrix
from genscene.cameras.trajectories import make_trajectory
from genscene.errors import InputError
from genscene.geometry.gaussians import Gaussians
from genscene.io.ply import write_gaussians_ply
from genscene.io.scene import Scene, write_scene
from genscene.pipelines.render_path import (
    Backend,
    Geometry,
    RenderPathConfig,
    RenderSource,
    load_source,
    median_depth_in_front,
    path_cameras,
    points_as_gaussians,
    render_frames,
    viewpoint_facing,
)
from genscene.render.gaussians import BACKENDS, render_gaussians

pytestmark = pytest.mark.usefixtures("one_thread")

HALF_TURN_Y = torch.tensor([[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -1.0]], dtype=torch.float64)
"""A half turn about +y: a camera with this rotation looks along world -z."""


def _c2w(R: torch.Tensor, t: list[float]) -> torch.Tensor:
    c2w = torch.eye(4, dtype=torch.float64)
    c2w[:3, :3], c2w[:3, 3] = R, torch.tensor(t, dtype=torch.float64)
    return c2w


def _gaussians(means: list[list[float]]) -> Gaussians:
    n = len(means)
    return Gaussians(means=torch.tensor(means), quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]] * n),
                     scales=torch.full((n, 3), 0.2), opacities=torch.full((n,), 0.9),
                     colors=torch.tensor([[0.9, 0.1, 0.1]] * n))


def _scene(path, first_c2w: torch.Tensor, xyz: torch.Tensor, rgb: torch.Tensor) -> None:
    """A two-view 40x30 scene folder (fx 40, fy 36) whose first camera is ``first_c2w``, with points."""
    K = intrinsics_matrix(40.0, 36.0, 20.0, 15.0).expand(2, 3, 3)
    c2w = torch.stack([first_c2w, first_c2w @ _c2w(torch.eye(3, dtype=torch.float64), [0.5, 0.0, 0.0])])
    cams = Cameras.from_c2w(K, c2w, width=40, height=30)
    write_scene(path, Scene(frames=torch.zeros(2, 3, 30, 40), cameras=cams, points=(xyz, rgb)))


def test_median_depth_counts_only_points_in_front():
    means = torch.tensor([[0.0, 0.0, 1.0], [5.0, 1.0, 2.0], [0.0, -3.0, 4.0],
                          [0.0, 0.0, -3.0], [1.0, 1.0, -1.0], [2.0, 0.0, -5.0]])
    # Backed off by 1: camera z = world z + 1 = 2, 3, 5 in front; 0 (not > 1e-6), -2, -4 not.
    depth, in_front = median_depth_in_front(means, _c2w(torch.eye(3, dtype=torch.float64), [0.0, 0.0, -1.0]))
    assert depth == 3.0 and in_front == 0.5
    # At z = 1 facing -z: camera z = 1 - world z = 4, 2, 6 in front; 0, -1, -3 not.
    depth, in_front = median_depth_in_front(means, _c2w(HALF_TURN_Y, [0.0, 0.0, 1.0]))
    assert depth == 4.0 and in_front == 0.5
    depth, in_front = median_depth_in_front(means[3:], torch.eye(4, dtype=torch.float64))
    assert math.isnan(depth) and in_front == 0.0


def test_points_as_gaussians_fields():
    xyz = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], dtype=torch.float64)
    rgb = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.5, 1.0]], dtype=torch.float64)
    g = points_as_gaussians(xyz, rgb, 0.25)
    assert len(g) == 2 and g.means.dtype == torch.float32
    assert torch.equal(g.means, xyz.float()) and torch.equal(g.colors, rgb.float())
    assert torch.equal(g.quats, torch.tensor([[1.0, 0.0, 0.0, 0.0]] * 2))
    assert torch.equal(g.scales, torch.full((2, 3), 0.25))
    assert torch.equal(g.opacities, torch.tensor([0.9, 0.9]))
    assert torch.equal(points_as_gaussians(xyz, None, 0.25).colors, torch.full((2, 3), 0.7))


def test_fov_intrinsics_match_a_hand_computed_matrix(tmp_path):
    # 90 degrees over 48 rows: f = 24 / tan(45 deg) = 24; the principal point is the image centre.
    hand = torch.tensor([[24.0, 0.0, 32.0], [0.0, 24.0, 24.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    assert torch.allclose(Cameras.from_fov(90.0, 64, 48).K, hand, rtol=0, atol=1e-12)
    ply = tmp_path / "g.ply"
    write_gaussians_ply(ply, _gaussians([[0.0, 0.0, 2.0], [0.0, 0.0, 3.0], [0.5, 0.0, 4.0]]))
    src = load_source(ply, RenderPathConfig(width=64, height=48, fov=90.0))
    assert src.K.dtype == torch.float64 and torch.allclose(src.K, hand, rtol=0, atol=1e-12)
    assert (src.width, src.height, src.median_depth) == (64, 48, 3.0)
    assert torch.equal(src.first_c2w, torch.eye(4, dtype=torch.float64))  # the cloud is in front
    default = load_source(ply, RenderPathConfig(fov=60.0))
    f = 192 / math.tan(math.radians(30.0))
    assert (default.width, default.height) == (512, 384)
    assert torch.allclose(default.K, intrinsics_matrix(f, f, 256.0, 192.0), rtol=0, atol=1e-9)


def test_cloud_behind_the_identity_camera_gets_a_facing_viewpoint(tmp_path):
    means = [[-1.0, 0.0, -10.0], [0.0, 0.0, -10.0], [1.0, 0.0, -10.0]]
    # Centre (0, 0, -10); 90th percentile distance 1; backed off 1 / tan(30 deg) + 1 along -z.
    expected = _c2w(torch.eye(3, dtype=torch.float64), [0.0, 0.0, -10.0 - (math.sqrt(3.0) + 1.0)])
    assert torch.allclose(viewpoint_facing(torch.tensor(means), 60.0), expected, rtol=0, atol=1e-12)
    ply = tmp_path / "behind.ply"
    write_gaussians_ply(ply, _gaussians(means))
    src = load_source(ply, RenderPathConfig(width=32, height=32, fov=60.0))
    assert torch.allclose(src.first_c2w, expected, rtol=0, atol=1e-12)
    assert src.median_depth == pytest.approx(math.sqrt(3.0) + 1.0)


def test_frame_0_camera_is_the_scenes_first_camera(tmp_path):
    first_c2w = _c2w(HALF_TURN_Y, [0.3, -0.2, 1.0])  # looks along world -z from z = 1
    xyz = torch.tensor([[0.0, 0.0, -1.0], [0.2, 0.1, -2.0], [-0.3, 0.0, -4.0]])  # camera z 2, 3, 5
    _scene(tmp_path / "scene", first_c2w, xyz, torch.rand(3, 3))
    src = load_source(tmp_path / "scene", RenderPathConfig(point_size=2.0))
    assert src.median_depth == pytest.approx(3.0, abs=1e-6)
    assert torch.allclose(src.first_c2w, first_c2w, atol=1e-12)
    assert torch.allclose(src.gaussians.scales, torch.full((3, 3), 2.0 * 3.0 / 40.0), atol=1e-6)
    cams = path_cameras(src, make_trajectory("gen3c_left", 5, distance=1.5))
    assert cams.batch_shape == (5,) and (cams.width, cams.height) == (40, 30)
    assert torch.allclose(cams[0].w2c, torch.linalg.inv(first_c2w), atol=1e-12)
    assert torch.equal(cams.K, intrinsics_matrix(40.0, 36.0, 20.0, 15.0).expand(5, 3, 3))
    # The path's translations are in units of the median depth (3), relative to the first camera.
    rel = make_trajectory("gen3c_left", 5, distance=1.5)
    step = torch.linalg.inv(cams[0].c2w) @ cams[4].c2w
    assert torch.allclose(step[:3, 3], 3.0 * rel[4, :3, 3], atol=1e-6)
    resized = load_source(tmp_path / "scene", RenderPathConfig(width=80, height=15))
    assert torch.equal(resized.K, intrinsics_matrix(80.0, 18.0, 40.0, 7.5))
    assert (resized.width, resized.height) == (80, 15)


def test_scene_geometry_choice_and_missing_geometry(tmp_path):
    _scene(tmp_path / "scene", torch.eye(4, dtype=torch.float64), torch.tensor([[0.0, 0.0, 2.0]]), torch.ones(1, 3))
    with pytest.raises(InputError, match=r"gaussians\.ply: not found \(use --use points\)"):
        load_source(tmp_path / "scene", RenderPathConfig(use=Geometry.gaussians))
    write_gaussians_ply(tmp_path / "scene" / "gaussians.ply", _gaussians([[0.0, 0.0, 6.0]]))
    assert load_source(tmp_path / "scene", RenderPathConfig()).median_depth == 6.0  # auto: the Gaussians
    assert load_source(tmp_path / "scene", RenderPathConfig(use=Geometry.points)).median_depth == 2.0
    with pytest.raises(InputError, match="expected a Gaussian .ply file or a scene folder"):
        load_source(tmp_path / "scene" / "cameras.json", RenderPathConfig())


def test_backend_choices_are_the_renderers():
    assert tuple(b.value for b in Backend) == BACKENDS


def test_render_frames_batches_match_one_direct_render(tmp_path):
    src = RenderSource(_gaussians([[0.0, 0.0, 2.0], [0.3, 0.1, 3.0]]), torch.eye(4, dtype=torch.float64), 2.5,
                       Cameras.from_fov(60.0, 24, 16).K, 24, 16)
    cams = path_cameras(src, make_trajectory("gen3c_zoom_in", 3))
    seen = []
    images = render_frames(src, cams, RenderPathConfig(background=(0.0, 0.0, 1.0), batch=2), torch.device("cpu"),
                           progress=lambda starts: seen.extend(starts) or starts)
    assert seen == [0, 2] and images.shape == (3, 3, 16, 24) and images.dtype == torch.float32
    direct = render_gaussians(src.gaussians, cams, background=(0.0, 0.0, 1.0))["rgb"]
    assert torch.allclose(images, direct, atol=1e-5)
