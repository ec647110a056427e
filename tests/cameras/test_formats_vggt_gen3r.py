"""VGGT pose encoding, Gen3R cameras.json and the rotation helpers (against scipy)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from formats_helpers import project_cameras, random_cameras, random_rotations
from scipy.spatial.transform import Rotation

from genscene.cameras.cameras import Cameras
from genscene.cameras.formats.gen3r import load_gen3r_cameras, save_gen3r_cameras
from genscene.cameras.formats.vggt import (
    cameras_to_pose_encoding,
    load_pose_encoding,
    pose_encoding_to_cameras,
    save_pose_encoding,
)
from genscene.errors import InputError
from genscene.rotations import (
    quat_wxyz_to_rotmat_np,
    rotmat_to_quat_wxyz_np,
    rotmat_to_rotvec_np,
    rotvec_to_rotmat_np,
)


def _hard_rotations() -> np.ndarray:
    """Random rotations plus the awkward ones: identity, and 180 degrees about x, y, z and a diagonal."""
    axes = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0] / np.sqrt(2)]) * np.pi
    return np.concatenate([random_rotations(50, seed=0), np.eye(3)[None], Rotation.from_rotvec(axes).as_matrix()])


def test_rotation_helpers_match_scipy():
    R = _hard_rotations()
    q = rotmat_to_quat_wxyz_np(R)
    ref = Rotation.from_matrix(R).as_quat()[:, [3, 0, 1, 2]]  # scipy is (x, y, z, w)
    ref *= np.where(ref[:, :1] < 0, -1, 1)
    near_pi = np.abs(ref[:, 0]) < 1e-9  # w = 0: q and -q are both valid
    np.testing.assert_allclose(q[~near_pi], ref[~near_pi], atol=1e-12)
    np.testing.assert_allclose(np.abs(q[near_pi]), np.abs(ref[near_pi]), atol=1e-12)
    np.testing.assert_allclose(quat_wxyz_to_rotmat_np(q), R, atol=1e-12)
    v = rotmat_to_rotvec_np(R)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), Rotation.from_matrix(R).magnitude(), atol=1e-9)
    np.testing.assert_allclose(rotvec_to_rotmat_np(v), R, atol=1e-12)
    np.testing.assert_allclose(rotvec_to_rotmat_np(v[:10]), Rotation.from_rotvec(v[:10]).as_matrix(), atol=1e-12)


def _centred(cams: Cameras) -> Cameras:
    K = cams.K.clone()
    K[..., 0, 2], K[..., 1, 2] = cams.width / 2, cams.height / 2
    return Cameras(K, cams.w2c, cams.width, cams.height)


def test_vggt_encoding_matches_released_definition():
    cams = _centred(random_cameras(6, seed=1))
    enc = cameras_to_pose_encoding(cams).numpy()
    R, t = cams.R.numpy(), cams.t.numpy()
    quat = Rotation.from_matrix(R).as_quat()  # (x, y, z, w), VGGT's order
    quat *= np.where(quat[:, 3:] < 0, -1, 1)  # VGGT standardises to w >= 0
    np.testing.assert_allclose(enc[:, :3], t, atol=1e-12)
    np.testing.assert_allclose(enc[:, 3:7], quat, atol=1e-12)
    np.testing.assert_allclose(enc[:, 7], 2 * np.arctan(48 / 2 / cams.fy.numpy()), atol=1e-12)  # fov_h
    np.testing.assert_allclose(enc[:, 8], 2 * np.arctan(64 / 2 / cams.fx.numpy()), atol=1e-12)  # fov_w
    back = pose_encoding_to_cameras(torch.from_numpy(enc), 64, 48)
    assert back.allclose(cams, atol=1e-12)


def test_vggt_principal_point_handling(tmp_path):
    cams = random_cameras(2, seed=2)
    with pytest.raises(ValueError, match="principal point"):
        cameras_to_pose_encoding(cams)
    lossy = pose_encoding_to_cameras(cameras_to_pose_encoding(cams, strict=False), 64, 48)
    assert torch.allclose(lossy.w2c, cams.w2c, atol=1e-12) and torch.allclose(lossy.fx, cams.fx)
    assert torch.all(lossy.cx == 32) and torch.all(lossy.cy == 24)
    save_pose_encoding(tmp_path / "enc.npz", _centred(cams))
    assert load_pose_encoding(tmp_path / "enc.npz").allclose(_centred(cams), atol=1e-12)
    np.savez(tmp_path / "bad.npz", pose_enc=np.zeros((2, 7)), image_size_hw=np.array([48, 64]))
    with pytest.raises(InputError, match=r"bad\.npz: pose_enc: expected shape \[\.\.\., 9\]"):
        load_pose_encoding(tmp_path / "bad.npz")


def test_gen3r_relative_cameras_preserve_projections(tmp_path):
    cams = random_cameras(4, seed=3)
    save_gen3r_cameras(tmp_path / "cameras.json", cams)
    meta = json.loads((tmp_path / "cameras.json").read_text())
    assert set(meta) == {"extrinsics", "intrinsics", "width", "height"}
    np.testing.assert_allclose(meta["extrinsics"][0], np.eye(4), atol=1e-12)
    rel = load_gen3r_cameras(tmp_path / "cameras.json")
    X = np.random.default_rng(0).normal(size=(5, 3))
    w2c0 = cams.w2c[0].numpy()
    X_rel = X @ w2c0[:3, :3].T + w2c0[:3, 3]  # the new world is camera 0's frame
    np.testing.assert_allclose(project_cameras(rel, X_rel), project_cameras(cams, X), atol=1e-9)
    np.testing.assert_allclose(rel.K.numpy(), cams.K.numpy())


def test_gen3r_defaults_and_malformed(tmp_path):
    K = [[500.0, 0, 280], [0, 500, 280], [0, 0, 1]]
    (tmp_path / "c.json").write_text(json.dumps({"extrinsics": [np.eye(4).tolist()] * 2, "intrinsics": K}))
    cams = load_gen3r_cameras(tmp_path / "c.json")
    assert (cams.width, cams.height) == (560, 560) and len(cams) == 2
    (tmp_path / "d.json").write_text(json.dumps({"extrinsics": [np.eye(4).tolist()], "intrinsics": [K, K]}))
    with pytest.raises(InputError, match=r"d\.json: intrinsics: expected 1x3x3"):
        load_gen3r_cameras(tmp_path / "d.json")
    (tmp_path / "e.json").write_text(json.dumps({"intrinsics": [K]}))
    with pytest.raises(InputError, match=r"e\.json: extrinsics: missing"):
        load_gen3r_cameras(tmp_path / "e.json")
    (tmp_path / "f.json").write_text("{not json")
    with pytest.raises(InputError, match=r"f\.json: invalid JSON at line 1"):
        load_gen3r_cameras(tmp_path / "f.json")
