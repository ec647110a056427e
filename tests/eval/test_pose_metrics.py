"""Pose metrics: VGGT RRA / RTA / AUC and CameraCtrl R_err / T_err."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from genscene.cameras.cameras import Cameras, rigid_matrix
from genscene.eval.pose_metrics import (
    camera_following_errors,
    pose_auc,
    relative_pose_errors,
    relative_pose_metrics,
    rotation_angle,
    translation_direction_angle,
)
from genscene.geometry.alignment import transform_cameras_sim3


def _temple(shared_data) -> Cameras:
    d = np.load(shared_data / "fixtures" / "middlebury_temple_sparse_ring_160x120.npz")
    return Cameras.from_Rt(d["K"], d["R"], d["t"], 160, 120)


def _synthetic(n: int = 6, seed: int = 0) -> Cameras:
    rots = torch.from_numpy(Rotation.random(n, random_state=seed).as_matrix())
    t = torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return Cameras.from_fov(60.0, 32, 24, w2c=rigid_matrix(rots, t))


def _rotate_about_centre(cams: Cameras, index: int, rotvec) -> Cameras:
    """Rotate one camera in place (its centre stays): w2c_k <- [D R | -D R c]."""
    w2c = cams.w2c.clone()
    D = torch.from_numpy(Rotation.from_rotvec(rotvec).as_matrix())
    c = cams.centers[index]
    R = D @ w2c[index, :3, :3]
    w2c[index] = rigid_matrix(R, -(R @ c))
    return Cameras(cams.K, w2c, cams.width, cams.height)


def test_identical_poses_are_perfect():
    cams = _synthetic()
    rot, trans = relative_pose_errors(cams, cams)
    assert rot.abs().max() < 1e-6 and trans.abs().max() < 1e-5
    m = relative_pose_metrics(cams, cams.w2c)  # Cameras or w2c tensors
    assert m["auc@30"] == 100.0 and m["auc@3"] == 100.0
    assert m["rra@5"] == 100.0 and m["rta@5"] == 100.0
    e = camera_following_errors(cams, cams)
    assert e["r_err"] < 1e-9 and e["t_err"] < 1e-9


def test_rotation_and_translation_angles_against_references():
    rots = Rotation.random(20, random_state=3)
    other = Rotation.random(20, random_state=4)
    ours = rotation_angle(torch.from_numpy(rots.as_matrix()), torch.from_numpy(other.as_matrix()))
    ref = (rots * other.inv()).magnitude()
    np.testing.assert_allclose(ours.numpy(), ref, atol=1e-10)
    a = torch.tensor([[1.0, 0, 0]] * 4, dtype=torch.float64)
    b = torch.tensor([[1.0, 1, 0], [-1, 0, 0], [0, 0, 0], [0, 2, 0]], dtype=torch.float64)
    deg = torch.rad2deg(translation_direction_angle(a, b)).tolist()
    assert deg == pytest.approx([45.0, 0.0, 90.0, 90.0])  # sign-free; vanishing translation -> 90


def test_known_rotation_perturbation_gives_known_angle():
    cams = _synthetic(5, seed=1)
    angle = math.radians(7.0)
    pred = _rotate_about_centre(cams, 3, [0.0, angle, 0.0])
    rot, trans = relative_pose_errors(pred, cams)
    pairs = torch.combinations(torch.arange(5), 2)
    involved = (pairs == 3).any(-1)
    np.testing.assert_allclose(rot[involved].numpy(), 7.0, atol=1e-9)
    assert rot[~involved].abs().max() < 1e-9
    e = camera_following_errors(pred, cams)
    assert e["r_err"] == pytest.approx(angle, abs=1e-12)
    assert camera_following_errors(pred, cams, degrees=True)["r_err"] == pytest.approx(7.0, abs=1e-9)


def test_hand_computed_auc_from_cameras():
    # Three cameras; camera 2 rotated by 10.5 deg about its centre. Pairs (0,1), (0,2), (1,2):
    # rotation errors 0, 10.5, 10.5; translation directions of w2c_i inv(w2c_2) are unchanged.
    # AUC@30 = mean_k=1..30 frac(err < k) = (10 * 1/3 + 20 * 1) / 30.
    cams = _synthetic(3, seed=2)
    pred = _rotate_about_centre(cams, 2, [0.3 * math.radians(10.5), 0.0, math.sqrt(0.91) * math.radians(10.5)])
    rot, trans = relative_pose_errors(pred, cams)
    np.testing.assert_allclose(rot.numpy(), [0.0, 10.5, 10.5], atol=1e-9)
    assert trans.abs().max() < 1e-5
    m = relative_pose_metrics(pred, cams)
    assert m["auc@30"] == pytest.approx(100 * (10 / 3 + 20) / 30, abs=1e-9)
    assert m["auc@5"] == pytest.approx(100 / 3, abs=1e-9)
    assert m["rra@5"] == pytest.approx(100 / 3) and m["rra@15"] == 100.0 and m["rta@5"] == 100.0


def test_auc_histogram_definition():
    # max errors 0.5, 3.5, 10, 40: counted from k = 1, 4, 11, never (k = 1..30; bin [10, 11) holds 10)
    auc = pose_auc(np.array([0.5, 2.5, 10.0, 40.0]), np.array([0.2, 3.5, 1.0, 0.0]))
    assert auc == pytest.approx(100 * (3 * 0.25 + 7 * 0.5 + 20 * 0.75) / 30, abs=1e-12)
    assert pose_auc(np.array([30.0]), np.array([0.0])) == pytest.approx(100 / 30)  # last bin is closed


def test_relative_metrics_invariant_to_global_sim3(shared_data):
    gt = _temple(shared_data)
    noisy = _rotate_about_centre(gt, 4, [0.05, -0.02, 0.01])
    w2c = noisy.w2c.clone()
    w2c[7, :3, 3] += torch.tensor([0.01, -0.02, 0.005], dtype=torch.float64)
    noisy = Cameras(noisy.K, w2c, 160, 120)
    R = torch.from_numpy(Rotation.from_euler("zxy", [40, -25, 70], degrees=True).as_matrix())
    moved = transform_cameras_sim3(noisy, 3.7, R, torch.tensor([1.0, -4.0, 2.5], dtype=torch.float64))
    base, after = relative_pose_metrics(noisy, gt), relative_pose_metrics(moved, gt)
    assert base["auc@30"] < 100.0
    for k in base:
        assert after[k] == pytest.approx(base[k], abs=1e-9), k
    rot0, trans0 = relative_pose_errors(noisy, gt)
    rot1, trans1 = relative_pose_errors(moved, gt)
    torch.testing.assert_close(rot1, rot0, atol=1e-7, rtol=0)
    torch.testing.assert_close(trans1, trans0, atol=1e-7, rtol=0)
    e0, e1 = camera_following_errors(noisy, gt), camera_following_errors(moved, gt)
    assert e0["r_err"] > 0 and e0["t_err"] > 0
    assert e1["r_err"] == pytest.approx(e0["r_err"], abs=1e-9)
    assert e1["t_err"] == pytest.approx(e0["t_err"], abs=1e-9)


def test_translation_error_with_furthest_frame_normalisation():
    # Identity rotations; gt centres 0, (1,0,0), (2,0,0); predicted (0,0,0), (1,0,0), (2,0.5,0).
    # Normalised by the furthest frame: gt /2, pred /sqrt(4.25).
    def cams_from_centres(centres):
        c = torch.tensor(centres, dtype=torch.float64)
        return Cameras.from_fov(60.0, 32, 24, w2c=rigid_matrix(torch.eye(3, dtype=torch.float64).expand(3, 3, 3), -c))

    gt = cams_from_centres([[0, 0, 0], [1, 0, 0], [2, 0, 0]])
    pred = cams_from_centres([[0, 0, 0], [1, 0, 0], [2, 0.5, 0]])
    f = math.sqrt(4.25)
    expected = abs(0.5 - 1 / f) + math.hypot(1 - 2 / f, 0.5 / f)
    e = camera_following_errors(pred, gt)
    assert e["t_err"] == pytest.approx(expected, abs=1e-12) and e["r_err"] == 0.0
    # a scaled copy of the trajectory has no translation error
    assert camera_following_errors(cams_from_centres([[0, 0, 0], [3, 0, 0], [6, 0, 0]]), gt)["t_err"] < 1e-12


def test_matches_vggt_formulas_on_real_cameras(shared_data):
    """VGGT's test_co3d.py arithmetic (quaternion rotation angle, normalised-vector translation
    angle, np.histogram AUC), re-typed here with scipy quaternions, on the noisy temple ring."""
    d = np.load(shared_data / "fixtures" / "middlebury_temple_sparse_ring_160x120.npz")
    gt = _temple(shared_data)
    rng = np.random.default_rng(0)
    R = (Rotation.from_rotvec(rng.normal(0, 0.08, (16, 3))) * Rotation.from_matrix(d["R"])).as_matrix()
    pred = Cameras.from_Rt(d["K"], R, d["t"] + rng.normal(0, 0.03, (16, 3)), 160, 120)
    i, j = torch.combinations(torch.arange(16), 2).unbind(-1)
    rel_g = gt.w2c[i] @ torch.linalg.inv(gt.w2c[j])
    rel_p = pred.w2c[i] @ torch.linalg.inv(pred.w2c[j])
    qg = Rotation.from_matrix(rel_g[:, :3, :3].numpy()).as_quat()
    qp = Rotation.from_matrix(rel_p[:, :3, :3].numpy()).as_quat()
    ref_rot = np.degrees(np.arccos(1 - 2 * np.clip(1 - (qg * qp).sum(1) ** 2, 1e-15, None)))
    tg, tp = rel_g[:, :3, 3].numpy(), rel_p[:, :3, 3].numpy()
    valid = np.linalg.norm(tg, axis=1) > 1e-9  # the ring has pairs with coincident centres
    cos = np.abs((tg * tp).sum(1)) / (np.linalg.norm(tg, axis=1) * np.linalg.norm(tp, axis=1))
    ref_trans = np.where(valid, np.degrees(np.arccos(np.clip(cos, 0, 1))), 90.0)
    rot, trans = relative_pose_errors(pred, gt)
    np.testing.assert_allclose(rot.numpy(), ref_rot, atol=1e-5)
    np.testing.assert_allclose(trans.numpy(), ref_trans, atol=1e-6)
    worst = np.maximum(ref_rot, ref_trans)
    hist, _ = np.histogram(worst, bins=np.arange(31))
    expected_auc = 100 * np.mean(np.cumsum(hist / worst.size))
    assert relative_pose_metrics(pred, gt)["auc@30"] == pytest.approx(expected_auc, abs=1e-9)
