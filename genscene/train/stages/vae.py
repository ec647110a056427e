"""Stage ``vae``: the Wan video VAE trained from scratch on world clips (and single frames)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from genscene.eval.vae_eval import evaluate_vae
from genscene.models.vae import VideoVAE, VideoVAEConfig
from genscene.train.config import LoopConfig, OptimConfig, TrainConfig
from genscene.train.losses import vae_loss
from genscene.train.stages.world_stage import WorldClipStage
from genscene.train.world_data import WorldDataConfig


@dataclass
class VAEDataConfig(WorldDataConfig):
    """World clips, and the window the VAE trains on."""

    train_frames: int = 17
    """Frames per training window (1 + 4k; a random window of the bank clip)."""


@dataclass
class VAETrainConfig(TrainConfig):
    """A VAE run: :class:`VideoVAEConfig` and :class:`VAEDataConfig` beside the loop's settings."""

    stage: str = "vae"
    """Stage name."""
    model: VideoVAEConfig = field(default_factory=VideoVAEConfig)
    """Architecture of the VAE."""
    data: VAEDataConfig = field(default_factory=VAEDataConfig)
    """World clips and training windows."""


TINY = VAETrainConfig(
    preset="tiny",
    model=VideoVAEConfig(base_dim=16),
    data=VAEDataConfig(size=128, frames=17, train_pool=64, bank_paths=6, eval_worlds=16, supersample=2,
                       train_frames=17),
    loop=LoopConfig(steps=20000, batch_size=8, ema_decay=0.999, eval_every=1000, ckpt_every=1000),
    optim=OptimConfig(lr=8e-4, warmup_steps=200),
)
"""The embedded default."""
PRESETS: dict[str, VAETrainConfig] = {
    "tiny": TINY,
    "smoke": VAETrainConfig(
        preset="smoke",
        model=VideoVAEConfig(base_dim=8),
        data=VAEDataConfig(size=32, frames=9, train_pool=4, eval_worlds=2, bank_paths=1, train_frames=5),
        loop=LoopConfig(steps=2, batch_size=1, eval_every=0, ckpt_every=0, log_every=1),
        optim=OptimConfig(lr=1e-3, warmup_steps=1),
    ),
    "wide": dataclasses.replace(TINY, preset="wide", model=VideoVAEConfig(base_dim=24)),
}
"""Named configs. ``wide``: the capacity experiment (tiny at base_dim 24: 5.7M params, 11.5 MB in fp16,
trained from scratch)."""
SINGLE_FRAME_EVERY = 4
"""Every 4th step trains on single frames (T = 1), so the causal first frame also serves images."""


class VAEStage(WorldClipStage):
    name = "vae"
    presets = PRESETS
    find_unused_parameters = True  # single-frame steps skip the temporal down/up-sampling convolutions

    def build_model(self, cfg: VAETrainConfig) -> nn.Module:
        return VideoVAE.from_config(cfg.model)

    def make_batch(self, cfg: VAETrainConfig, step: int, rank: int, micro: int,
                   device: torch.device) -> dict[str, Tensor]:
        clips = self.clips(cfg, device)
        single = step % SINGLE_FRAME_EVERY == SINGLE_FRAME_EVERY - 1
        n = cfg.loop.batch_size * (4 if single else 1)
        frames = 1 if single else cfg.data.train_frames  # a random window of the bank clip
        if clips.cfg.bank_paths > 0:  # one gather for the whole batch
            draws = [clips.train_bank_draw(cfg.loop.seed, step, rank, micro * n + i, frames=frames) for i in range(n)]
            index, windows = torch.tensor([i for i, _ in draws]), torch.stack([w for _, w in draws])
            frames = clips.bank.gather(index, windows)["rgb"]  # [B, T, 3, H, W]
        else:
            items = [clips.train_item(cfg.loop.seed, step, rank, micro * n + i, frames=frames) for i in range(n)]
            frames = torch.stack([it["rgb"] for it in items])  # [B, T, 3, H, W]
        g = torch.Generator().manual_seed((cfg.loop.seed * 9973 + step * 613 + rank * 37 + micro) % (2**63))
        flip, reverse = torch.rand(2, n, generator=g).to(device) < 0.5  # mirror and time-reverse half the clips
        frames = torch.where(flip[:, None, None, None, None], frames.flip(-1), frames)
        return {"frames": torch.where(reverse[:, None, None, None, None], frames.flip(1), frames)}

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        recon, kl = model(batch["frames"])
        return vae_loss(recon, batch["frames"], kl)

    def evaluate(self, model: nn.Module, cfg: VAETrainConfig, device: torch.device) -> dict[str, float]:
        """Scores on the ``val`` worlds (:func:`~genscene.eval.vae_eval.evaluate_vae`)."""
        return evaluate_vae(model, self.clips(cfg, device).eval_items(), cfg.data.size)

    def export(self, model: nn.Module, path: Path) -> None:
        model.save_pretrained(path, dtype=torch.float16)

    def load_pretrained(self, path: Path) -> nn.Module:
        return VideoVAE.from_pretrained(path)


__all__ = ["VAEStage", "VAETrainConfig", "PRESETS"]
