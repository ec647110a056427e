"""Camera pose metrics: VGGT / Gen3R relative-pose accuracy and AUC, CameraCtrl / SpatialCrafter errors.

Two protocols, both on world-to-camera poses in OpenCV axes:

**VGGT (used by Gen3R for AUC@30).** For every frame pair ``i < j`` the relative pose is
``w2c_i @ inv(w2c_j)`` for prediction and ground truth. The rotation error is the angle of the
rotation between the two relative rotations; the translation error is the angle between the two
relative translation directions, taken sign-free (``min(a, 180 - a)``, as VGGT's
``translation_angle(ambiguity=True)``), so it lies in [0, 90] degrees. A pair whose translation
vanishes (norm <= 1e-12 of the other's, or of 1) has no direction and scores 90 degrees: VGGT's
arithmetic gives 90 for an exact zero but a round-off-dependent angle for a 1e-16 residue, which we
do not reproduce (the Middlebury temple ring has such pairs).
RRA@tau / RTA@tau are the percentages of pairs with error below tau. AUC@T takes
``max(rot_err, trans_err)`` per pair, histograms it into the integer-degree bins
``[0,1), [1,2), ..., [T-1,T]`` and averages the cumulative fractions (VGGT's
``calculate_auc_np``). We report AUC in percent (VGGT's tables); Gen3R's tables print the same
number as a fraction (0.7443 = 74.43 %). All metrics are invariant to a global Sim(3) of either
trajectory.

**CameraCtrl / SpatialCrafter (R_err, T_err).** Both trajectories are made relative to their first
frame (``w2c_i @ inv(w2c_0)``, frame 0 at the identity), the translations are the camera centres
in that frame (the trajectory), and each trajectory's scale is normalised by its furthest frame
(the largest centre distance from frame 0 becomes 1). Then
``R_err = sum_i arccos((tr(R_gen^i R_gt^i^T) - 1) / 2)`` (radians, as in SpatialCrafter's
supplementary formula) and ``T_err = sum_i ||T_gt^i - T_gen^i||_2``, summed over all frames
(frame 0 contributes zero). SpatialCrafter restricts image metrics, not these, to the first 14
frames; slice the cameras before calling to reproduce a frame subset.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras, homogeneous, invert_rigid

AUC_THRESHOLDS = (30, 15, 5, 3)
"""AUC@T thresholds (degrees) that VGGT reports."""
ACCURACY_THRESHOLDS = (5, 15, 30)
"""RRA / RTA thresholds (degrees) reported by :func:`relative_pose_metrics`."""


def as_w2c(poses: Cameras | Tensor) -> Tensor:
    """World-to-camera ``[N, 4, 4]`` float64 from :class:`Cameras` or ``[N, 4, 4]`` / ``[N, 3, 4]`` w2c."""
    w2c = poses.w2c if isinstance(poses, Cameras) else homogeneous(torch.as_tensor(poses))
    if w2c.ndim != 3:
        raise ValueError(f"pose metrics: expected [N, 4, 4] poses, got {tuple(w2c.shape)}")
    return w2c.to(torch.float64)


def rotation_angle(Ra: Tensor, Rb: Tensor) -> Tensor:
    """Angle (radians) of ``Ra Rb^T`` for rotations ``[*B, 3, 3]``, stable near 0 and pi."""
    M = Ra @ Rb.transpose(-1, -2)
    cos = (M.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2
    axis = torch.stack([M[..., 2, 1] - M[..., 1, 2], M[..., 0, 2] - M[..., 2, 0], M[..., 1, 0] - M[..., 0, 1]], -1)
    sin = axis.norm(dim=-1) / 2
    return torch.atan2(sin, cos)


def translation_direction_angle(ta: Tensor, tb: Tensor, sign_free: bool = True) -> Tensor:
    """Angle (radians) between translation directions ``[*B, 3]``; pi/2 where either vanishes."""
    na, nb = ta.norm(dim=-1), tb.norm(dim=-1)
    dot = (ta * tb).sum(-1)
    angle = torch.atan2(torch.linalg.cross(ta, tb).norm(dim=-1), dot.abs() if sign_free else dot)
    degenerate = (na <= 1e-12 * nb.clamp_min(1)) | (nb <= 1e-12 * na.clamp_min(1))
    return torch.where(degenerate, torch.full_like(angle, math.pi / 2), angle)


def pair_indices(n: int) -> tuple[Tensor, Tensor]:
    """All pairs ``i < j`` of ``n`` frames, in ``torch.combinations`` order."""
    i, j = torch.combinations(torch.arange(n), 2).unbind(-1)
    return i, j


def relative_pose_errors(pred: Cameras | Tensor, gt: Cameras | Tensor) -> tuple[Tensor, Tensor]:
    """VGGT pairwise errors in degrees: rotation ``[P]`` and translation direction ``[P]``, ``P = N(N-1)/2``."""
    pw, gw = as_w2c(pred), as_w2c(gt)
    if pw.shape != gw.shape or pw.shape[0] < 2:
        raise ValueError(
            f"relative_pose_errors: need equal batches of >= 2 poses, got {tuple(pw.shape)} and {tuple(gw.shape)}"
        )
    i, j = pair_indices(pw.shape[0])
    rel_p = pw[i] @ invert_rigid(pw[j])
    rel_g = gw[i] @ invert_rigid(gw[j])
    rot = torch.rad2deg(rotation_angle(rel_p[:, :3, :3], rel_g[:, :3, :3]))
    trans = torch.rad2deg(translation_direction_angle(rel_p[:, :3, 3], rel_g[:, :3, 3]))
    return rot, trans


def pose_auc(rot_err_deg: Tensor | np.ndarray, trans_err_deg: Tensor | np.ndarray, max_threshold: int = 30) -> float:
    """VGGT's AUC@``max_threshold`` in percent from per-pair errors in degrees."""
    r = np.asarray(torch.as_tensor(rot_err_deg).cpu(), dtype=np.float64)
    t = np.asarray(torch.as_tensor(trans_err_deg).cpu(), dtype=np.float64)
    if r.shape != t.shape or r.ndim != 1 or r.size == 0:
        raise ValueError(f"pose_auc: expected two equal non-empty [P] arrays, got {r.shape} and {t.shape}")
    worst = np.maximum(r, t)
    histogram, _ = np.histogram(worst, bins=np.arange(max_threshold + 1))
    return float(100.0 * np.mean(np.cumsum(histogram / worst.size)))


