"""The reconstruction protocol: pose and Chamfer metrics with unregistered views counted as failures.

Poses: VGGT's pairwise protocol (:mod:`genscene.eval.pose_metrics`) over **all** ``N (N-1) / 2``
pairs of the given views; a pair with a view the method did not register scores 180 degrees of
rotation and translation error (a failure at every threshold), so methods that drop views are not
rewarded by averaging over the easy survivors.

Geometry: Gen3R's accuracy / completeness / Chamfer (:mod:`genscene.eval.geometry_metrics`) after
an Umeyama Sim(3) fitted on correspondences. The ground truth is put in the GT frame-0 camera and
scaled so its valid points lie at mean distance 1 from that camera (the network's own
normalisation), so numbers are comparable across scenes. Dense point maps correspond pixel by
pixel; COLMAP's sparse points correspond through their first observation (view, pixel) and the
GT depth there, with one refit that drops correspondences beyond 3x the median residual (an
observation on a depth edge can land on the background). Both clouds are subsampled uniformly
(seeded) to at most ``max_points`` instead of Gen3R's farthest point sampling, which takes about
a minute per 200k-point cloud on 2 CPU cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.eval.geometry_metrics import GeometryMetricsConfig, geometry_metrics
from genscene.eval.pose_metrics import pose_auc, relative_pose_errors
from genscene.geometry.alignment import apply_sim3, umeyama

FAILED_PAIR_DEG = 180.0
"""Error given to a pair with an unregistered view."""


def pose_metrics_with_failures(pred: Cameras, registered: Tensor, gt: Cameras) -> dict[str, float]:
    """AUC@30 / RRA@30 / RTA@30 (percent) over all pairs of ``N`` views, failures included.

    Args:
        pred: ``[N]`` predicted cameras (any pose where not registered).
        registered: ``[N]`` bool.
        gt: ``[N]`` ground-truth cameras.
    Returns:
        ``auc@30``, ``rra@30``, ``rta@30`` and ``failed_pairs`` (pairs with an unregistered view).
    """
    n = gt.batch_shape[0]
    i, j = torch.combinations(torch.arange(n), 2).unbind(-1)  # the order of relative_pose_errors
    rot, trans = relative_pose_errors(pred, gt)
    failed = ~(registered[i] & registered[j])
    rot = torch.where(failed, torch.full_like(rot, FAILED_PAIR_DEG), rot)
    trans = torch.where(failed, torch.full_like(trans, FAILED_PAIR_DEG), trans)
    return {
        "auc@30": pose_auc(rot, trans, 30),
        "rra@30": float(100.0 * (rot < 30).double().mean()),
        "rta@30": float(100.0 * (trans < 30).double().mean()),
        "failed_pairs": int(failed.sum()),
    }


@dataclass
class GtFrame:
    """The normalisation of ground-truth geometry: world -> GT frame-0 camera, divided by ``scale``."""

    w2c0: Tensor
    """``[4, 4]`` float64 world-to-camera of GT view 0."""
    scale: float
    """Mean distance of the valid GT points to camera 0 (world units)."""

    @classmethod
    def fit(cls, gt: Cameras, points: Tensor, mask: Tensor) -> GtFrame:
        """From GT cameras ``[N]`` and GT world points ``[N, H, W, 3]`` valid where ``mask [N, H, W]``."""
        w2c0 = gt.w2c[0].to(torch.float64)
        local = points[mask].to(torch.float64) @ w2c0[:3, :3].T + w2c0[:3, 3]
        return cls(w2c0, float(local.norm(dim=-1).mean()))

    def apply(self, points: Tensor) -> Tensor:
        """World points ``[..., 3]`` -> normalised GT frame, float64."""
        p = points.to(torch.float64)
        return (p @ self.w2c0[:3, :3].T + self.w2c0[:3, 3]) / self.scale


def _subsample(points: Tensor, max_points: int, generator: torch.Generator) -> Tensor:
    if len(points) <= max_points:
        return points
    return points[torch.randperm(len(points), generator=generator)[:max_points]]


def _chamfer(pred: Tensor, gt_cloud: Tensor, s: Tensor, R: Tensor, t: Tensor, max_points: int, seed: int) -> dict[str, float]:
    g = torch.Generator().manual_seed(seed)
    aligned = _subsample(apply_sim3(pred, s, R, t), max_points, g)
    metrics = geometry_metrics(aligned, _subsample(gt_cloud, max_points, g),
                               GeometryMetricsConfig(align=False, num_samples=None))
    return {"accuracy": metrics.accuracy, "completeness": metrics.completeness, "chamfer": metrics.chamfer}


def chamfer_pixel_aligned(pred_points: Tensor, gt_points: Tensor, mask: Tensor,
                          max_points: int = 20_000, seed: int = 0) -> dict[str, float]:
    """Chamfer of a dense prediction ``[N, H, W, 3]`` against normalised GT points ``[N, H, W, 3]``.

    The Sim(3) is fitted on the pixels valid in ``mask [N, H, W]``; the predicted cloud is those
    pixels' points, the GT cloud all valid GT points.
    """
    src, dst = pred_points[mask].to(torch.float64), gt_points[mask].to(torch.float64)
    s, R, t = umeyama(src, dst)
    return _chamfer(src, dst, s, R, t, max_points, seed)


def chamfer_sparse(points: Tensor, observations: Tensor, gt_points: Tensor, mask: Tensor, gt_cloud: Tensor,
                   max_points: int = 20_000, seed: int = 0) -> dict[str, float] | None:
    """Chamfer of sparse SfM ``points [P, 3]`` against the normalised GT cloud ``[M, 3]``.

    Args:
        observations: ``[P, 3]`` first observation ``(view, x, y)`` of each point, in pixels of the
            images given to the SfM method.
        gt_points: ``[N, H, W, 3]`` normalised GT points at that image size; ``mask [N, H, W]``.
        gt_cloud: the GT cloud to measure against (the same for every method).
    Returns:
        the metrics, or ``None`` with fewer than 3 usable correspondences.
    """
    _, h, w = mask.shape
    view = observations[:, 0].long()
    col = observations[:, 1].floor().long().clamp(0, w - 1)  # pixel centres at +0.5
    row = observations[:, 2].floor().long().clamp(0, h - 1)
    ok = mask[view, row, col]
    if int(ok.sum()) < 3:
        return None
    src, dst = points[ok].to(torch.float64), gt_points[view[ok], row[ok], col[ok]].to(torch.float64)
    s, R, t = umeyama(src, dst)
    residual = (apply_sim3(src, s, R, t) - dst).norm(dim=-1)
    inliers = residual <= 3 * residual.median()
    if int(inliers.sum()) >= 3:
        s, R, t = umeyama(src[inliers], dst[inliers])
    return _chamfer(points.to(torch.float64), gt_cloud, s, R, t, max_points, seed)
