"""Scores of a generated clip against the ground-truth render (SpatialCrafter's and GEN3C's protocols).

PSNR over all frames and over frames 1-13 (SpatialCrafter reports frames 1-13 of its clips), and
inside / outside the disocclusion mask of the 3D cache (where the generator had to invent content,
and where it could copy the warped first frame).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from scipy import ndimage
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.cameras.formats.vggt import pose_encoding_to_cameras
from genscene.eval.image_metrics import psnr, ssim
from genscene.eval.pose_metrics import camera_following_errors

SPATIALCRAFTER_FRAMES = slice(1, 14)
"""Frames 1-13."""
GENERATED_FRAMES = slice(1, None)
"""Frames 1 onwards: frame 0 is the given photo in every method (a warp copies it exactly), so it is not scored."""
MSE_FLOOR = 1e-10
"""Smallest MSE a PSNR is computed from: an exact frame scores 100 dB, not inf, so means stay finite."""


def masked_psnr(pred: Tensor, gt: Tensor, mask: Tensor) -> float:
    """PSNR (dB) of ``pred``/``gt [T, 3, H, W]`` in [0, 1] over the pixels where ``mask [T, H, W]`` is True
    (nan when the mask is empty)."""
    m = mask[:, None].expand_as(pred)
    if not m.any():
        return float("nan")
    mse = ((pred - gt)[m] ** 2).mean().clamp_min(MSE_FLOOR)
    return float(-10 * torch.log10(mse))


def video_scores(pred: Tensor, gt: Tensor, disoccluded: Tensor) -> dict[str, float]:
    """``pred``/``gt [T, 3, H, W]`` in [0, 1] and the cache's ``disoccluded [T, H, W]`` (True = unknown).

    Keys: ``psnr`` / ``ssim`` (means of per-frame scores over the generated frames 1 onwards),
    ``psnr_1_13`` / ``ssim_1_13``, ``psnr_disoccluded`` and ``psnr_visible`` (pooled over frames 1 onwards
    inside / outside the mask). A frame's PSNR is at most 100 dB (:data:`MSE_FLOOR`).
    """
    pred, gt = pred.float().clamp(0, 1), gt.float()
    per_frame = psnr(pred, gt).clamp(max=-10 * math.log10(MSE_FLOOR))  # [T]
    per_frame_ssim = ssim(pred, gt)
    later = GENERATED_FRAMES
    return {"psnr": float(per_frame[later].mean()), "psnr_1_13": float(per_frame[SPATIALCRAFTER_FRAMES].mean()),
            "ssim": float(per_frame_ssim[later].mean()),
            "ssim_1_13": float(per_frame_ssim[SPATIALCRAFTER_FRAMES].mean()),
            "psnr_disoccluded": masked_psnr(pred[later], gt[later], disoccluded[later]),
            "psnr_visible": masked_psnr(pred[later], gt[later], ~disoccluded[later])}


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    """Per-key means over clips, ignoring nan (a clip with nothing disoccluded has no inside score)."""
    keys = rows[0].keys() if rows else []
    out = {}
    for k in keys:
        vals = [r[k] for r in rows if not math.isnan(r[k])]
        out[k] = sum(vals) / len(vals) if vals else float("nan")
    return out


def nearest_fill(frames: Tensor, holes: Tensor) -> Tensor:
    """The warp-only baseline: each hole pixel of ``frames [T, 3, H, W]`` (``holes [T, H, W]`` True) takes its
    nearest covered pixel (a frame with no covered pixel stays as it is)."""
    out = frames.clone()
    for t in range(frames.shape[0]):
        hole = holes[t].numpy()
        if not hole.any() or hole.all():
            continue
        _, (iy, ix) = ndimage.distance_transform_edt(hole, return_indices=True)
        out[t] = frames[t][:, torch.from_numpy(iy), torch.from_numpy(ix)]
    return out


@torch.no_grad()
def estimated_camera_errors(geometry: Callable[[Tensor], dict[str, Tensor]], frames: Tensor,
                            commanded: Cameras) -> dict[str, float]:
    """How well a clip follows its cameras: the geometry net estimates the cameras of ``frames [T, 3, H, W]``
    (one sequence) and :func:`camera_following_errors` (CameraCtrl's ``r_err`` in degrees, ``t_err`` on
    trajectories normalised to a unit furthest centre) compares them with ``commanded [T]``."""
    h, w = frames.shape[-2:]
    enc = geometry(frames[None].float())["pose_enc"][0].double().cpu()
    return camera_following_errors(pose_encoding_to_cameras(enc, w, h), commanded.to("cpu"), degrees=True)
