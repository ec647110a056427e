"""Stage ``geometry``: the VGGT-style network trained on worlds with VGGT's losses.

Ground truth is expressed in the frame-0 camera and normalised so the mean distance of valid
points to the origin is 1 (VGGT's normalisation); the network predicts in that frame and scale.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import torch
from torch import Tensor, nn

from genscene.cameras.cameras import Cameras
from genscene.cameras.formats.vggt import cameras_to_pose_encoding, pose_encoding_to_cameras
from genscene.geometry.projection import unproject_depth
from genscene.models.geometry import GeometryNet, GeometryNetConfig
from genscene.train.augment import PhotometricJitter, jitter_frames
from genscene.train.config import LoopConfig, OptimConfig, TrainConfig, from_dict
from genscene.train.losses import confidence_regression_loss, iterative_camera_loss
from genscene.train.stages.world_stage import WorldClipStage
from genscene.train.world_data import WorldDataConfig

PRESETS = {
    "tiny": dict(
        model=GeometryNetConfig(),
        data=WorldDataConfig(size=128, frames=17, train_pool=64, bank_paths=6, eval_worlds=16, supersample=2),
        views=(2, 8), eval_views=8, photometric=None,
        loop=LoopConfig(steps=20000, batch_size=16, ema_decay=0.999, eval_every=1000, ckpt_every=1000),
        optim=OptimConfig(lr=3e-4, warmup_steps=300, weight_decay=0.05),
    ),
    "smoke": dict(
        model=GeometryNetConfig(dim=32, depth=2, heads=2, head_layers=(0, 1), head_dim=16, num_registers=1),
        data=WorldDataConfig(size=32, frames=5, train_pool=4, eval_worlds=2, bank_paths=1),
        views=(2, 3), eval_views=3, photometric=PhotometricJitter(),
        loop=LoopConfig(steps=2, batch_size=1, eval_every=0, ckpt_every=0, log_every=1),
        optim=OptimConfig(lr=1e-3, warmup_steps=1),
    ),
}


PRESETS["dpt"] = {**PRESETS["tiny"], "model": GeometryNetConfig(dense_head="dpt")}
"""The dense-head experiment: tiny with the DPT-style decoder (warm-start the rest from tiny's weights)."""
PRESETS["jitter"] = {**PRESETS["tiny"], "photometric": PhotometricJitter()}
"""The domain-gap experiment: tiny with per-frame photometric jitter of the training views (real photos
are where the net is weakest); compare on worlds and on ../shared/data before switching the default."""

CAMERA_LOSS_WEIGHT = 5.0
"""VGGT's weight of the camera loss against the depth and point losses (each weighted 1)."""
FAR_DEPTH_RATIO = 8.0
"""Pixels deeper than this many times the clip's median depth are left unsupervised (and unscored)."""


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


def depth_delta_accuracy(pred: Tensor, gt: Tensor, valid: Tensor, threshold: float = 1.25) -> float:
    """Fraction of valid pixels with ``max(p/g, g/p) < threshold`` after one median scale per sample."""
    p, g = pred[valid], gt[valid]
    s = torch.median(g / p.clamp_min(1e-8))
    ratio = torch.maximum(s * p / g, g / (s * p).clamp_min(1e-8))
    return float((ratio < threshold).double().mean())


class GeometryStage(WorldClipStage):
    name = "geometry"
    presets = PRESETS
    stage_data_keys = ("views", "eval_views", "photometric")

    def build_model(self, cfg: TrainConfig) -> nn.Module:
        return GeometryNet(from_dict(GeometryNetConfig, cfg.model))

    def _sample(self, item: dict, views: int) -> dict[str, Tensor]:
        """Targets of ``views`` evenly spaced frames of one clip (evaluation): ``images [S,3,H,W]`` etc."""
        idx = torch.linspace(0, item["rgb"].shape[0] - 1, views).round().long().to(item["rgb"].device)
        one = normalized_targets(item["rgb"][idx][None], item["depth"][idx][None], item["mask"][idx][None],
                                 item["cameras"][idx].reshape(1, views))
        return {k: v[0] for k, v in one.items()}

    def make_batch(self, cfg: TrainConfig, step: int, rank: int, micro: int, device: torch.device) -> dict[str, Tensor]:
        clips = self.clips(cfg, device)
        lo, hi = cfg.data["views"]
        g = torch.Generator().manual_seed((cfg.loop.seed * 7_777_777 + step * 131 + rank * 17 + micro) % (2**63))
        views = int(torch.randint(lo, hi + 1, (1,), generator=g))
        first = micro * cfg.loop.batch_size
        if clips.cfg.bank_paths > 0:  # one gather for the whole batch
            index = [clips.train_bank_draw(cfg.loop.seed, step, rank, first + i)[0] for i in range(cfg.loop.batch_size)]
            picks = torch.stack([torch.randperm(clips.bank.frames, generator=g)[:views] for _ in index])  # [B, S]
            batch = clips.bank.gather(torch.tensor(index), picks)
        else:
            items = [clips.train_item(cfg.loop.seed, step, rank, first + i) for i in range(cfg.loop.batch_size)]
            picks = [torch.randperm(it["rgb"].shape[0], generator=g)[:views].to(device) for it in items]
            batch = {k: torch.stack([it[k][p] for it, p in zip(items, picks)]) for k in ("rgb", "depth", "mask")}
            batch["cameras"] = Cameras.stack([it["cameras"][p] for it, p in zip(items, picks)])
        targets = normalized_targets(batch["rgb"], batch["depth"], batch["mask"], batch["cameras"])
        if cfg.data.get("photometric"):  # configs saved before the option lack the key: no jitter
            jitter = from_dict(PhotometricJitter, cfg.data["photometric"])
            targets["images"] = jitter_frames(targets["images"], jitter, g)
        return targets

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        out = model(batch["images"])
        l_cam = iterative_camera_loss([e.float() for e in out["pose_enc_list"]], batch["pose_enc"].float())
        l_depth = confidence_regression_loss(out["depth"].float()[..., None], batch["depth"][..., None],
                                             out["depth_conf"].float(), batch["valid"])
        l_pts = confidence_regression_loss(out["points"].float(), batch["points"], out["points_conf"].float(),
                                           batch["valid"])
        loss = CAMERA_LOSS_WEIGHT * l_cam + l_depth + l_pts
        return loss, {"loss": loss.item(), "camera": l_cam.item(), "depth": l_depth.item(), "points": l_pts.item()}

    def evaluate(self, model: nn.Module, cfg: TrainConfig, device: torch.device) -> dict[str, float]:
        return self.evaluate_clips(model, self.clips(cfg, device).eval_items(), cfg.data["eval_views"])

    def evaluate_clips(self, model: nn.Module, items: Iterable[dict], views: int) -> dict[str, float]:
        """Mean held-out metrics over world clips, ``views`` evenly spaced frames of each.

        ``depth_delta1.25_conf50`` scores only the more confident half of each sample's valid pixels
        (by ``depth_conf``): above ``depth_delta1.25`` when the confidence ranks errors usefully.
        """
        from genscene.eval.geometry_metrics import GeometryMetricsConfig, geometry_metrics
        from genscene.eval.pose_metrics import relative_pose_metrics

        pose_keys = ("auc@30", "rra@30", "rta@30")
        results: dict[str, list[float]] = {k: [] for k in (*pose_keys, "depth_delta1.25", "depth_delta1.25_conf50",
                                                           "chamfer")}
        gen = torch.Generator().manual_seed(0)
        for item in items:
            s = self._sample(item, views)
            out = model(s["images"][None])
            h, w = s["depth"].shape[-2:]
            if views > 1:
                pred = pose_encoding_to_cameras(out["pose_enc"][0].double().cpu(), w, h)
                gt = pose_encoding_to_cameras(s["pose_enc"].double().cpu(), w, h)
                pose = relative_pose_metrics(pred, gt)
                for k in pose_keys:
                    results[k].append(pose[k])
            depth, valid = out["depth"][0].float(), s["valid"]
            if not valid.any():  # nothing but sky: no dense score
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

    def export(self, model: nn.Module, path: Path) -> None:
        model.save_pretrained(path, dtype=torch.float16)

    def load_pretrained(self, path: Path) -> nn.Module:
        return GeometryNet.from_pretrained(path)
