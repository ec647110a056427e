"""LLFF poses_bounds, RealEstate10K camera files and OpenSfM reconstructions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from formats_helpers import project_cameras, random_cameras
from PIL import Image
from scipy.spatial.transform import Rotation

from genscene.cameras.formats.llff import load_llff, save_llff
from genscene.cameras.formats.opensfm import (
    load_opensfm,
    load_opensfm_points,
    save_opensfm,
)
from genscene.cameras.formats.realestate10k import (
    load_realestate10k,
    save_realestate10k,
)
from genscene.errors import InputError

FERN = "multiview/llff_fern/poses_bounds.npy"
BERLIN = "multiview/opensfm_berlin/reconstruction_example.json"


# -------------------------------------------------------------------- LLFF
def test_llff_fern_forward_facing_and_scaled(shared_data):
    raw = np.load(shared_data / FERN)
    cams, bounds = load_llff(shared_data / FERN, width=504, height=378)
    assert (cams.width, cams.height) == (504, 378) and len(cams) == 20
    f8 = raw[0, 14] / 8  # hwf focal is for 4032x3024
    np.testing.assert_allclose(cams.K[0].numpy(), [[f8, 0, 252], [0, f8, 189], [0, 0, 1]], atol=1e-9)
    np.testing.assert_array_equal(bounds, raw[:, 15:])
    forward = cams.R[:, 2, :].numpy()  # optical axes in world coordinates
    mean = forward.mean(0) / np.linalg.norm(forward.mean(0))
    assert np.degrees(np.arccos(forward @ mean)).max() < 15  # forward-facing capture
    # the scene (between near and far) is in front of every camera: the mean-depth point projects inside
    target = cams.centers.numpy().mean(0) + mean * np.median(bounds)
    uv = project_cameras(cams, target[None])[:, 0]
    assert np.all((uv > 0) & (uv < [504, 378]))


def test_llff_projection_matches_llff_math(shared_data):
    raw = np.load(shared_data / FERN)
    cams, _ = load_llff(shared_data / FERN)
    h, w, f = raw[0, 4], raw[0, 9], raw[0, 14]
    for i in (0, 7, 19):
        pose = raw[i, :15].reshape(3, 5)
        down, right, back, centre = pose[:, 0], pose[:, 1], pose[:, 2], pose[:, 3]
        X = centre - 30 * back + 2 * right - 1 * down
        p = X - centre
        want = [w / 2 + f * (p @ right) / -(p @ back), h / 2 + f * (p @ down) / -(p @ back)]
        np.testing.assert_allclose(project_cameras(cams[i : i + 1], X[None])[0, 0], want, atol=1e-6)


def test_llff_round_trip_exact(shared_data, tmp_path):
    cams, bounds = load_llff(shared_data / FERN)
    save_llff(tmp_path / "poses_bounds.npy", cams, bounds)
    np.testing.assert_allclose(np.load(tmp_path / "poses_bounds.npy"), np.load(shared_data / FERN), rtol=0, atol=1e-12)
    again, bounds2 = load_llff(tmp_path / "poses_bounds.npy")
    assert again.allclose(cams, atol=1e-12) and np.array_equal(bounds2, bounds)


def test_llff_refuses_general_intrinsics_and_bad_files(tmp_path):
    with pytest.raises(ValueError, match="one focal length"):
        save_llff(tmp_path / "p.npy", random_cameras(2, seed=0), np.ones((2, 2)))
    assert not (tmp_path / "p.npy").exists()
    np.save(tmp_path / "bad.npy", np.zeros((3, 15)))
    with pytest.raises(InputError, match="poses_bounds: expected shape Nx17, got 3x15"):
        load_llff(tmp_path / "bad.npy")
    rows = np.zeros((1, 17))
    rows[0, 14] = np.nan
    np.save(tmp_path / "nan.npy", rows)
    with pytest.raises(InputError, match="poses_bounds: contains NaN"):
        load_llff(tmp_path / "nan.npy")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="not a numeric .npy"):
        load_llff(tmp_path / "obj.npy")


# -------------------------------------------------------------------- RealEstate10K
def test_realestate10k_round_trip_and_projection(tmp_path):
    cams = random_cameras(3, seed=1)
    path = tmp_path / "clip.txt"
    save_realestate10k(path, cams, timestamps=[1000, 34000, 67000], url="https://www.youtube.com/watch?v=x")
    lines = path.read_text().splitlines()
    assert lines[0] == "https://www.youtube.com/watch?v=x" and len(lines) == 4
    loaded, stamps, url = load_realestate10k(path, 64, 48)
    assert loaded.allclose(cams, atol=1e-12) and stamps == [1000, 34000, 67000] and url == lines[0]
    for i, line in enumerate(lines[1:]):
        v = np.array(line.split()[1:], dtype=float)
        fx, fy, cx, cy = v[:4]
        P = v[6:].reshape(3, 4)  # row-major w2c
        X = np.array([0.3, -0.2, 0.5])
        xc = P[:, :3] @ X + P[:, 3]
        want = [(fx * xc[0] / xc[2] + cx) * 64, (fy * xc[1] / xc[2] + cy) * 48]
        np.testing.assert_allclose(project_cameras(loaded[i : i + 1], X[None])[0, 0], want, atol=1e-9)


def test_realestate10k_malformed(tmp_path):
    path = tmp_path / "clip.txt"
    path.write_text("https://x\n0 0.5 0.5 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 1\n")
    with pytest.raises(InputError, match=r"clip\.txt: line 2: expected 19 numbers, got 18"):
        load_realestate10k(path, 64, 48)
    path.write_text("0 0.5 0.5 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 2 0\n")
    with pytest.raises(InputError, match="pose: rotation is not orthonormal"):
        load_realestate10k(path, 64, 48)


# -------------------------------------------------------------------- OpenSfM
def _opensfm_pixel(shot: dict, cam: dict, X: np.ndarray) -> np.ndarray:
    """OpenSfM's documented math: normalised coords (perspective, no distortion) -> pixel (+0.5)."""
    rv = np.array(shot["rotation"])
    xc = Rotation.from_rotvec(rv).as_matrix() @ X + np.array(shot["translation"])
    xn = cam["focal"] * xc[:2] / xc[2]
    w, h = cam["width"], cam["height"]
    return max(w, h) * xn + np.array([(w - 1) / 2, (h - 1) / 2]) + 0.5


