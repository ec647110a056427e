"""PSNR and SSIM on ``[*B, 3, H, W]`` images in [0, 1], and the one image-metric entry point.

SSIM is the standard Wang et al. (2004) setting, identical to scikit-image's
``structural_similarity(channel_axis=..., data_range=1.0, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False)``: an 11x11 Gaussian window (sigma 1.5, truncated at 3.5 sigma),
K1 = 0.01, K2 = 0.03, the SSIM map averaged over the pixels whose window lies inside the image
(a 5-pixel border is cropped, so no padding convention enters) and then over channels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _check_pair(pred: Tensor, target: Tensor, name: str) -> None:
    if pred.shape != target.shape or pred.ndim < 3 or pred.shape[-3] != 3:
        raise ValueError(f"{name}: expected two [*B, 3, H, W] images of equal shape, got "
                         f"{tuple(pred.shape)} and {tuple(target.shape)}")


def psnr(pred: Tensor, target: Tensor, data_range: float = 1.0) -> Tensor:
    """Per-image PSNR in dB ``[*B]`` of ``[*B, 3, H, W]`` images (``inf`` where identical)."""
    _check_pair(pred, target, "psnr")
    diff = pred.to(torch.float64) - target.to(torch.float64)
    mse = (diff**2).mean(dim=(-3, -2, -1))
    return 10 * torch.log10(data_range**2 / mse)


def _gaussian_kernel(sigma: float, truncate: float, dtype: torch.dtype) -> Tensor:
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=dtype)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _valid_gaussian_filter(x: Tensor, kernel: Tensor) -> Tensor:
    """Separable Gaussian filter of ``x [N, C, H, W]`` keeping only fully-supported pixels."""
    c = x.shape[1]
    kx = kernel.view(1, 1, 1, -1).expand(c, 1, 1, -1)
    ky = kernel.view(1, 1, -1, 1).expand(c, 1, -1, 1)
    return F.conv2d(F.conv2d(x, kx, groups=c), ky, groups=c)


def ssim(pred: Tensor, target: Tensor, data_range: float = 1.0) -> Tensor:
    """Per-image SSIM ``[*B]`` of ``[*B, 3, H, W]`` images (mean over pixels, then channels)."""
    _check_pair(pred, target, "ssim")
    batch_shape = pred.shape[:-3]
    h, w = pred.shape[-2:]
    kernel = _gaussian_kernel(SSIM_SIGMA, SSIM_TRUNCATE, torch.float64).to(pred.device)
    if min(h, w) < kernel.numel():
        raise ValueError(f"ssim: images must be at least {kernel.numel()}x{kernel.numel()}, got {h}x{w}")
    x = pred.reshape(-1, 3, h, w).to(torch.float64)
    y = target.reshape(-1, 3, h, w).to(torch.float64)
    stats = _valid_gaussian_filter(torch.cat([x, y, x * x, y * y, x * y], dim=1), kernel)
    ux, uy, uxx, uyy, uxy = stats.split(3, dim=1)
    vx, vy, vxy = uxx - ux * ux, uyy - uy * uy, uxy - ux * uy
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    return s.mean(dim=(-3, -2, -1)).reshape(batch_shape)


def image_metrics(
    pred: Tensor,
    target: Tensor,
    lpips_weights: str | Path | Sequence[str | Path] | None = None,
) -> dict[str, float | None]:
    """Mean PSNR, SSIM and LPIPS over the images of ``[*B, 3, H, W]`` batches in [0, 1].

    ``lpips`` is ``None`` when no weights are given (reported as absent, never estimated);
    a given but missing or malformed weight file raises :class:`genscene.errors.InputError`.
    """
    out: dict[str, float | None] = {
        "psnr": float(psnr(pred, target).mean()),
        "ssim": float(ssim(pred, target).mean()),
        "lpips": None,
    }
    if lpips_weights is not None:
        from genscene.eval.lpips import lpips_distance

        out["lpips"] = float(lpips_distance(pred, target, lpips_weights).mean())
    return out
