"""The video VAE's held-out scores: reconstruction PSNR of whole clips, by latent frame, of first frames
alone (the causal image path) and of real photos when ``../shared/data`` is present."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from genscene.eval.image_metrics import psnr
from genscene.eval.real_data import real_photos


def evaluate_vae(model: nn.Module, items: Iterable[dict], size: int) -> dict[str, float]:
    """Mean PSNR (dB) of ``model.decode(model.encode(x))`` over world clips (``rgb [T,3,H,W]`` each).

    ``model`` is a :class:`~genscene.models.vae.VideoVAE` (frames ``[B,T,3,H,W]`` in [0, 1]); ``size``
    is the side real photos are resized to. Keys: ``psnr_video``, ``psnr_first_frame``,
    ``psnr_latent_frame{k}`` (frame 0 alone, then groups of ``temporal_factor`` frames: later groups
    run on the causal cache of earlier ones, so a drop along them shows a cache the training windows
    never reached) and, with real photos, ``psnr_real_photos``.
    """
    video, image = [], []
    device = next(model.parameters()).device
    for item in items:
        frames = item["rgb"][None]  # [1, T, 3, H, W]
        recon = model.decode(model.encode(frames)).clamp(0, 1)
        video.append(psnr(recon[0].float(), frames[0].float()))  # [T]
        first = frames[:, :1]
        image.append(psnr(model.decode(model.encode(first)).clamp(0, 1).float(), first.float()).mean())
    per_frame = torch.stack(video).mean(0)  # [T]
    metrics = {"psnr_video": float(per_frame.mean()), "psnr_first_frame": float(torch.stack(image).mean())}
    step = model.temporal_factor
    for k in range(1 + (len(per_frame) - 1) // step):
        group = per_frame[:1] if k == 0 else per_frame[1 + (k - 1) * step: 1 + k * step]
        metrics[f"psnr_latent_frame{k}"] = float(group.mean())
    photos = real_photos(size)
    if photos is not None:  # the domain gap, measured: real photos through the causal first frame
        photos = photos.to(device)[:, None]  # [N, 1, 3, H, W]
        recon = torch.cat([model.decode(model.encode(p[None])) for p in photos]).clamp(0, 1)
        metrics["psnr_real_photos"] = float(psnr(recon.float(), photos.float()).mean())
    return metrics
