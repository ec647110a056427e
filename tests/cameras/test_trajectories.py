"""Trajectory presets, key-pose interpolation and trajectory JSON files."""

import json
import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from genscene.cameras import intrinsics_matrix, invert_rigid
from genscene.cameras.trajectories import (
    LYRA_TRAJECTORIES,
    interpolate_poses,
    list_trajectories,
    load_trajectory_json,
    lyra_coverage,
    make_trajectory,
    save_trajectory_json,
    trajectory_cameras,
    trajectory_from_json,
)
from genscene.cameras.trajectories.lyra import lyra_distance
from genscene.errors import InputError
from genscene.geometry.projection import project

I4 = torch.eye(4, dtype=torch.float64)
I3 = torch.eye(3, dtype=torch.float64)
# Off-centre principal point so "projects to the principal point" is not "projects to the middle".
K = intrinsics_matrix(70.0, 66.0, 37.3, 21.9)
W, H = 80, 48
GEN3C_MOVES = ["left", "right", "up", "down", "zoom_in", "zoom_out"]
ROTATIONS = ["center_facing", "no_rotation", "trajectory_aligned"]


def look_at_pixels(name, depth=1.0, num_frames=9, **params):
    cams = trajectory_cameras(name, num_frames, K, W, H, **params)
    point = torch.tensor([[0.0, 0.0, depth]], dtype=torch.float64).expand(num_frames, 1, 3)
    uv, z = project(point, cams)
    return uv[:, 0], z[:, 0]


@pytest.mark.parametrize("name", sorted(list_trajectories()))
def test_every_preset_is_rigid_float64_and_starts_at_identity(name):
    c2w = make_trajectory(name, 7)
    assert c2w.shape == (7, 4, 4) and c2w.dtype == torch.float64
    assert torch.allclose(c2w[0], I4, atol=1e-12)
    R = c2w[:, :3, :3]
    assert torch.allclose(R.transpose(-1, -2) @ R, I3.expand(7, 3, 3), atol=1e-12)
    assert torch.allclose(torch.det(R), torch.ones(7, dtype=torch.float64), atol=1e-12)
    assert torch.equal(c2w[:, 3], torch.tensor([0.0, 0, 0, 1], dtype=torch.float64).expand(7, 4))
    # a one-frame trajectory is frame 0 alone
    assert torch.allclose(make_trajectory(name, 1), I4[None], atol=1e-12)