def relative_pose_metrics(pred: Cameras | Tensor, gt: Cameras | Tensor) -> dict[str, float]:
    """RRA@5/15/30, RTA@5/15/30 (percent of pairs below the threshold) and AUC@30/15/5/3 (percent)."""
    rot, trans = relative_pose_errors(pred, gt)
    out: dict[str, float] = {}
    for tau in ACCURACY_THRESHOLDS:
        out[f"rra@{tau}"] = float(100.0 * (rot < tau).double().mean())
        out[f"rta@{tau}"] = float(100.0 * (trans < tau).double().mean())
    for tau in AUC_THRESHOLDS:
        out[f"auc@{tau}"] = pose_auc(rot, trans, tau)
    return out


def normalized_relative_trajectory(poses: Cameras | Tensor) -> tuple[Tensor, Tensor]:
    """CameraCtrl-style trajectory: rotations ``[N, 3, 3]`` (w2c, relative to frame 0) and
    camera centres ``[N, 3]`` in frame 0's camera frame, scaled so the furthest centre is at 1."""
    w2c = as_w2c(poses)
    rel = w2c @ invert_rigid(w2c[0])  # frame 0 -> identity
    centres = invert_rigid(rel)[:, :3, 3]
    furthest = centres.norm(dim=-1).max()
    if furthest > 0:
        centres = centres / furthest
    return rel[:, :3, :3], centres


def camera_following_errors(pred: Cameras | Tensor, gt: Cameras | Tensor, degrees: bool = False) -> dict[str, float]:
    """CameraCtrl / SpatialCrafter ``r_err`` (sum of angles, radians unless ``degrees``) and ``t_err``."""
    pw, gw = as_w2c(pred), as_w2c(gt)
    if pw.shape != gw.shape:
        raise ValueError(f"camera_following_errors: pose batches differ: {tuple(pw.shape)} vs {tuple(gw.shape)}")
    Rp, Cp = normalized_relative_trajectory(pw)
    Rg, Cg = normalized_relative_trajectory(gw)
    angles = rotation_angle(Rp, Rg)
    if degrees:
        angles = torch.rad2deg(angles)
    return {"r_err": float(angles.sum()), "t_err": float((Cg - Cp).norm(dim=-1).sum())}
