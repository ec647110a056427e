"""The geometry network's protocol: targets in the frame-0 camera at unit scale, and its held-out scores.

Ground truth is expressed in the frame-0 camera and normalised so that the mean distance of valid
points to the origin is 1 (VGGT's normalisation); the network predicts in that frame and scale.
Training uses :func:`normalized_targets` as its targets, evaluation scores against the same.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor, nn

from genscene.cameras.cameras import Cameras
from genscene.cameras.formats.vggt import (
    cameras_to_pose_encoding,
    pose_encoding_to_cameras,
)
from genscene.eval.geometry_metrics import (
    GeometryMetricsConfig,
    depth_delta_accuracy,
    geometry_metrics,
)
from genscene.eval.pose_metrics import relative_pose_metrics
from genscene.geometry.projection import unproject_depth

FAR_DEPTH_RATIO = 8.0
"""Pixels deeper than this many times the clip's median depth are left unsupervised (and unscored)."""
POSE_KEYS = ("auc@30", "rra@30", "rta@30")
"""Pose scores of :func:`evaluate_geometry` (views > 1)."""
DENSE_KEYS = ("depth_delta1.25", "depth_delta1.25_conf50", "chamfer")
"""Dense scores of :func:`evaluate_geometry`."""


def normalized_targets(rgb: Tensor, depth: Tensor, mask: Tensor, cameras: Cameras) -> dict[str, Tensor]:
    """GT of B samples of S views each, in each sample's frame-0 camera, scaled to unit mean point distance.

    Args: ``rgb [B,S,3,H,W]``, ``depth [B,S,H,W]``, ``mask [B,S,H,W]``, ``cameras`` [B, S].
    Returns: images, depth, points ``[B,S,H,W,3]`` (0 where not valid), valid, pose_enc ``[B,S,9]``, and the
    scales ``[B]``.
    Batched throughout (no per-sample loop, no host sync): a batch costs about as many GPU launches as one sample.
    """
    rel = cameras.relative_to_first(frame_dim=1)
    valid = mask & (depth > 0)
    # far background (ground planes to the horizon) is not supervised, as VGGT drops far depth;
    # a sample with no valid pixel has a nan median and stays all invalid
    median = torch.where(valid, depth, torch.nan).flatten(1).nanmedian(dim=1).values  # [B]
    valid &= depth <= FAR_DEPTH_RATIO * median[:, None, None, None]
    points = unproject_depth(depth, rel)  # [B, S, H, W, 3]
    count = valid.sum((1, 2, 3))
    dist_sum = torch.where(valid, points.norm(dim=-1), 0).sum((1, 2, 3))
    scale = torch.where(count > 0, dist_sum / count.clamp_min(1), torch.ones_like(dist_sum))  # [B]
    scaled = rel.scale_world(1 / scale[:, None, None])  # [B, 1, 1] against translations [B, S, 3]
    # finite everywhere: the bank stores depth in fp16, where the far background may overflow to inf
    depth = torch.where(valid, depth / scale[:, None, None, None], 0)
    points = torch.where(valid[..., None], points / scale[:, None, None, None, None], 0)
    pose_enc = cameras_to_pose_encoding(scaled, strict=False).to(depth.dtype)
    return {"images": rgb, "depth": depth, "points": points, "valid": valid, "pose_enc": pose_enc, "scale": scale}


def sample_views(item: dict, views: int) -> dict[str, Tensor]:
    """Targets of ``views`` evenly spaced frames of one clip (``rgb [T,3,H,W]``, ``depth``/``mask [T,H,W]``,
    ``cameras [T]``): ``images [S,3,H,W]``, ``depth [S,H,W]``, ... as :func:`normalized_targets` without B."""
    idx = torch.linspace(0, item["rgb"].shape[0] - 1, views).round().long().to(item["rgb"].device)
    one = normalized_targets(item["rgb"][idx][None], item["depth"][idx][None], item["mask"][idx][None],
                             item["cameras"][idx].reshape(1, views))
    return {k: v[0] for k, v in one.items()}


def evaluate_geometry(model: nn.Module, items: Iterable[dict], views: int) -> dict[str, float]:
    """Mean held-out metrics of a geometry net over world clips, ``views`` evenly spaced frames of each.

    ``model(images [1,S,3,H,W])`` returns ``pose_enc``, ``depth``, ``depth_conf`` and ``points`` as
    :class:`~genscene.models.geometry.GeometryNet` does. ``depth_delta1.25_conf50`` scores only the more
    confident half of each sample's valid pixels (by ``depth_conf``): above ``depth_delta1.25`` when the
    confidence ranks errors usefully. Pose scores need ``views > 1``; an all-sky clip has no dense score.
    """
    results: dict[str, list[float]] = {k: [] for k in (*POSE_KEYS, *DENSE_KEYS)}
    gen = torch.Generator().manual_seed(0)
    for item in items:
        s = sample_views(item, views)
        out = model(s["images"][None])
        h, w = s["depth"].shape[-2:]
        if views > 1:
            pred = pose_encoding_to_cameras(out["pose_enc"][0].double().cpu(), w, h)
            gt = pose_encoding_to_cameras(s["pose_enc"].double().cpu(), w, h)
            pose = relative_pose_metrics(pred, gt)
            for k in POSE_KEYS:
                results[k].append(pose[k])
        depth, valid = out["depth"][0].float(), s["valid"]
        if not valid.any():
            continue
        results["depth_delta1.25"].append(depth_delta_accuracy(depth, s["depth"], valid))
        conf = out["depth_conf"][0].float()
        confident = valid & (conf >= conf[valid].median())
        results["depth_delta1.25_conf50"].append(depth_delta_accuracy(depth, s["depth"], confident))
        p, g = out["points"][0][valid].double().cpu(), s["points"][valid].double().cpu()
        if not torch.isfinite(p).all():  # a diverged model scores nan rather than stopping the run
            results["chamfer"].append(float("nan"))
            continue
        keep = torch.randperm(len(p), generator=gen)[:5000]
        gm = geometry_metrics(p[keep], g[keep], GeometryMetricsConfig(num_samples=None))
        results["chamfer"].append(gm.chamfer)
    return {k: float(sum(v) / len(v)) for k, v in results.items() if v}
