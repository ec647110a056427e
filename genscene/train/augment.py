"""Photometric augmentation of training views: each frame jittered on its own, geometry untouched.

Rendered worlds have one exposure, white balance and noise-free pixels; real photos do not. Jitter
of brightness, contrast, saturation, a chance of grayscale and sensor-like noise (as VGGT trains
with colour jitter and grayscale) widens what the geometry net has seen without changing its targets.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

LUMA = (0.299, 0.587, 0.114)
"""Rec. 601 luma weights (grayscale)."""


@dataclass
class PhotometricJitter:
    """Per-frame jitter ranges; a factor ``x`` draws uniformly from ``[1 - x, 1 + x]``."""

    brightness: float = 0.3
    """Multiplies every pixel."""
    contrast: float = 0.3
    """Scales the distance from the frame's mean luma."""
    saturation: float = 0.3
    """Scales the distance from each pixel's luma (0 would be grayscale)."""
    grayscale_p: float = 0.05
    """Probability that a frame is turned to grayscale."""
    noise_std: float = 0.01
    """Gaussian pixel noise with a standard deviation drawn from ``[0, noise_std]`` per frame."""


def _luma(images: Tensor) -> Tensor:
    """``[N, 3, H, W]`` -> ``[N, 1, H, W]``."""
    w = images.new_tensor(LUMA).view(1, 3, 1, 1)
    return (images * w).sum(1, keepdim=True)


def jitter_frames(images: Tensor, cfg: PhotometricJitter, g: torch.Generator) -> Tensor:
    """Jitter ``images [..., 3, H, W]`` in [0, 1], each frame with its own draws from ``g`` (CPU);
    returns the same shape, clamped to [0, 1]. Deterministic given ``g``'s state."""
    shape = images.shape
    x = images.reshape(-1, *shape[-3:])
    n = x.shape[0]
    draws = torch.rand(n, 5, generator=g).to(x.device, x.dtype)  # one transfer for all frames

    def factor(col: int, span: float) -> Tensor:
        return (1 + span * (2 * draws[:, col] - 1)).view(n, 1, 1, 1)

    x = x * factor(0, cfg.brightness)
    mean = _luma(x).mean((2, 3), keepdim=True)
    x = mean + (x - mean) * factor(1, cfg.contrast)
    luma = _luma(x)
    x = luma + (x - luma) * factor(2, cfg.saturation)
    gray = (draws[:, 3] < cfg.grayscale_p).view(n, 1, 1, 1)
    x = torch.where(gray, _luma(x).expand_as(x), x)
    if cfg.noise_std > 0:  # drawn where the images live: a CPU draw of every pixel would cost more than the step
        device_g = torch.Generator(device=x.device).manual_seed(int(torch.randint(2**62, (1,), generator=g)))
        noise = torch.randn(x.shape, generator=device_g, device=x.device, dtype=x.dtype)
        x = x + noise * (cfg.noise_std * draws[:, 4]).view(n, 1, 1, 1)
    return x.clamp(0, 1).reshape(shape)


__all__ = ["PhotometricJitter", "jitter_frames"]
