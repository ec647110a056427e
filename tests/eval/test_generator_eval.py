"""Scores of generated clips: hand values of the masked PSNR, the SpatialCrafter frame range, the baseline fill."""

import math

import torch

from genscene.eval.generator_eval import masked_psnr, mean_scores, nearest_fill, video_scores


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
    gt = torch.full((t, 3, 8, 8), 0.5)
    pred = gt + 0.1 * (torch.arange(t) >= 14).float()[:, None, None, None]  # only frames 14-16 wrong
    holes = torch.zeros(t, 8, 8, dtype=torch.bool)
    holes[:, :, :4] = True
    s = video_scores(pred, gt, holes)
    assert s["psnr_1_13"] > 90 and math.isclose(s["psnr_disoccluded"], s["psnr_visible"], rel_tol=1e-6)
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
