"""Stage ``vae``: the Wan video VAE trained from scratch on world clips (and single frames)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from genscene.eval.real_data import real_photos
from genscene.models.vae import VideoVAE, VideoVAEConfig
from genscene.train.config import LoopConfig, OptimConfig, TrainConfig, from_dict
from genscene.train.losses import vae_loss
from genscene.train.stages.world_stage import WorldClipStage
from genscene.train.world_data import WorldDataConfig

PRESETS = {
    "tiny": dict(
        model=VideoVAEConfig(base_dim=16),
        data=WorldDataConfig(size=128, frames=17, train_pool=64, bank_paths=6, eval_worlds=16, supersample=2),
        train_frames=17,
        loop=LoopConfig(steps=20000, batch_size=8, ema_decay=0.999, eval_every=1000, ckpt_every=1000),
        optim=OptimConfig(lr=8e-4, warmup_steps=200),
    ),
    "smoke": dict(
        model=VideoVAEConfig(base_dim=8),
        data=WorldDataConfig(size=32, frames=9, train_pool=4, eval_worlds=2, bank_paths=1),
        train_frames=5,
        loop=LoopConfig(steps=2, batch_size=1, eval_every=0, ckpt_every=0, log_every=1),
        optim=OptimConfig(lr=1e-3, warmup_steps=1),
    ),
}
PRESETS["wide"] = {**PRESETS["tiny"], "model": VideoVAEConfig(base_dim=24)}
"""The capacity experiment: tiny at base_dim 24 (5.7M params, 11.5 MB in fp16), trained from scratch."""
SINGLE_FRAME_EVERY = 4
"""Every 4th step trains on single frames (T = 1), so the causal first frame also serves images."""


class VAEStage(WorldClipStage):
    name = "vae"
    presets = PRESETS
    stage_data_keys = ("train_frames",)
    find_unused_parameters = True  # single-frame steps skip the temporal down/up-sampling convolutions

    def build_model(self, cfg: TrainConfig) -> nn.Module:
        return VideoVAE.from_config(from_dict(VideoVAEConfig, cfg.model))

    def make_batch(self, cfg: TrainConfig, step: int, rank: int, micro: int, device: torch.device) -> dict[str, Tensor]:
        clips = self.clips(cfg, device)
        single = step % SINGLE_FRAME_EVERY == SINGLE_FRAME_EVERY - 1
        n = cfg.loop.batch_size * (4 if single else 1)
        frames = 1 if single else cfg.data["train_frames"]  # a random window of the bank clip
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

    def evaluate(self, model: nn.Module, cfg: TrainConfig, device: torch.device) -> dict[str, float]:
        from genscene.eval.image_metrics import psnr

        clips = self.clips(cfg, device)
        video, image = [], []
        for item in clips.eval_items():
            frames = item["rgb"][None]  # [1, T, 3, H, W]
            recon = model.decode(model.encode(frames)).clamp(0, 1)
            video.append(psnr(recon[0].float(), frames[0].float()))  # [T]
            first = frames[:, :1]
            image.append(psnr(model.decode(model.encode(first)).clamp(0, 1).float(), first.float()).mean())
        per_frame = torch.stack(video).mean(0)  # [T]
        metrics = {"psnr_video": float(per_frame.mean()), "psnr_first_frame": float(torch.stack(image).mean())}
        # by latent frame (frame 0 alone, then groups of 4): later groups run on the causal cache
        # of earlier ones, so a drop along them shows a cache the training windows never reached
        step = model.temporal_factor
        for k in range(1 + (len(per_frame) - 1) // step):
            group = per_frame[:1] if k == 0 else per_frame[1 + (k - 1) * step: 1 + k * step]
            metrics[f"psnr_latent_frame{k}"] = float(group.mean())
        photos = real_photos(clips.cfg.size)
        if photos is not None:  # the domain gap, measured: real photos through the causal first frame
            photos = photos.to(device)[:, None]  # [N, 1, 3, H, W]
            recon = torch.cat([model.decode(model.encode(p[None])) for p in photos]).clamp(0, 1)
            metrics["psnr_real_photos"] = float(psnr(recon.float(), photos.float()).mean())
        return metrics

    def export(self, model: nn.Module, path: Path) -> None:
        model.save_pretrained(path, dtype=torch.float16)

    def load_pretrained(self, path: Path) -> nn.Module:
        return VideoVAE.from_pretrained(path)


__all__ = ["VAEStage", "PRESETS"]
