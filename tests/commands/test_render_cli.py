"""``genscene render``: a tiny .ply and a tiny scene folder rendered end to end into videos."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from genscene.cameras.cameras import Cameras, intrinsics_matrix, invert_rigid
from genscene.cameras.trajectories import make_trajectory
from genscene.cli import app
from genscene.geometry.gaussians import Gaussians
from genscene.io.ply import write_gaussians_ply
from genscene.io.scene import Scene, write_scene
from genscene.io.video import read_video
from genscene.render.gaussians import render_gaussians

pytestmark = pytest.mark.usefixtures("one_thread")


def _blobs() -> Gaussians:
    """A red blob straight ahead at z = 2 and a green one up-left at z = 3 (camera-0 frame)."""
    return Gaussians(
        means=torch.tensor([[0.0, 0.0, 2.0], [-0.6, -0.4, 3.0]]),
        quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]] * 2),
        scales=torch.tensor([[0.25, 0.25, 0.25], [0.3, 0.3, 0.3]]),
        opacities=torch.tensor([0.95, 0.9]),
        colors=torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.8, 0.2]]),
    )


def test_render_ply_along_preset_matches_direct_render(tmp_path):
    ply, video = tmp_path / "blobs.ply", tmp_path / "out.mp4"
    write_gaussians_ply(ply, _blobs())
    args = [str(ply), "--trajectory", "gen3c_left", "--distance", "1.5", "--frames", "5", "--width", "48",
            "--height", "32", "--fov", "60", "--background", "0,0,0.5", "--device", "cpu"]
    result = CliRunner().invoke(app, ["render", *args, "-o", str(video)])
    assert result.exit_code == 0, result.output
    assert "5 frames 48x32" in result.output
    frames, fps = read_video(video)
    assert frames.shape == (5, 3, 32, 48) and fps == pytest.approx(24.0)
    # Independent path: the same cameras built by hand (median depth of the two means = 2.5).
    rel = make_trajectory("gen3c_left", 5, distance=1.5)
    rel[:, :3, 3] *= 2.5
    f = 16 / torch.tan(torch.deg2rad(torch.tensor(30.0, dtype=torch.float64)))
    cams = Cameras(K=intrinsics_matrix(f, f, 24.0, 16.0).expand(5, 3, 3), w2c=invert_rigid(rel), width=48, height=32)
    expected = render_gaussians(_blobs(), cams, background=(0.0, 0.0, 0.5))["rgb"].float()
    assert (frames - expected).abs().mean() < 0.02  # H.264 at crf 18
    centre = frames[0, :, 16, 24]
    assert centre[0] > 0.7 and centre[1] < 0.3  # the red blob is in the middle of frame 0
    assert (frames[0] - frames[-1]).abs().mean() > 0.01  # the camera moved
    again = CliRunner().invoke(app, ["render", *args, "-o", str(video)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_ply_behind_the_identity_camera_gets_a_viewpoint(tmp_path):
    far = _blobs()
    far.means = far.means + torch.tensor([5.0, 0.0, -20.0])  # nothing in front of the identity camera
    ply, video = tmp_path / "far.ply", tmp_path / "far.mp4"
    write_gaussians_ply(ply, far)
    result = CliRunner().invoke(app, ["render", str(ply), "-t", "gen3c_zoom_in", "-n", "2", "--width", "32",
                                      "--height", "32", "--device", "cpu", "-o", str(video)])
    assert result.exit_code == 0, result.output
    frames, _ = read_video(video)
    assert frames[0].amax(0).mean() > 0.05  # the blobs are in view, not an empty frame


def test_render_scene_folder_points_and_json_trajectory(tmp_path):
    K = intrinsics_matrix(40.0, 40.0, 20.0, 15.0)
    cams = Cameras(K=K[None], w2c=torch.eye(4, dtype=torch.float64)[None], width=40, height=30)
    g = torch.Generator().manual_seed(0)
    xyz = torch.rand(400, 3, generator=g) * torch.tensor([2.0, 1.5, 0.1]) + torch.tensor([-1.0, -0.75, 2.0])
    rgb = torch.zeros(400, 3)
    rgb[:, 1] = 1.0
    scene = Scene(frames=torch.zeros(1, 3, 30, 40), cameras=cams, points=(xyz, rgb))
    write_scene(tmp_path / "scene", scene)
    from genscene.cameras.trajectories import save_trajectory_json

    path = save_trajectory_json(tmp_path / "path.json", make_trajectory("orbit", 3))
    video = tmp_path / "points.mp4"
    result = CliRunner().invoke(app, ["render", str(tmp_path / "scene"), "-t", str(path), "-o", str(video),
                                      "--point-size", "3", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    frames, _ = read_video(video, size=(30, 40))
    assert frames.shape == (3, 3, 30, 40)
    assert frames[0, 1, 10:20, 12:28].mean() > 0.6  # the green wall fills the view centre
    assert frames[0, 0].mean() < 0.1


@pytest.mark.parametrize("argv,needle", [
    (["missing.ply", "-t", "gen3c_left"], "missing.ply: not found"),
    (["{ply}", "-t", "no_such_preset"], "unknown trajectory"),
    (["{ply}", "-t", "gen3c_left", "--backend", "gsplat", "--device", "cpu"], "backend"),
    (["{ply}", "-t", "gen3c_left", "--background", "1,2"], "--background"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, argv, needle):
    ply = tmp_path / "blobs.ply"
    write_gaussians_ply(ply, _blobs())
    argv = [a.replace("{ply}", str(ply)) for a in argv]
    video = tmp_path / "never.mp4"
    result = CliRunner().invoke(app, ["render", *argv, "-o", str(video), "--frames", "2", "--width", "16",
                                      "--height", "16"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
    assert not video.exists()


@pytest.mark.parametrize("option,value,reason", [
    ("--fps", "0", "greater than or equal to 0.001"),
    ("--fov", "180", "less than or equal to 170"),
    ("--fov", "0.5", "greater than or equal to 1"),
    ("--width", "0", "greater than or equal to 8"),
    ("--height", "100000", "less than or equal to 16384"),
    ("--frames", "0", "greater than or equal to 1"),
    ("--point-size", "0", "greater than or equal to 0.01"),
    ("--use", "mesh", "'mesh' is not one of 'auto', 'gaussians', 'points'"),
    ("--backend", "cairo", "'cairo' is not one of 'auto', 'torch', 'gsplat'"),
    ("--device", "tpu", "'tpu' is not one of 'auto', 'cpu', 'cuda'"),
])
def test_out_of_range_or_unknown_choice_is_typers_usage_error(tmp_path, option, value, reason):
    ply = tmp_path / "blobs.ply"
    write_gaussians_ply(ply, _blobs())
    video = tmp_path / "never.mp4"
    # A wide terminal keeps typer's boxed message on one line.
    result = CliRunner().invoke(app, ["render", str(ply), "-t", "gen3c_left", "-o", str(video), option, value],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 2 and result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if "Invalid value" in line]
    assert len(errors) == 1 and f"'{option}'" in errors[0] and reason in errors[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blobs.ply"]
