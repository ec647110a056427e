"""OpenGL/Blender poses and nerfstudio transforms.json."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from formats_helpers import project_cameras, random_cameras, random_rotations

from genscene.cameras.formats.nerfstudio import (
    load_transforms,
    read_applied_transform,
    save_transforms,
)
from genscene.cameras.formats.opengl import cameras_from_opengl, cameras_to_opengl
from genscene.errors import InputError


def _gl_project(c2w_gl: np.ndarray, fx, fy, cx, cy, X: np.ndarray) -> np.ndarray:
    """OpenGL math: camera looks down -z with +y up; image v grows downwards."""
    p = (np.linalg.inv(c2w_gl) @ np.append(X, 1.0))[:3]
    return np.array([cx + fx * p[0] / -p[2], cy - fy * p[1] / -p[2]])


def _random_c2w_gl(n: int, seed: int) -> np.ndarray:
    c2w = np.tile(np.eye(4), (n, 1, 1))
    c2w[:, :3, :3] = random_rotations(n, seed)
    c2w[:, :3, 3] = np.random.default_rng(seed).normal(size=(n, 3)) * 3
    return c2w


def test_opengl_round_trip_and_projection():
    c2w = _random_c2w_gl(5, seed=0)
    cams = cameras_from_opengl(torch.from_numpy(c2w), (70.0, 72.0), 64, 48)
    assert torch.allclose(cameras_to_opengl(cams), torch.from_numpy(c2w), atol=1e-12)
    assert torch.allclose(cams.cx, torch.tensor(32.0, dtype=torch.float64))
    # a point in front of each camera: 2 units down its viewing direction (-z in OpenGL)
    for i in range(5):
        X = c2w[i, :3, 3] - 2 * c2w[i, :3, 2] + 0.3 * c2w[i, :3, 0]
        want = _gl_project(c2w[i], 70.0, 72.0, 32.0, 24.0, X)
        np.testing.assert_allclose(project_cameras(cams[i : i + 1], X[None])[0, 0], want, atol=1e-9)


def test_opengl_accepts_full_K_and_3x4():
    c2w = _random_c2w_gl(2, seed=1)
    K = torch.tensor([[50.0, 0, 30.0], [0, 55.0, 20.0], [0, 0, 1]], dtype=torch.float64)
    cams = cameras_from_opengl(torch.from_numpy(c2w[:, :3]), K, 64, 48)
    assert cams.K.shape == (2, 3, 3) and torch.equal(cams.K[1], K)
    assert torch.allclose(cameras_to_opengl(cams), torch.from_numpy(c2w), atol=1e-12)


def test_lego_origin_projects_inside_every_view(shared_data):
    d = np.load(shared_data / "fixtures/lego_tiny_100px_rgba.npz")
    poses = np.concatenate([d["train_poses"], d["test_poses"]])
    cams = cameras_from_opengl(torch.from_numpy(poses), float(d["focal"]), 100, 100)
    uv = project_cameras(cams, np.zeros((1, 3)))[:, 0]
    depth = (cams.w2c[:, 2, 3]).numpy()  # z of the world origin in each camera
    assert np.all(depth > 0)
    assert np.all((uv > 0) & (uv < 100))
    # the Blender cameras look at the origin: it lands on the image centre (README: pixel 50, 50)
    np.testing.assert_allclose(uv, 50.0, atol=1e-3)


# -------------------------------------------------------------------- nerfstudio
def test_transforms_round_trip_shared_and_per_frame_intrinsics(tmp_path):
    cams = random_cameras(4, seed=2)
    images = [f"images/{i:03d}.png" for i in range(4)]
    depths = [f"depth/{i:03d}.png" for i in range(4)]
    path = tmp_path / "transforms.json"
    save_transforms(path, cams, images, depths)
    meta = json.loads(path.read_text())
    assert meta["camera_model"] == "OPENCV" and meta["w"] == 64 and meta["h"] == 48
    assert "fl_x" not in meta and all("fl_x" in f for f in meta["frames"])  # they differ per frame
    loaded, img2, dep2 = load_transforms(path)
    assert loaded.allclose(cams, atol=1e-12) and img2 == images and dep2 == depths

    shared = cams[[0, 0, 0]]
    save_transforms(path, shared, images[:3])
    meta = json.loads(path.read_text())
    assert meta["fl_x"] == float(cams.fx[0]) and "fl_x" not in meta["frames"][0]
    loaded, _, dep3 = load_transforms(path)
    assert loaded.allclose(shared, atol=1e-12) and dep3 is None


def test_transforms_projection_matches_nerfstudio_math(tmp_path):
    cams = random_cameras(3, seed=3)
    save_transforms(tmp_path / "t.json", cams, ["a", "b", "c"])
    meta = json.loads((tmp_path / "t.json").read_text())
    loaded, _, _ = load_transforms(tmp_path / "t.json")
    for i, frame in enumerate(meta["frames"]):
        c2w = np.array(frame["transform_matrix"])
        X = c2w[:3, 3] - 3 * c2w[:3, 2] + 0.2 * c2w[:3, 1]
        want = _gl_project(c2w, frame["fl_x"], frame["fl_y"], frame["cx"], frame["cy"], X)
        np.testing.assert_allclose(project_cameras(loaded[i : i + 1], X[None])[0, 0], want, atol=1e-9)


def test_transforms_applied_transform_maps_original_world(tmp_path):
    cams = random_cameras(2, seed=4)
    save_transforms(tmp_path / "t.json", cams, ["a", "b"])
    meta = json.loads((tmp_path / "t.json").read_text())
    A = np.array([[0.0, 1, 0, 0.5], [1, 0, 0, -1], [0, 0, -1, 2]])  # nerfstudio's COLMAP axis swap + shift
    meta["applied_transform"] = A.tolist()
    (tmp_path / "t.json").write_text(json.dumps(meta))
    assert np.allclose(read_applied_transform(tmp_path / "t.json").numpy()[:3], A)
    in_file_world, _, _ = load_transforms(tmp_path / "t.json")
    original, _, _ = load_transforms(tmp_path / "t.json", original_world=True)
    X_orig = np.random.default_rng(0).normal(size=(5, 3))
    X_file = X_orig @ A[:, :3].T + A[:, 3]
    np.testing.assert_allclose(project_cameras(original, X_orig), project_cameras(in_file_world, X_file), atol=1e-9)


@pytest.mark.parametrize(
    "edit, field",
    [
        (lambda m: m.pop("fl_x"), "frames[0].fl_x"),
        (lambda m: m["frames"][1].__setitem__("transform_matrix", [[1, 0], [0, 1]]), "frames[1].transform_matrix"),
        (lambda m: m["frames"][0]["transform_matrix"][0].__setitem__(3, float("nan")), "frames[0].transform_matrix"),
        (lambda m: m["frames"][1].__setitem__("w", 32), "frames"),
        (lambda m: m.pop("frames"), "frames"),
    ],
)
def test_transforms_malformed(tmp_path, edit, field):
    cams = random_cameras(2, seed=5)[[0, 0]]
    path = tmp_path / "transforms.json"
    save_transforms(path, cams, ["a", "b"])
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))
    with pytest.raises(InputError) as err:
        load_transforms(path)
    assert str(err.value).startswith(f"{path}: {field}:")
