"""Stage ``geometry``: the VGGT-style network trained on worlds with VGGT's losses.

Targets and scores follow :mod:`genscene.eval.geometry_eval` (frame-0 camera, unit mean point
distance); the network predicts in that frame and scale.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from genscene.cameras.cameras import Cameras
from genscene.eval.geometry_eval import evaluate_geometry, normalized_targets
from genscene.models.geometry import GeometryNet, GeometryNetConfig
from genscene.train.augment import PhotometricJitter, jitter_frames
from genscene.train.config import LoopConfig, OptimConfig, TrainConfig
from genscene.train.losses import confidence_regression_loss, iterative_camera_loss
from genscene.train.stages.world_stage import WorldClipStage
from genscene.train.world_data import WorldDataConfig


@dataclass
class GeometryDataConfig(WorldDataConfig):
    """World clips, and how the geometry stage samples views from them."""

    views: tuple[int, int] = (2, 8)
    """Range (inclusive) of views per training sample, drawn per batch."""
    eval_views: int = 8
    """Evenly spaced views per clip at evaluation."""
    photometric: PhotometricJitter | None = None
    """Per-frame photometric jitter of the training views (None: off)."""


@dataclass
class GeometryTrainConfig(TrainConfig):
    """A geometry run: :class:`GeometryNetConfig` and :class:`GeometryDataConfig` beside the loop's settings."""

    stage: str = "geometry"
    """Stage name."""
    model: GeometryNetConfig = field(default_factory=GeometryNetConfig)
    """Architecture of the network."""
    data: GeometryDataConfig = field(default_factory=GeometryDataConfig)
    """World clips and view sampling."""


TINY = GeometryTrainConfig(
    preset="tiny",
    model=GeometryNetConfig(),
    data=GeometryDataConfig(size=128, frames=17, train_pool=64, bank_paths=6, eval_worlds=16, supersample=2),
    loop=LoopConfig(steps=20000, batch_size=16, ema_decay=0.999, eval_every=1000, ckpt_every=1000),
    optim=OptimConfig(lr=3e-4, warmup_steps=300, weight_decay=0.05),
)
"""The embedded default."""
PRESETS: dict[str, GeometryTrainConfig] = {
    "tiny": TINY,
    "smoke": GeometryTrainConfig(
        preset="smoke",
        model=GeometryNetConfig(dim=32, depth=2, heads=2, head_layers=(0, 1), head_dim=16, num_registers=1),
        data=GeometryDataConfig(size=32, frames=5, train_pool=4, eval_worlds=2, bank_paths=1, views=(2, 3),
                                eval_views=3, photometric=PhotometricJitter()),
        loop=LoopConfig(steps=2, batch_size=1, eval_every=0, ckpt_every=0, log_every=1),
        optim=OptimConfig(lr=1e-3, warmup_steps=1),
    ),
    "dpt": dataclasses.replace(TINY, preset="dpt", model=GeometryNetConfig(dense_head="dpt")),
    "jitter": dataclasses.replace(TINY, preset="jitter",
                                  data=dataclasses.replace(TINY.data, photometric=PhotometricJitter())),
}
"""Named configs. ``dpt``: the dense-head experiment (tiny with the DPT-style decoder; warm-start the rest
from tiny's weights). ``jitter``: the domain-gap experiment (tiny with per-frame photometric jitter of the
training views; compare on val worlds and on ../shared/data before switching the default)."""

CAMERA_LOSS_WEIGHT = 5.0
"""VGGT's weight of the camera loss against the depth and point losses (each weighted 1)."""


class GeometryStage(WorldClipStage):
    name = "geometry"
    presets = PRESETS

    def build_model(self, cfg: GeometryTrainConfig) -> nn.Module:
        return GeometryNet(cfg.model)

    def make_batch(self, cfg: GeometryTrainConfig, step: int, rank: int, micro: int,
                   device: torch.device) -> dict[str, Tensor]:
        clips = self.clips(cfg, device)
        lo, hi = cfg.data.views
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
        if cfg.data.photometric is not None:
            targets["images"] = jitter_frames(targets["images"], cfg.data.photometric, g)
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

    def evaluate(self, model: nn.Module, cfg: GeometryTrainConfig, device: torch.device) -> dict[str, float]:
        """Scores on the ``val`` worlds (:func:`~genscene.eval.geometry_eval.evaluate_geometry`)."""
        return evaluate_geometry(model, self.clips(cfg, device).eval_items(), cfg.data.eval_views)

    def export(self, model: nn.Module, path: Path) -> None:
        model.save_pretrained(path, dtype=torch.float16)

    def load_pretrained(self, path: Path) -> nn.Module:
        return GeometryNet.from_pretrained(path)
