"""COLMAP sparse models, checked against pycolmap as the independent reader and writer."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from formats_helpers import project_cameras, random_cameras, temple

from genscene.cameras.formats.colmap import load_colmap, load_colmap_points, save_colmap
from genscene.errors import InputError


def _points(n: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), rng.integers(0, 256, size=(n, 3), dtype=np.uint8)


@pytest.mark.parametrize("binary", [False, True])
def test_colmap_round_trip(tmp_path, binary):
    cams = random_cameras(5, seed=0)
    names = [f"im_{i}.png" for i in range(5)]
    pts = _points()
    save_colmap(tmp_path, cams, names, binary=binary, points=pts)
    ext = ".bin" if binary else ".txt"
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{n}{ext}" for n in ("cameras", "images", "points3D")]
    loaded, names2 = load_colmap(tmp_path)
    assert names2 == names and loaded.allclose(cams, atol=1e-12)
    xyz, rgb = load_colmap_points(tmp_path)
    np.testing.assert_array_equal(xyz, pts[0])
    np.testing.assert_array_equal(rgb, pts[1])


@pytest.mark.parametrize("binary", [False, True])
def test_pycolmap_reads_ours_and_projects_the_same(tmp_path, shared_data, binary):
    pycolmap = pytest.importorskip("pycolmap")
    cams, names, X = temple(shared_data)
    save_colmap(tmp_path, cams, names, binary=binary, points=_points())
    rec = pycolmap.Reconstruction(str(tmp_path))
    assert rec.num_images() == 16 and rec.num_cameras() == 1 and rec.num_points3D() == 6
    ours = project_cameras(cams, X)
    for image in rec.images.values():
        i = names.index(image.name)
        np.testing.assert_allclose(image.cam_from_world().rotation.matrix(), cams.R[i].numpy(), atol=1e-12)
        np.testing.assert_allclose(rec.cameras[image.camera_id].calibration_matrix(), cams.K[i].numpy(), atol=1e-12)
        theirs = np.stack([image.project_point(x) for x in X])
        np.testing.assert_allclose(theirs, ours[i], atol=1e-6)
    np.testing.assert_allclose(sorted(p.xyz[0] for p in rec.points3D.values()), sorted(_points()[0][:, 0]))


@pytest.mark.parametrize("binary", [False, True])
def test_we_read_pycolmap_models(tmp_path, shared_data, binary):
    pycolmap = pytest.importorskip("pycolmap")
    cams, names, _ = temple(shared_data)
    save_colmap(tmp_path / "ours", cams, names, binary=True)
    rec = pycolmap.Reconstruction(str(tmp_path / "ours"))
    (tmp_path / "theirs").mkdir()
    (rec.write_binary if binary else rec.write_text)(str(tmp_path / "theirs"))
    loaded, names2 = load_colmap(tmp_path / "theirs")
    order = [names.index(n) for n in names2]
    assert loaded.allclose(cams[order], atol=1e-12)


def _pycolmap_model(pycolmap, path, model: str, params: list[float], sizes=((160, 120),)):
    rec = pycolmap.Reconstruction()
    for cid, (w, h) in enumerate(sizes, start=1):
        rec.add_camera_with_trivial_rig(pycolmap.Camera(camera_id=cid, model=model, width=w, height=h, params=params))
        pose = pycolmap.Rigid3d(pycolmap.Rotation3d(np.array([0.1, 0.2, 0.3, np.sqrt(0.86)])), np.array([0.1, 0.2, 1]))
        rec.add_image_with_trivial_frame(pycolmap.Image(image_id=cid, name=f"{cid}.png", camera_id=cid), pose)
    path.mkdir()
    rec.write_text(str(path))
    return rec


@pytest.mark.parametrize(
    "model, params, K",
    [
        ("SIMPLE_PINHOLE", [200.0, 80.0, 60.0], (200, 200, 80, 60)),
        ("SIMPLE_RADIAL", [200.0, 80.0, 60.0, 0.01], (200, 200, 80, 60)),
        ("RADIAL", [200.0, 81.0, 61.0, 0.01, 0.002], (200, 200, 81, 61)),
        ("OPENCV", [200.0, 210.0, 80.0, 60.0, 0.01, 0.0, 0.0, 0.0], (200, 210, 80, 60)),
    ],
)
def test_read_other_perspective_models(tmp_path, model, params, K):
    pycolmap = pytest.importorskip("pycolmap")
    rec = _pycolmap_model(pycolmap, tmp_path / "m", model, params)
    distorted = any(params[len(params) - (4 if model == "OPENCV" else 1 if model != "RADIAL" else 2):])
    if model != "SIMPLE_PINHOLE" and distorted:
        with pytest.warns(UserWarning, match="distortion ignored"):
            cams, _ = load_colmap(tmp_path / "m")
    else:
        cams, _ = load_colmap(tmp_path / "m")
    fx, fy, cx, cy = K
    np.testing.assert_allclose(cams.K[0].numpy(), [[fx, 0, cx], [0, fy, cy], [0, 0, 1]])
    np.testing.assert_allclose(cams.R[0].numpy(), rec.images[1].cam_from_world().rotation.matrix(), atol=1e-12)


def test_colmap_malformed(tmp_path):
    pycolmap = pytest.importorskip("pycolmap")
    _pycolmap_model(pycolmap, tmp_path / "mixed", "PINHOLE", [100.0, 100.0, 50.0, 40.0], sizes=((160, 120), (100, 80)))
    with pytest.raises(InputError, match=r"cameras\.txt: WIDTH/HEIGHT: cameras have different image sizes"):
        load_colmap(tmp_path / "mixed")
    _pycolmap_model(pycolmap, tmp_path / "fisheye", "OPENCV_FISHEYE", [100.0, 100.0, 50.0, 40.0, 0, 0, 0, 0])
    with pytest.raises(InputError, match=r"cameras\.txt: line \d+: camera model OPENCV_FISHEYE"):
        load_colmap(tmp_path / "fisheye")
    with pytest.raises(InputError, match="no COLMAP model here"):
        load_colmap(tmp_path / "nothing")

    save_colmap(tmp_path / "bin", random_cameras(2, seed=1), ["a", "b"], binary=True)
    data = (tmp_path / "bin" / "images.bin").read_bytes()
    (tmp_path / "bin" / "images.bin").write_bytes(data[:8 + 74 + 64])  # cut inside image 1 (each entry: 64 bytes, name, 8)
    with pytest.raises(InputError, match=r"images\.bin: image 1: file ends"):
        load_colmap(tmp_path / "bin")
    (tmp_path / "bin" / "images.bin").write_bytes(struct.pack("<Q", 10**9))
    with pytest.raises(InputError, match="num_images: claims 1000000000 entries"):
        load_colmap(tmp_path / "bin")

    save_colmap(tmp_path / "txt", random_cameras(2, seed=1), ["a", "b"])
    text = (tmp_path / "txt" / "images.txt").read_text().replace("1 ", "1 nan ", 1)
    (tmp_path / "txt" / "images.txt").write_text(text)
    with pytest.raises(InputError, match=r"images\.txt: line \d+"):
        load_colmap(tmp_path / "txt")


def test_colmap_refuses_what_pinhole_cannot_hold(tmp_path):
    cams = random_cameras(1, seed=0)
    cams.K[0, 0, 1] = 2.0
    with pytest.raises(ValueError, match="skew"):
        save_colmap(tmp_path, cams, ["a"])
    assert not any(tmp_path.iterdir())