def test_opensfm_berlin_projection_and_colours(shared_data):
    path = shared_data / BERLIN
    with pytest.warns(UserWarning, match="distortion ignored"):
        cams, names = load_opensfm(path)
    assert sorted(names) == ["01.jpg", "02.jpg", "03.jpg"] and (cams.width, cams.height) == (3264, 2448)
    rec = json.loads(path.read_text())[0]
    xyz, rgb = load_opensfm_points(path)
    uv = project_cameras(cams, xyz)
    for i, name in enumerate(names):
        shot = rec["shots"][name]
        want = np.stack([_opensfm_pixel(shot, rec["cameras"][shot["camera"]], x) for x in xyz[:20]])
        np.testing.assert_allclose(uv[i, :20], want, atol=1e-6)
    # real check: the points' stored colours match the photo where they project
    photo = Image.open(shared_data / "multiview/opensfm_berlin/images" / names[1])
    photo.draft("RGB", (816, 612))  # JPEG decodes at 1/4 size: fast, and colours are local averages
    img = np.asarray(photo.convert("RGB"))
    scale = img.shape[1] / 3264
    inside = np.all((uv[1] >= 0) & (uv[1] < [3264, 2448]), axis=1)
    px = np.floor(uv[1][inside] * scale).astype(int)
    sampled = img[px[:, 1], px[:, 0]].astype(float)
    err = np.abs(sampled - rgb[inside]).mean()
    shuffled = np.abs(sampled - rgb[inside][np.random.default_rng(0).permutation(inside.sum())]).mean()
    assert inside.mean() > 0.9 and err < 0.5 * shuffled, (err, shuffled)


def test_opensfm_round_trip_brown_and_perspective(tmp_path):
    cams = random_cameras(3, seed=2)  # non-square, off-centre: written as "brown"
    save_opensfm(tmp_path / "r.json", cams, ["a", "b", "c"], points=(np.ones((2, 3)), np.full((2, 3), 7, np.uint8)))
    loaded, names = load_opensfm(tmp_path / "r.json")
    assert names == ["a", "b", "c"] and loaded.allclose(cams, atol=1e-9)
    kinds = {c["projection_type"] for c in json.loads((tmp_path / "r.json").read_text())[0]["cameras"].values()}
    assert kinds == {"brown"}
    square = cams.from_fov(50.0, 64, 48, w2c=cams.w2c)
    save_opensfm(tmp_path / "p.json", square, ["a", "b", "c"])
    assert load_opensfm(tmp_path / "p.json")[0].allclose(square, atol=1e-12)
    rec = json.loads((tmp_path / "p.json").read_text())[0]
    assert [c["projection_type"] for c in rec["cameras"].values()] == ["perspective"]
    xyz, rgb = load_opensfm_points(tmp_path / "r.json")
    assert xyz.shape == (2, 3) and rgb.dtype == np.uint8 and np.all(rgb == 7)
    with pytest.raises(ValueError, match="repeat"):  # shots are keyed by name: a repeat would lose a camera
        save_opensfm(tmp_path / "dup.json", cams, ["a", "a", "b"])
    assert not (tmp_path / "dup.json").exists()


def test_opensfm_malformed(tmp_path):
    save_opensfm(tmp_path / "r.json", random_cameras(2, seed=3), ["a", "b"])
    data = json.loads((tmp_path / "r.json").read_text())
    data[0]["shots"]["b"]["rotation"] = [0.1, 0.2]
    (tmp_path / "r.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"r\.json: \[0\]\.shots\.b\.rotation: expected shape 3, got 2"):
        load_opensfm(tmp_path / "r.json")
    data[0]["shots"]["b"]["rotation"] = [0.1, 0.2, 0.3]
    data[0]["shots"]["b"]["camera"] = "nope"
    (tmp_path / "r.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"\[0\]\.cameras\.nope: missing"):
        load_opensfm(tmp_path / "r.json")
