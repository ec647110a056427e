"""genscene view: the scene data the viewer draws, the server it starts (127.0.0.1 only) and the viser scene
elements it adds, checked against a scene of known cameras, colours and points."""

from __future__ import annotations

import math
import urllib.request

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from genscene.cameras.cameras import Cameras
from genscene.io.scene import Scene, write_scene
from genscene.viewer import HOST, ViewConfig, load_view_data

T, H, W = 3, 24, 32
POINT_RGB = (230, 20, 20)
"""Colour of every near point."""
FRAME_RGB = (20, 200, 40)
"""Colour of every frame."""


def _c2w(i: int) -> torch.Tensor:
    """Camera i: at x = 0.5 i, turned by 10 i degrees about y, looking along +z."""
    a = math.radians(10 * i)
    c2w = torch.eye(4, dtype=torch.float64)
    c2w[:3, :3] = torch.tensor([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    c2w[0, 3] = 0.5 * i
    return c2w


def make_scene(path, far: bool = True):
    """A written scene: 3 cameras, green frames, depth 2 and 4, a red wall of points 3 in front, and (far) a
    blue ring 500 away."""
    c2w = torch.stack([_c2w(i) for i in range(T)])
    cameras = Cameras.from_fov(50.0, W, H, w2c=torch.linalg.inv(c2w))
    frames = torch.tensor(FRAME_RGB, dtype=torch.float32).view(1, 3, 1, 1).expand(T, 3, H, W) / 255
    depths = torch.full((T, H, W), 2.0)
    depths[:, :, W // 2:] = 4.0
    g = torch.Generator().manual_seed(0)
    wall = torch.cat([torch.rand(2000, 2, generator=g) * 4 - 2, torch.full((2000, 1), 3.0)], dim=1)
    xyz = [wall]
    if far:
        angle = torch.linspace(0, 2 * math.pi, 50)
        xyz.append(torch.stack([500 * angle.cos(), torch.zeros(50), 500 * angle.sin()], dim=1))
    xyz = torch.cat(xyz)
    rgb = torch.tensor(POINT_RGB, dtype=torch.float32).expand(len(xyz), 3) / 255
    if far:
        rgb = rgb.clone()
        rgb[2000:] = torch.tensor([0.0, 0.0, 1.0])
    scene = Scene(frames=frames.contiguous(), cameras=cameras, depths=depths, points=(xyz, rgb), fps=8.0)
    return write_scene(path, scene)


@pytest.fixture(scope="module")
def scene_path(tmp_path_factory):
    return make_scene(tmp_path_factory.mktemp("view") / "scene")


def test_view_data_holds_the_scene_without_its_far_points(scene_path):
    data = load_view_data(scene_path, ViewConfig(image_size=16))
    assert data.points.shape == (2000, 3) and data.far_points.shape == (50, 3)
    assert (data.colors == POINT_RGB).all() and (data.far_colors == (0, 0, 255)).all()
    np.testing.assert_allclose(data.c2w, torch.stack([_c2w(i) for i in range(T)]).numpy(), atol=1e-9)
    np.testing.assert_allclose(data.fov_y, math.radians(50.0))
    assert data.aspect == W / H
    assert [f.shape for f in data.frames] == [(12, 16, 3)] * T and (data.frames[0] == FRAME_RGB).all()
    near_col, far_col = data.depths[0][6, 2], data.depths[0][6, 14]
    assert near_col[0] > near_col[2] and far_col[2] > far_col[0]  # depth 2 warm, depth 4 cold
    centres = data.c2w[:, :3, 3]
    dist = np.linalg.norm(data.points[:, None] - centres[None], axis=-1).min(1)
    assert data.scale == pytest.approx(float(np.median(dist)), rel=1e-6)


def test_max_points_subsamples_the_same_points_every_time(scene_path):
    a = load_view_data(scene_path, ViewConfig(max_points=500))
    b = load_view_data(scene_path, ViewConfig(max_points=500))
    assert a.points.shape == (500, 3) and np.array_equal(a.points, b.points)


def test_a_bare_gaussian_ply_and_bad_paths(tmp_path):
    from genscene.errors import InputError
    from genscene.geometry.gaussians import Gaussians
    from genscene.io.ply import write_gaussians_ply

    g = Gaussians(means=torch.tensor([[0.0, 0.0, 2.0]]), quats=torch.tensor([[1.0, 0, 0, 0]]),
                  scales=torch.tensor([[0.1, 0.2, 0.3]]), opacities=torch.tensor([0.5]),
                  colors=torch.tensor([[1.0, 0.5, 0.0]]))
    write_gaussians_ply(tmp_path / "g.ply", g)
    data = load_view_data(tmp_path / "g.ply")
    np.testing.assert_allclose(data.gaussians["covariances"][0], np.diag([0.01, 0.04, 0.09]), atol=1e-6)
    np.testing.assert_allclose(data.gaussians["opacities"], [[0.5]], atol=1e-6)
    with pytest.raises(InputError, match="missing.ply: not found"):
        load_view_data(tmp_path / "missing.ply")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="expected a scene folder or a .ply file"):
        load_view_data(tmp_path / "notes.txt")


def test_the_server_binds_127_0_0_1_and_adds_the_scene(scene_path):
    pytest.importorskip("viser", reason='the viewer needs viser: pip install "genscene[view]"')
    from genscene.rotations import rotmat_to_quat_wxyz_np
    from genscene.viewer import start_viewer

    server, handles, data = start_viewer(scene_path, ViewConfig(port=0))
    try:
        assert server.get_host() == HOST == "127.0.0.1"
        port = server.get_port()
        assert port > 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        np.testing.assert_allclose(handles.points.points, data.points, atol=1e-2)  # float16 on the wire
        assert (handles.points.colors == POINT_RGB).all()
        assert handles.far_points.visible is False and len(handles.far_points.points) == 50
        assert len(handles.frusta) == T
        for i, frustum in enumerate(handles.frusta):
            c2w = _c2w(i).numpy()
            np.testing.assert_allclose(frustum.position, c2w[:3, 3], atol=1e-6)
            q = rotmat_to_quat_wxyz_np(c2w[:3, :3])
            assert min(np.abs(frustum.wxyz - q).max(), np.abs(frustum.wxyz + q).max()) < 1e-6
            assert frustum.fov == pytest.approx(math.radians(50.0)) and frustum.aspect == pytest.approx(W / H)
            assert frustum.image.shape == (H, W, 3) and (frustum.image == FRAME_RGB).all()
        handles.image_mode.value = "depth"  # the dropdown swaps depth into the frusta
        assert np.array_equal(handles.frusta[0].image, data.depths[0])
        handles.image_mode.value = "rgb"
        assert (handles.frusta[0].image == FRAME_RGB).all()
        handles.show_far.value = True
        assert handles.far_points.visible is True
        np.testing.assert_allclose(server.initial_camera.look_at, [0, 0, data.scale], atol=1e-6)
    finally:
        server.stop()


def test_view_command_serves_for_its_timeout_and_exits_0(scene_path):
    pytest.importorskip("viser", reason='the viewer needs viser: pip install "genscene[view]"')
    from genscene.cli import app

    result = CliRunner().invoke(app, ["view", str(scene_path), "--port", "0", "--timeout", "0.5"])
    assert result.exit_code == 0, result.output
    assert "viewing scene at http://127.0.0.1:" in result.output


def test_without_viser_the_command_says_how_to_install_it(scene_path, monkeypatch):
    import builtins

    from genscene.errors import InputError
    from genscene.viewer import import_viser

    real = builtins.__import__

    def no_viser(name, *args, **kwargs):
        if name == "viser":
            raise ImportError("No module named 'viser'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_viser)
    with pytest.raises(InputError, match=r'viser: not installed .*pip install "genscene\[view\]"'):
        import_viser()
