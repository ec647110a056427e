"""Every camera format converter on seeded random cameras: no real data needed.

The real-data versions of these checks (tests/cameras/test_formats_roundtrip.py and friends) skip
when ``../shared/data`` is absent; these run everywhere. Each format gets

- a round trip of several random cameras (scipy rotations, random translations, realistic and
  per-camera intrinsics, non-square images and off-centre principal points where the format can
  hold them): write -> read gives back K, w2c, width and height;
- one hand-computed value: the file holds what the format's specification says for one known
  camera, and reading it back gives that camera.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest
import torch
from format_round_trips import FORMATS
from formats_helpers import project_cameras, project_pixels, random_rotations
from scipy.spatial.transform import Rotation
from torch.testing import assert_close

from genscene.cameras.cameras import Cameras
from genscene.cameras.formats import (
    cameras_from_opengl,
    cameras_from_projection_matrices,
    cameras_to_opengl,
    cameras_to_pose_encoding,
    load_colmap,
    load_dtu_cameras,
    load_gen3r_cameras,
    load_llff,
    load_middlebury_par,
    load_opensfm,
    load_realestate10k,
    load_transforms,
    pose_encoding_to_cameras,
    projection_matrices,
    save_colmap,
    save_dtu_cameras,
    save_gen3r_cameras,
    save_llff,
    save_middlebury_par,
    save_opensfm,
    save_pose_encoding,
    save_realestate10k,
    save_transforms,
)

N_CAMERAS = 6
SIZES = [(640, 480), (375, 500)]  # landscape, and portrait with an odd width (OpenSfM scales by max(w, h))
# Measured: at most 3.4e-13 px on K (P = K[R|t] decompositions, 1/W scalings) and 1.8e-15 on w2c.
ATOL_K = 1e-10  # pixels (focal lengths are hundreds of pixels)
ATOL_W2C = 1e-12


# ==================================================================== cameras
def make_cameras(n: int, seed: int, width: int, height: int, *, single_focal: bool = False,
                 centred: bool = False) -> Cameras:
    """``n`` float64 cameras: scipy random rotations, translations ~ N(0, 2^2), per-camera K.

    Focal lengths about 0.7-1.4 image widths, fy within 3% of fx, principal point up to 4% of the
    image size off the centre; ``single_focal`` / ``centred`` restrict K for formats that need it.
    """
    rng = np.random.default_rng(seed)
    R = random_rotations(n, seed)
    t = rng.normal(scale=2.0, size=(n, 3))
    fx = rng.uniform(0.7, 1.4, n) * width
    fy = fx if single_focal else fx * rng.uniform(0.97, 1.03, n)
    cx = np.full(n, width / 2) if centred else width / 2 + rng.uniform(-0.04, 0.04, n) * width
    cy = np.full(n, height / 2) if centred else height / 2 + rng.uniform(-0.04, 0.04, n) * height
    K = np.zeros((n, 3, 3))
    K[:, 0, 0], K[:, 1, 1], K[:, 0, 2], K[:, 1, 2], K[:, 2, 2] = fx, fy, cx, cy, 1
    return Cameras.from_Rt(torch.from_numpy(K), torch.from_numpy(R), torch.from_numpy(t), width, height)


def assert_same_cameras(loaded: Cameras, cams: Cameras, atol_k: float = ATOL_K, atol_w2c: float = ATOL_W2C) -> None:
    assert (loaded.width, loaded.height) == (cams.width, cams.height)
    assert loaded.dtype == torch.float64
    assert loaded.K.shape == cams.K.shape and loaded.w2c.shape == cams.w2c.shape
    assert_close(loaded.K, cams.K, rtol=0, atol=atol_k)
    assert_close(loaded.w2c, cams.w2c, rtol=0, atol=atol_w2c)


# formats whose loaders return the image names
NAMED = {"nerfstudio", "colmap_txt", "colmap_bin", "middlebury", "opensfm"}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_random_cameras_round_trip(fmt, size, tmp_path):
    round_trip, single_focal, centred = FORMATS[fmt]
    width, height = size
    seed = 1000 + list(FORMATS).index(fmt)
    cams = make_cameras(N_CAMERAS, seed, width, height, single_focal=single_focal, centred=centred)
    # the cameras really are general where the format allows it
    assert centred or torch.all((cams.cx - width / 2).abs() > 1e-3)
    assert single_focal or torch.all((cams.fx - cams.fy).abs() > 1e-3)
    names = [f"frame_{i:04d}.png" for i in range(N_CAMERAS)]

    loaded, names2 = round_trip(tmp_path, cams, names)

    assert_same_cameras(loaded, cams)
    if fmt in NAMED:
        assert names2 == names
    # and the same pixels: library projection of the loaded cameras vs numpy projection of the originals,
    # for points 1-5 m in front of each camera
    rng = np.random.default_rng(seed)
    for i in range(N_CAMERAS):
        x_cam = np.concatenate([rng.uniform(-0.5, 0.5, (8, 2)), rng.uniform(1, 5, (8, 1))], 1)
        X = (x_cam - cams.t[i].numpy()) @ cams.R[i].numpy()  # R^T (x_cam - t)
        want = project_pixels(cams.K[i : i + 1].numpy(), cams.w2c[i : i + 1].numpy(), X)
        np.testing.assert_allclose(project_cameras(loaded[i : i + 1], X), want, rtol=0, atol=1e-8)


@pytest.mark.parametrize("fmt", ["llff", "vggt"])
def test_restricted_formats_refuse_general_intrinsics(fmt, tmp_path):
    """LLFF cannot store fx != fy or an off-centre principal point, VGGT the latter: refused, nothing written."""
    round_trip, single_focal, _ = FORMATS[fmt]
    general = make_cameras(3, 7, 640, 480, single_focal=single_focal, centred=False)
    with pytest.raises(ValueError, match="principal point"):
        round_trip(tmp_path, general, ["a", "b", "c"])
    if single_focal:
        two_focals = make_cameras(3, 7, 640, 480, single_focal=False, centred=True)
        with pytest.raises(ValueError, match="one focal length"):
            round_trip(tmp_path, two_focals, ["a", "b", "c"])
    assert not any(tmp_path.iterdir())


def test_awkward_rotations_through_rotation_encodings(tmp_path):
    """Identity, exact and near 180-degree turns: the quaternion (COLMAP, VGGT) and angle-axis (OpenSfM)
    encodings must still give back the rotation."""
    rotvecs = np.array([[0, 0, 0], [np.pi, 0, 0], [0, np.pi, 0], [0, 0, np.pi], [np.pi / np.sqrt(2), np.pi / np.sqrt(2), 0],
                        [0, 0, np.pi - 1e-7], [1e-9, 0, 0]])
    n = len(rotvecs)
    R = Rotation.from_rotvec(rotvecs).as_matrix()
    t = np.random.default_rng(0).normal(size=(n, 3))
    K = torch.tensor([[500.0, 0, 320], [0, 500.0, 240], [0, 0, 1]], dtype=torch.float64).expand(n, 3, 3)
    cams = Cameras.from_Rt(K, torch.from_numpy(R), torch.from_numpy(t), 640, 480)
    names = [f"r{i}" for i in range(n)]
    for fmt in ("colmap_txt", "colmap_bin", "vggt", "opensfm", "llff", "nerfstudio"):
        (tmp_path / fmt).mkdir()
        loaded, _ = FORMATS[fmt][0](tmp_path / fmt, cams, names)
        assert_close(loaded.w2c, cams.w2c, rtol=0, atol=1e-12, msg=lambda m, fmt=fmt: f"{fmt}: {m}")
        assert_close(loaded.K, cams.K, rtol=0, atol=ATOL_K)


def test_chain_through_every_format(tmp_path):
    """One pass through all converters in a row (cameras every format can hold): errors do not pile up."""
    cams = make_cameras(N_CAMERAS, 99, 640, 480, single_focal=True, centred=True)
    names = [f"im{i}.jpg" for i in range(N_CAMERAS)]
    current = cams
    for k, (fmt, (round_trip, _, _)) in enumerate(FORMATS.items()):
        step = tmp_path / f"{k:02d}_{fmt}"
        step.mkdir()
        current, _ = round_trip(step, current, names)
    assert_same_cameras(current, cams)


# ==================================================================== hand-computed values
# One known camera, 640x480: K with fx != fy and an off-centre principal point; w2c = [Rz(90 deg) | t].
W, H = 640, 480
K_KNOWN = np.array([[500.0, 0, 330], [0, 520.0, 235], [0, 0, 1]])
R_KNOWN = np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]])  # world -> camera, 90 degrees about z
T_KNOWN = np.array([1.0, 2, 3])
# camera centre C = -R^T t = -(2, -1, 3)
C_KNOWN = np.array([-2.0, 1, -3])
# OpenCV c2w = [R^T | C]; OpenGL flips the camera's y and z axes (columns 1 and 2)
C2W_GL_KNOWN = np.array([[0.0, -1, 0, -2], [-1, 0, 0, 1], [0, 0, -1, -3], [0, 0, 0, 1]])
SQ = math.sqrt(0.5)  # Rz(90): quaternion (w, x, y, z) = (cos 45, 0, 0, sin 45); rotation vector (0, 0, pi/2)


def _known(K: np.ndarray = K_KNOWN, n: int = 1) -> Cameras:
    w2c = np.eye(4)
    w2c[:3, :3], w2c[:3, 3] = R_KNOWN, T_KNOWN
    return Cameras(torch.from_numpy(np.tile(K, (n, 1, 1))), torch.from_numpy(np.tile(w2c, (n, 1, 1))), W, H)


def test_known_sanity():
    cams = _known()
    assert_close(cams.centers[0], torch.from_numpy(C_KNOWN))
    # the camera centre is at depth 0 and a point 2 m ahead along the optical axis projects to (cx, cy)
    ahead = C_KNOWN + 2 * R_KNOWN[2]  # optical axis in world = third row of R
    np.testing.assert_allclose(project_pixels(K_KNOWN[None], cams.w2c.numpy(), ahead[None])[0, 0], [330, 235])


def test_known_opengl():
    cams = _known()
    assert_close(cameras_to_opengl(cams)[0], torch.from_numpy(C2W_GL_KNOWN), rtol=0, atol=0)
    back = cameras_from_opengl(torch.from_numpy(C2W_GL_KNOWN), torch.from_numpy(K_KNOWN), W, H)
    assert_same_cameras(back[None], cams, 0, 0)
    # the Blender default camera (identity c2w: looking down world -z, y up) is OpenCV diag(1, -1, -1)
    blender = cameras_from_opengl(torch.eye(4, dtype=torch.float64), 500.0, W, H)
    assert_close(blender.w2c, torch.diag(torch.tensor([1.0, -1, -1, 1], dtype=torch.float64)), rtol=0, atol=0)
    assert_close(blender.K, torch.tensor([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]], dtype=torch.float64))


def test_known_nerfstudio(tmp_path):
    save_transforms(tmp_path / "t.json", _known(), ["images/a.png"])
    meta = json.loads((tmp_path / "t.json").read_text())
    assert (meta["w"], meta["h"]) == (W, H)
    assert (meta["fl_x"], meta["fl_y"], meta["cx"], meta["cy"]) == (500.0, 520.0, 330.0, 235.0)
    np.testing.assert_allclose(meta["frames"][0]["transform_matrix"], C2W_GL_KNOWN, rtol=0, atol=1e-15)
    assert_same_cameras(load_transforms(tmp_path / "t.json")[0], _known(), 0, 1e-15)


@pytest.mark.parametrize("binary", [False, True], ids=["txt", "bin"])
def test_known_colmap(binary, tmp_path):
    save_colmap(tmp_path, _known(), ["a.png"], binary=binary)
    if binary:
        cam = (tmp_path / "cameras.bin").read_bytes()
        assert struct.unpack("<Q", cam[:8]) == (1,)
        assert struct.unpack_from("<iiQQ4d", cam, 8) == (1, 1, W, H, 500.0, 520.0, 330.0, 235.0)  # model 1: PINHOLE
        img = (tmp_path / "images.bin").read_bytes()
        iid, *qt, cid = struct.unpack_from("<i7di", img, 8)
        assert (iid, cid) == (1, 1) and img[8 + 64:].startswith(b"a.png\x00")
    else:
        cam_lines = [x for x in (tmp_path / "cameras.txt").read_text().splitlines() if not x.startswith("#")]
        assert cam_lines[0].split() == ["1", "PINHOLE", "640", "480", "500.0", "520.0", "330.0", "235.0"]
        img_lines = [x for x in (tmp_path / "images.txt").read_text().splitlines() if not x.startswith("#")]
        tok = img_lines[0].split()
        assert tok[0] == "1" and tok[8:] == ["1", "a.png"]
        qt = [float(v) for v in tok[1:8]]
    np.testing.assert_allclose(qt, [SQ, 0, 0, SQ, 1, 2, 3], rtol=0, atol=1e-15)  # qvec (w, x, y, z), tvec
    assert_same_cameras(load_colmap(tmp_path)[0], _known(), 0, 1e-15)


def test_known_llff(tmp_path):
    K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    save_llff(tmp_path / "p.npy", _known(K), np.array([[0.5, 20.0]]))
    row = np.load(tmp_path / "p.npy")
    assert row.shape == (1, 17)
    # columns [down, right, back, centre, hwf]: camera right = (0, -1, 0), down = (1, 0, 0), forward = +z
    want = np.array([[1.0, 0, 0, -2, H], [0, -1, 0, 1, W], [0, 0, -1, -3, 500]])
    np.testing.assert_allclose(row[0, :15].reshape(3, 5), want, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(row[0, 15:], [0.5, 20.0])
    loaded, _ = load_llff(tmp_path / "p.npy")
    assert_same_cameras(loaded, _known(K), 0, 1e-15)
    # the stored hwf focal is for the stored size: loading for half-size images halves K
    half, _ = load_llff(tmp_path / "p.npy", width=W // 2, height=H // 2)
    assert_close(half.K[0], torch.from_numpy(K * [[0.5], [0.5], [1]]), rtol=0, atol=0)


def test_known_realestate10k(tmp_path):
    save_realestate10k(tmp_path / "c.txt", _known(), timestamps=[123456], url="https://youtu.be/x")
    lines = (tmp_path / "c.txt").read_text().splitlines()
    assert lines[0] == "https://youtu.be/x" and lines[1].split()[0] == "123456"
    values = [float(v) for v in lines[1].split()[1:]]
    want = [500 / 640, 520 / 480, 330 / 640, 235 / 480, 0, 0, 0, -1, 0, 1, 1, 0, 0, 2, 0, 0, 1, 3]
    np.testing.assert_allclose(values, want, rtol=0, atol=1e-15)
    assert_same_cameras(load_realestate10k(tmp_path / "c.txt", W, H)[0], _known(), 1e-12, 0)


def test_known_projection_matrix_and_dtu(tmp_path):
    # P = K [R | t], rows worked by hand
    P = np.array([[0.0, -500, 330, 1490], [520, 0, 235, 1745], [0, 0, 1, 3]])
    assert_close(projection_matrices(_known())[0], torch.from_numpy(P), rtol=0, atol=1e-12)
    assert_same_cameras(cameras_from_projection_matrices(torch.from_numpy(-2.5 * P[None]), W, H), _known(), 1e-10, 1e-12)
    save_dtu_cameras(tmp_path / "cameras.npz", _known())
    with np.load(tmp_path / "cameras.npz") as z:
        np.testing.assert_allclose(z["world_mat_0"], np.vstack([P, [0, 0, 0, 1]]), rtol=0, atol=1e-12)
        np.testing.assert_array_equal(z["scale_mat_0"], np.eye(4))
    # a NeuS scale_mat (x_world = S x_norm): the normalised cameras see x_norm where the world ones see S x_norm
    S = np.array([[2.5, 0, 0, 0.3], [0, 2.5, 0, -0.2], [0, 0, 2.5, 1.1], [0, 0, 0, 1]])
    save_dtu_cameras(tmp_path / "scaled.npz", _known(n=2), np.stack([S, S]))
    world, S2 = load_dtu_cameras(tmp_path / "scaled.npz", W, H, normalize=False)
    assert_same_cameras(world, _known(n=2), 1e-10, 1e-12)
    np.testing.assert_array_equal(S2, np.stack([S, S]))
    norm, _ = load_dtu_cameras(tmp_path / "scaled.npz", W, H)
    x_norm = np.array([[0.0, 0, 0], [0.3, -0.4, 0.2]])
    x_world = x_norm @ S[:3, :3].T + S[:3, 3]
    np.testing.assert_allclose(project_cameras(norm, x_norm), project_cameras(world, x_world), rtol=0, atol=1e-9)


def test_known_middlebury(tmp_path):
    save_middlebury_par(tmp_path / "x_par.txt", _known(), ["img0001.png"])
    lines = (tmp_path / "x_par.txt").read_text().splitlines()
    assert lines[0] == "1"
    tok = lines[1].split()
    assert tok[0] == "img0001.png"
    want = [500, 0, 330, 0, 520, 235, 0, 0, 1, 0, -1, 0, 1, 0, 0, 0, 0, 1, 1, 2, 3]  # K row-major, R row-major, t
    np.testing.assert_array_equal([float(v) for v in tok[1:]], want)
    cams, names = load_middlebury_par(tmp_path / "x_par.txt", W, H)
    assert names == ["img0001.png"]
    assert_same_cameras(cams, _known(), 0, 0)


def test_known_vggt(tmp_path):
    # fx = W/2 gives fov_w = 2 atan(1) = pi/2; fy = (H/2) sqrt(3) gives fov_h = 2 atan(1/sqrt 3) = pi/3
    K = np.array([[320.0, 0, 320], [0, 240 * math.sqrt(3), 240], [0, 0, 1]])
    enc = cameras_to_pose_encoding(_known(K))
    want = torch.tensor([[1.0, 2, 3, 0, 0, SQ, SQ, math.pi / 3, math.pi / 2]], dtype=torch.float64)  # t, quat xyzw, fovs
    assert_close(enc, want, rtol=0, atol=1e-15)
    assert_same_cameras(pose_encoding_to_cameras(want, W, H), _known(K), 1e-12, 1e-15)
    save_pose_encoding(tmp_path / "e.npz", _known(K))
    with np.load(tmp_path / "e.npz") as z:
        np.testing.assert_array_equal(z["image_size_hw"], [H, W])
        np.testing.assert_allclose(z["pose_enc"], want.numpy(), rtol=0, atol=1e-15)


def test_known_gen3r(tmp_path):
    save_gen3r_cameras(tmp_path / "abs.json", _known(), relative_to_first=False)
    meta = json.loads((tmp_path / "abs.json").read_text())
    assert (meta["width"], meta["height"]) == (W, H)
    assert meta["intrinsics"] == [K_KNOWN.tolist()]
    assert meta["extrinsics"] == [[[0.0, -1, 0, 1], [1, 0, 0, 2], [0, 0, 1, 3], [0, 0, 0, 1]]]
    # relative (the default): frame 0 becomes the identity; a second camera whose centre moved by +1
    # along world x has moved by +1 along frame 0's camera y (R_KNOWN maps world x to camera y)
    two = _known(n=2)
    two.w2c[1, :3, 3] = torch.from_numpy(T_KNOWN - R_KNOWN @ [1.0, 0, 0])  # centre moved by +x
    save_gen3r_cameras(tmp_path / "rel.json", two)
    rel = load_gen3r_cameras(tmp_path / "rel.json")
    assert_close(rel.w2c[0], torch.eye(4, dtype=torch.float64), rtol=0, atol=1e-15)
    want = torch.eye(4, dtype=torch.float64)
    want[1, 3] = -1.0  # w2c_1 @ inv(w2c_0) = [I | -R (1, 0, 0)] = [I | (0, -1, 0)]
    assert_close(rel.w2c[1], want, rtol=0, atol=1e-15)


def test_known_opensfm(tmp_path):
    save_opensfm(tmp_path / "r.json", _known(), ["a.jpg"])
    rec = json.loads((tmp_path / "r.json").read_text())[0]
    shot = rec["shots"]["a.jpg"]
    np.testing.assert_allclose(shot["rotation"], [0, 0, math.pi / 2], rtol=0, atol=1e-15)
    assert shot["translation"] == [1.0, 2.0, 3.0]
    cam = rec["cameras"][shot["camera"]]
    # normalised by s = max(w, h) = 640, principal point relative to the image centre
    assert cam["projection_type"] == "brown" and (cam["width"], cam["height"]) == (W, H)
    assert (cam["focal_x"], cam["focal_y"], cam["c_x"], cam["c_y"]) == (500 / 640, 520 / 640, 10 / 640, -5 / 640)
    assert_same_cameras(load_opensfm(tmp_path / "r.json")[0], _known(), 1e-12, 1e-15)
    # square pixels, centred: "perspective" with focal = f / max(w, h), here for a portrait 480x640 image
    portrait = Cameras(torch.tensor([[512.0, 0, 240], [0, 512, 320], [0, 0, 1]], dtype=torch.float64)[None],
                       _known().w2c, 480, 640)
    save_opensfm(tmp_path / "p.json", portrait, ["p.jpg"])
    cam = next(iter(json.loads((tmp_path / "p.json").read_text())[0]["cameras"].values()))
    assert cam["projection_type"] == "perspective" and cam["focal"] == 512 / 640
    assert_same_cameras(load_opensfm(tmp_path / "p.json")[0], portrait, 1e-12, 1e-15)
