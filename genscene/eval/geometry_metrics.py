"""Point-cloud accuracy, completeness and Chamfer distance, following Gen3R's protocol.

Gen3R (Sec. 4.2 and 4.3 of the paper) evaluates generated / reconstructed point clouds by
(1) aligning the prediction to the ground truth with the Umeyama Sim(3), (2) sampling 20k points
from each cloud with farthest point sampling, and (3) computing

- **accuracy**: mean Euclidean distance from each predicted point to its nearest ground-truth point;
- **completeness**: mean Euclidean distance from each ground-truth point to its nearest prediction;
- **Chamfer distance (CD)**: the mean of the two, ``(accuracy + completeness) / 2``.

The paper does not write "mean" or "median". We use means (unsquared distances) because every CD
row of its Tables 2 and 3 equals ``(Acc + Comp) / 2`` of the reported numbers exactly, and the
Chamfer distance it cites (Fan et al. 2017) is a mean of nearest-neighbour distances. Medians are
returned as well (``*_median``) since DUSt3R-style tables report them; they are not Gen3R's numbers.

The Umeyama fit needs correspondences: for pixel-aligned point maps (the predicted and
ground-truth points of the same valid pixels, Gen3R's case) the two clouds are their own
correspondences; otherwise pass ``align_pairs``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import Tensor

from genscene.geometry.alignment import apply_sim3, umeyama
from genscene.geometry.points import PointCloud, farthest_point_sample

GEN3R_NUM_SAMPLES = 20_000
"""Points kept per cloud by farthest point sampling in Gen3R's evaluation."""


@dataclass
class GeometryMetricsConfig:
    """How :func:`geometry_metrics` prepares the clouds."""

    align: bool = True
    """Umeyama-align the prediction to the ground truth (Sim(3)) before measuring."""
    with_scale: bool = True
    """Estimate the scale in the alignment (predictions are up to scale)."""
    num_samples: int | None = GEN3R_NUM_SAMPLES
    """Farthest-point-sample each cloud to this many points; ``None`` keeps every point."""
    seed: int = 0
    """Seed for the farthest-point-sampling start points."""


@dataclass
class GeometryMetrics:
    """Distances in the ground truth's units (after alignment)."""

    accuracy: float
    """Mean distance prediction -> nearest ground-truth point."""
    completeness: float
    """Mean distance ground truth -> nearest predicted point."""
    chamfer: float
    """``(accuracy + completeness) / 2``."""
    accuracy_median: float
    """Median distance prediction -> ground truth."""
    completeness_median: float
    """Median distance ground truth -> prediction."""
    sim3: tuple[float, np.ndarray, np.ndarray] | None
    """The alignment applied to the prediction, ``(s, R [3, 3], t [3])``, or ``None``."""

    def as_dict(self) -> dict[str, float]:
        """The scalar metrics, for reports."""
        return {
            "accuracy": self.accuracy,
            "completeness": self.completeness,
            "chamfer": self.chamfer,
            "accuracy_median": self.accuracy_median,
            "completeness_median": self.completeness_median,
        }


def nearest_distances(query: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Euclidean distance ``[N]`` from each ``query [N, 3]`` point to its nearest ``reference [M, 3]`` point."""
    dist, _ = cKDTree(reference).query(query, k=1)
    return np.asarray(dist, dtype=np.float64)


def accuracy_completeness(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-point distances: prediction -> ground truth ``[N]`` and ground truth -> prediction ``[M]``."""
    return nearest_distances(pred, gt), nearest_distances(gt, pred)


def geometry_metrics(
    pred: PointCloud | Tensor,
    gt: PointCloud | Tensor,
    config: GeometryMetricsConfig | None = None,
    align_pairs: tuple[Tensor, Tensor] | None = None,
) -> GeometryMetrics:
    """Accuracy / completeness / Chamfer of ``pred [N, 3]`` against ``gt [M, 3]`` (Gen3R protocol).

    Args:
        pred: predicted points (a :class:`PointCloud` or ``[N, 3]``).
        gt: ground-truth points (``[M, 3]``).
        config: alignment and sampling settings (defaults: Umeyama Sim(3), FPS to 20k points).
        align_pairs: correspondences ``(pred_pts [K, 3], gt_pts [K, 3])`` for the Umeyama fit;
            by default ``pred`` and ``gt`` themselves, which then must have equal length.
    """
    config = config or GeometryMetricsConfig()
    pred_xyz = _xyz(pred, "pred").to(torch.float64)
    gt_xyz = _xyz(gt, "gt").to(torch.float64)
    if len(pred_xyz) == 0 or len(gt_xyz) == 0:
        raise ValueError(f"geometry_metrics: empty cloud (pred {len(pred_xyz)}, gt {len(gt_xyz)} points)")

    sim3 = None
    if config.align:
        if align_pairs is None:
            if pred_xyz.shape != gt_xyz.shape:
                raise ValueError(
                    "geometry_metrics: alignment needs correspondences; pred and gt differ in length "
                    f"({len(pred_xyz)} vs {len(gt_xyz)}), pass align_pairs"
                )
            src, dst = pred_xyz, gt_xyz
        else:
            src, dst = (torch.as_tensor(p).to(torch.float64) for p in align_pairs)
        s, R, t = umeyama(src, dst, with_scale=config.with_scale)
        pred_xyz = apply_sim3(pred_xyz, s, R, t)
        sim3 = (float(s), R.cpu().numpy(), t.cpu().numpy())

    if config.num_samples is not None:
        gen = torch.Generator().manual_seed(config.seed)
        pred_xyz = pred_xyz[farthest_point_sample(pred_xyz, config.num_samples, gen)]
        gt_xyz = gt_xyz[farthest_point_sample(gt_xyz, config.num_samples, gen)]

    acc, comp = accuracy_completeness(pred_xyz.cpu().numpy(), gt_xyz.cpu().numpy())
    return GeometryMetrics(
        accuracy=float(acc.mean()),
        completeness=float(comp.mean()),
        chamfer=float((acc.mean() + comp.mean()) / 2),
        accuracy_median=float(np.median(acc)),
        completeness_median=float(np.median(comp)),
        sim3=sim3,
    )


def _xyz(points: PointCloud | Tensor, name: str) -> Tensor:
    xyz = points.xyz if isinstance(points, PointCloud) else torch.as_tensor(points)
    if xyz.ndim != 2 or xyz.shape[-1] != 3:
        raise ValueError(f"geometry_metrics: {name} must be [N, 3], got {tuple(xyz.shape)}")
    return xyz


def depth_delta_accuracy(pred: Tensor, gt: Tensor, valid: Tensor, threshold: float = 1.25) -> float:
    """Fraction of valid pixels with ``max(p/g, g/p) < threshold`` after one median scale per sample.

    Args: ``pred``, ``gt`` depth of any shape (e.g. ``[S, H, W]``), ``valid`` a bool mask of that shape.
    """
    p, g = pred[valid], gt[valid]
    s = torch.median(g / p.clamp_min(1e-8))
    ratio = torch.maximum(s * p / g, g / (s * p).clamp_min(1e-8))
    return float((ratio < threshold).double().mean())