@pytest.mark.parametrize("name", ["gen3c_zoom_in", "gen3r_zoom_in", "spatialcrafter_zoom_in", "lyra_zoom_in"])
def test_zoom_in_moves_exactly_distance_along_plus_z(name):
    c2w = make_trajectory(name, 11, distance=0.37)
    assert torch.allclose(c2w[-1, :3, 3], torch.tensor([0.0, 0.0, 0.37], dtype=torch.float64), atol=1e-12)
    assert torch.allclose(c2w[:, :3, :3], I3.expand(11, 3, 3), atol=1e-12)  # on the axis, nothing turns
    # constant speed: frame k is at k/10 of the way
    assert torch.allclose(c2w[:, 2, 3], torch.linspace(0, 0.37, 11, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("rotation", ROTATIONS)
@pytest.mark.parametrize("move", GEN3C_MOVES)
def test_gen3c_moves_go_the_named_way_by_exactly_distance(move, rotation):
    expected = {"left": (-1, 0, 0), "right": (1, 0, 0), "up": (0, -1, 0), "down": (0, 1, 0),
                "zoom_in": (0, 0, 1), "zoom_out": (0, 0, -1)}[move]
    c2w = make_trajectory(f"gen3c_{move}", 9, distance=0.25, rotation=rotation)
    assert torch.allclose(c2w[-1, :3, 3], 0.25 * torch.tensor(expected, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("name", [f"gen3c_{m}" for m in GEN3C_MOVES] + ["gen3c_clockwise", "gen3c_counterclockwise"]
                         + list(LYRA_TRAJECTORIES) + ["orbit", "spiral", "gen3r_arc_left", "gen3r_arc_right",
                                                       "gen3r_up", "gen3r_down"])
def test_center_facing_keeps_the_look_at_point_on_the_principal_point(name):
    depth = 1.6
    uv, z = look_at_pixels(name, depth=depth, look_at_depth=depth)
    assert bool((z > 0).all())
    assert torch.allclose(uv, torch.tensor([37.3, 21.9], dtype=torch.float64).expand_as(uv), atol=1e-9)


def test_center_facing_actually_turns_and_keeps_the_horizon():
    c2w = make_trajectory("gen3c_right", 5, distance=0.3)
    forward = c2w[-1, :3, 2]
    expected = torch.tensor([-0.3, 0, 1.0], dtype=torch.float64)  # from (0.3, 0, 0) towards (0, 0, 1)
    assert torch.allclose(forward, expected / expected.norm())
    # no roll: the camera's x axis stays horizontal (no y component)
    assert abs(float(c2w[-1, 1, 0])) < 1e-12


@pytest.mark.parametrize("name", [f"gen3c_{m}" for m in GEN3C_MOVES] + ["gen3c_clockwise", "gen3c_counterclockwise"])
def test_no_rotation_keeps_R_identity(name):
    c2w = make_trajectory(name, 9, rotation="no_rotation")
    assert torch.allclose(c2w[:, :3, :3], I3.expand(9, 3, 3), atol=1e-12)
    assert float(c2w[:, :3, 3].abs().max()) > 0.1  # but it does move


def test_trajectory_aligned_looks_at_look_at_plus_twice_the_offset():
    c2w = make_trajectory("gen3c_up", 5, distance=0.4, rotation="trajectory_aligned", look_at_depth=2.0)
    offset = c2w[-1, :3, 3]
    assert torch.allclose(offset, torch.tensor([0.0, -0.4, 0.0], dtype=torch.float64), atol=1e-12)
    target = torch.tensor([0.0, 0.0, 2.0], dtype=torch.float64) + 2 * offset
    forward = torch.nn.functional.normalize(target - offset, dim=0)  # = (0, -0.4, 2) normalised: tilts up
    assert torch.allclose(c2w[-1, :3, 2], forward, atol=1e-12)


@pytest.mark.parametrize("name,axis,side", [("gen3r_arc_left", 1, -1.0), ("gen3r_arc_right", 1, 1.0),
                                            ("gen3r_up", 0, -1.0), ("gen3r_down", 0, 1.0)])
def test_gen3r_arcs_are_pure_yaw_or_pitch_about_the_look_at_point(name, axis, side):
    depth, arc_length = 1.5, 0.6
    c2w = make_trajectory(name, 13, distance=arc_length, look_at_depth=depth)
    R, C = c2w[:, :3, :3], c2w[:, :3, 3]
    # pure rotation about frame 0's y (yaw) or x (pitch) axis: that axis is fixed by R
    e = torch.zeros(3, dtype=torch.float64)
    e[axis] = 1
    assert torch.allclose(R @ e, e.expand(13, 3), atol=1e-12)
    angle = torch.arccos(((R.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1))
    assert torch.allclose(angle, torch.linspace(0, arc_length / depth, 13, dtype=torch.float64), atol=1e-7)
    # the camera stays on the circle around the look-at point and goes to the named side
    pivot = torch.tensor([0.0, 0.0, depth], dtype=torch.float64)
    assert torch.allclose((C - pivot).norm(dim=-1), torch.full((13,), depth, dtype=torch.float64), atol=1e-12)
    other = 1 - axis  # the moving coordinate: x for a yaw, y for a pitch
    assert side * float(C[-1, other]) == pytest.approx(depth * math.sin(arc_length / depth), abs=1e-12)


def test_circles_turn_the_named_way_on_screen_and_close():
    for name, sign in (("gen3c_clockwise", -1.0), ("gen3c_counterclockwise", 1.0)):
        c2w = make_trajectory(name, 41, distance=0.2, rotation="no_rotation")
        x, y = c2w[:, 0, 3], c2w[:, 1, 3]
        assert torch.allclose(c2w[-1, :3, 3], torch.zeros(3, dtype=torch.float64), atol=1e-12)
        assert float(y[3]) > 0  # first down on screen (+y)
        # shoelace area with "up" = -y; clockwise on screen is negative
        u, v = x.numpy(), -y.numpy()
        area = 0.5 * float(np.sum(u * np.roll(v, -1) - np.roll(u, -1) * v))
        assert sign * area == pytest.approx(math.pi * 0.2**2, rel=1e-2)


def test_lyra_coverage_is_the_six_seeded_gen3c_trajectories():
    a = lyra_coverage(num_frames=25, seed=3)
    assert list(a) == ["lyra_left", "lyra_right", "lyra_up", "lyra_zoom_out", "lyra_zoom_in", "lyra_clockwise"]
    b = lyra_coverage(num_frames=25, seed=3)
    c = lyra_coverage(num_frames=25, seed=4)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["lyra_left"], c["lyra_left"])
    for name, (_, (low, high)) in LYRA_TRAJECTORIES.items():
        for seed in range(5):
            assert low <= lyra_distance(name, seed) <= high
    d = lyra_distance("lyra_left", 3)
    assert torch.allclose(a["lyra_left"][-1, :3, 3], torch.tensor([-d, 0, 0], dtype=torch.float64), atol=1e-12)
    d_up = lyra_distance("lyra_up", 3)
    assert torch.allclose(a["lyra_up"][-1, :3, 3], torch.tensor([0, -d_up, 0], dtype=torch.float64), atol=1e-12)
    # the clockwise one: two circles of radii 0.15 d x 0.10 d (back at frame 0 halfway and at the end)
    cw = make_trajectory("lyra_clockwise", 41, distance=0.5)
    C = cw[:, :3, 3]
    assert torch.allclose(C[20], torch.zeros(3, dtype=torch.float64), atol=1e-12)
    assert float(C[:, 0].min()) == pytest.approx(-2 * 0.15 * 0.5, abs=1e-12)
    assert float(C[:, 1].max()) == pytest.approx(0.10 * 0.5, abs=1e-3)
    assert torch.allclose(make_trajectory("lyra_zoom_in", 5, distance=0.2, distance_factor=1.5)[-1, 2, 3],
                          torch.tensor(0.3, dtype=torch.float64))


def test_spatialcrafter_roll_is_a_rotation_about_the_optical_axis():
    c2w = make_trajectory("spatialcrafter_roll", 5, angle_deg=40.0)
    a = math.radians(40.0)
    expected = torch.tensor([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]],
                            dtype=torch.float64)
    assert torch.allclose(c2w[-1, :3, :3], expected, atol=1e-12)
    assert torch.allclose(c2w[:, :3, 3], torch.zeros(5, 3, dtype=torch.float64))


def test_orbit_circles_the_look_at_point_facing_it():
    c2w = make_trajectory("orbit", 37, look_at_depth=2.0)
    C = c2w[:, :3, 3]
    pivot = torch.tensor([0.0, 0.0, 2.0], dtype=torch.float64)
    assert torch.allclose((C - pivot).norm(dim=-1), torch.full((37,), 2.0, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(C[:, 1], torch.zeros(37, dtype=torch.float64), atol=1e-12)
    assert float(C[1, 0]) > 0  # starts to the right
    assert torch.allclose(C[18], torch.tensor([0.0, 0.0, 4.0], dtype=torch.float64), atol=1e-12)  # opposite side
    assert torch.allclose(c2w[-1], I4, atol=1e-12)


def test_trajectory_cameras_are_the_inverse_poses_with_broadcast_K():
    cams = trajectory_cameras("gen3r_arc_right", 6, K, W, H)
    assert cams.batch_shape == (6,) and (cams.width, cams.height) == (W, H)
    assert torch.allclose(cams.K, K.expand(6, 3, 3))
    assert torch.allclose(cams.c2w, make_trajectory("gen3r_arc_right", 6), atol=1e-12)


@pytest.mark.parametrize("call,field", [
    (lambda: make_trajectory("no_such_preset", 5), "no_such_preset"),
    (lambda: make_trajectory("gen3c_left", 5, speed=2), "speed"),
    (lambda: make_trajectory("gen3c_left", 5, rotation="sideways"), "rotation"),
    (lambda: make_trajectory("gen3c_left", 5, distance=-0.1), "distance"),
    (lambda: make_trajectory("gen3c_left", 5, distance="far"), "distance"),
    (lambda: make_trajectory("gen3c_left", 0), "num_frames"),
    (lambda: make_trajectory("spatialcrafter_roll", 5, distance=0.3), "distance"),
    (lambda: make_trajectory("gen3c_zoom_in", 5, distance=1.0), "distance"),  # would pass the look-at point
])
def test_bad_names_and_parameters_are_one_line_input_errors(call, field):
    with pytest.raises(InputError) as info:
        call()
    assert field in str(info.value) and "\n" not in str(info.value)


def test_string_parameters_from_the_cli_are_parsed():
    a = make_trajectory("spiral", 9, distance="0.15", turns="1", clockwise="false")
    b = make_trajectory("spiral", 9, distance=0.15, turns=1.0, clockwise=False)
    assert torch.equal(a, b)


# -------------------------------------------------------------------- interpolation
def random_keys(n, seed=0):
    R = torch.tensor(Rotation.random(n, random_state=seed).as_matrix())
    C = torch.tensor(np.random.default_rng(seed).normal(size=(n, 3)))
    M = torch.zeros(n, 4, 4, dtype=torch.float64)
    M[:, :3, :3], M[:, :3, 3], M[:, 3, 3] = R, C, 1
    return M


@pytest.mark.parametrize("rotation", ["slerp", "spline"])
def test_interpolation_passes_through_its_keys(rotation):
    keys = random_keys(4)
    path = interpolate_poses(keys, 13, rotation=rotation)
    assert path.shape == (13, 4, 4)
    assert torch.allclose(path[[0, 4, 8, 12]], keys, atol=1e-10)
    # with explicit, uneven key times the keys land where the times say
    path = interpolate_poses(keys, 11, key_times=[0.0, 2.0, 3.0, 10.0], rotation=rotation)
    assert torch.allclose(path[[0, 2, 3, 10]], keys, atol=1e-10)


def test_interpolation_recovers_a_smooth_path_from_sparse_keys():
    dense = make_trajectory("orbit", 49, angle_deg=120.0)
    keys = dense[::8]  # 7 keys
    for rotation in ("slerp", "spline"):
        path = interpolate_poses(keys, 49, rotation=rotation)
        assert float((path[:, :3, 3] - dense[:, :3, 3]).norm(dim=-1).max()) < 2e-3
        R_err = path[:, :3, :3].transpose(-1, -2) @ dense[:, :3, :3]
        cos = ((R_err.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1)
        assert float(torch.arccos(cos).max()) < 1e-6  # constant-speed yaw: slerp and the spline are exact


def test_interpolated_path_is_smooth_between_random_keys():
    path = interpolate_poses(random_keys(5, seed=2), 81, rotation="spline")
    C = path[:, :3, 3]
    step = (C[1:] - C[:-1]).norm(dim=-1)
    jerk = (C[3:] - 3 * C[2:-1] + 3 * C[1:-2] - C[:-3]).norm(dim=-1)  # third difference ~ h^3 C'''
    assert float(jerk.max()) < 0.05 * float(step.mean())
    R = path[:, :3, :3]
    rel = R[:-1].transpose(-1, -2) @ R[1:]
    ang = torch.arccos(((rel.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1))
    assert float((ang[1:] - ang[:-1]).abs().max()) < 0.25 * float(ang.mean())  # no jumps in angular speed


# -------------------------------------------------------------------- JSON files
def test_json_round_trip_is_exact(tmp_path):
    c2w = make_trajectory("lyra_clockwise", 17)
    path = save_trajectory_json(tmp_path / "traj.json", c2w)
    back = load_trajectory_json(path)
    assert back.kind == "poses" and back.times is None
    assert torch.equal(back.poses, c2w)
    assert json.loads(path.read_text())["convention"] == "opencv_c2w"
    assert [p.name for p in tmp_path.iterdir()] == ["traj.json"]  # no temporary sibling left


def test_key_pose_files_interpolate_and_rebase(tmp_path):
    keys = random_keys(3, seed=5)
    path = save_trajectory_json(tmp_path / "keys.json", keys, kind="key_poses", times=torch.tensor([0.0, 1.0, 3.0]))
    loaded = load_trajectory_json(path)
    assert loaded.kind == "key_poses" and torch.equal(loaded.times, torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64))
    absolute = trajectory_from_json(path, num_frames=7, relative=False)
    assert torch.allclose(absolute[[0, 2, 6]], keys, atol=1e-10)
    relative = trajectory_from_json(path, num_frames=7)
    assert torch.allclose(relative, invert_rigid(keys[0]) @ absolute, atol=1e-12)
    assert torch.allclose(relative[0], I4, atol=1e-12)


@pytest.mark.parametrize("content,field", [
    ("{not json", "not valid JSON"),
    ('[1, 2]', "expected a JSON object"),
    ('{"convention": "opengl_c2w", "poses": [[[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]]}', "convention"),
    ('{"convention": "opencv_c2w", "poses": []}', "poses"),
    ('{"convention": "opencv_c2w", "poses": [[[1,0,0],[0,1,0],[0,0,1]]]}', "poses"),
    ('{"convention": "opencv_c2w", "poses": [[[2,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]]}', "poses[0]"),
    ('{"convention": "opencv_c2w", "poses": [[[1,0,0,0],[0,1,0,0],[0,0,-1,0],[0,0,0,1]]]}', "poses[0]"),
    ('{"convention": "opencv_c2w", "poses": [[[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,1,1]]]}', "poses[0]"),
    ('{"convention": "opencv_c2w", "kind": "keys", "poses": [[[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]]}', "kind"),
    ('{"convention": "opencv_c2w", "kind": "key_poses", "times": [1, 0], '
     '"poses": [[[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]], [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]]]}', "times"),
])
def test_bad_trajectory_files_are_one_line_input_errors(tmp_path, content, field):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        load_trajectory_json(path)
    message = str(info.value)
    assert message.startswith(str(path)) and field in message and "\n" not in message


def test_missing_trajectory_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_trajectory_json(tmp_path / "absent.json")
