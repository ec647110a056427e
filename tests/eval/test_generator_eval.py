"""Scores of generated clips: hand values of the masked PSNR, the SpatialCrafter frame range, the baseline fill."""

import math

import torch

from genscene.cameras.cameras import Cameras
from genscene.cameras.formats.vggt import cameras_to_pose_encoding
from genscene.eval.generator_eval import (
    estimated_camera_errors,
    masked_psnr,
    mean_scores,
    nearest_fill,
    video_scores,
)


def test_masked_psnr_hand_values():
    gt = torch.zeros(2, 3, 4, 4)
    pred = gt.clone()
    pred[0, :, 0, 0] = 0.1  # error 0.1 on one pixel of frame 0
    mask = torch.zeros(2, 4, 4, dtype=torch.bool)
    mask[0, 0, 0] = True
    assert math.isclose(masked_psnr(pred, gt, mask), 20.0, rel_tol=1e-6)  # mse 0.01
    assert masked_psnr(pred, gt, ~mask) == 10 * math.log10(1e10)  # exact: clamped mse
    assert math.isnan(masked_psnr(pred, gt, torch.zeros_like(mask)))


def test_video_scores_split_frames_and_masks():
    t = 17
    gt = torch.rand(t, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 0.8
    pred = gt + 0.1 * (torch.arange(t) >= 14).float()[:, None, None, None]  # only frames 14-16 wrong
    holes = torch.zeros(t, 16, 16, dtype=torch.bool)
    holes[:, :, :8] = True
    s = video_scores(pred, gt, holes)
    assert s["psnr_1_13"] == 100.0 and math.isclose(s["psnr_disoccluded"], s["psnr_visible"], rel_tol=1e-6)
    assert s["ssim_1_13"] == 1.0 and s["ssim"] < 1.0  # a constant offset lowers SSIM's luminance term only
    assert math.isclose(s["psnr"], (13 * 100.0 + 3 * 20.0) / 16, rel_tol=1e-5)  # frames 1-16, exact capped at 100
    expected = 10 * math.log10(16 / 3 / 0.01)  # frames 1-16, of which 3 have mse 0.01
    assert math.isclose(s["psnr_disoccluded"], expected, rel_tol=1e-5)
    assert mean_scores([{"a": 1.0, "b": float("nan")}, {"a": 3.0, "b": 2.0}]) == {"a": 2.0, "b": 2.0}


def test_nearest_fill_copies_the_nearest_covered_pixel():
    frames = torch.zeros(1, 3, 1, 5)
    frames[0, :, 0, 0], frames[0, :, 0, 4] = 1.0, 0.5
    holes = torch.tensor([[[False, True, True, True, False]]])
    out = nearest_fill(frames, holes)
    assert out[0, 0, 0].tolist() == [1.0, 1.0, out[0, 0, 0, 2].item(), 0.5, 0.5]
    assert out[0, 0, 0, 2].item() in (1.0, 0.5)  # equidistant: either neighbour
    assert torch.equal(nearest_fill(frames, torch.ones_like(holes)), frames)  # nothing covered: unchanged


def _orbit_cameras(n: int, step_deg: float) -> Cameras:
    from scipy.spatial.transform import Rotation

    R = torch.from_numpy(Rotation.from_euler("y", [[i * step_deg] for i in range(n)], degrees=True).as_matrix())
    t = torch.stack([torch.tensor([0.1 * i, 0.0, 0.0], dtype=torch.float64) for i in range(n)])
    K = torch.tensor([[20.0, 0, 8], [0, 20, 8], [0, 0, 1]], dtype=torch.float64).expand(n, 3, 3)
    return Cameras.from_Rt(K, R, t, 16, 16)


def test_estimated_camera_errors_zero_for_a_perfect_estimate_and_grow_with_rotation():
    commanded = _orbit_cameras(5, 4.0)

    def estimator(cams):
        return lambda frames: {"pose_enc": cameras_to_pose_encoding(cams.relative_to_first())[None].float()}

    frames = torch.zeros(5, 3, 16, 16)
    perfect = estimated_camera_errors(estimator(commanded), frames, commanded)
    assert perfect["r_err"] < 1e-3 and perfect["t_err"] < 1e-5
    still = estimated_camera_errors(estimator(_orbit_cameras(5, 0.0)), frames, commanded)
    assert math.isclose(still["r_err"], 4.0 * (0 + 1 + 2 + 3 + 4), rel_tol=1e-4)  # CameraCtrl: sum of angles
