"""Losses of the latent Gaussian decoder on renders at held-out cameras (Lyra eq. 1, plus SSIM).

``L = mse * L_mse + ssim * (1 - SSIM) + lpips * L_lpips + depth * L_depth + opacity * L_opacity``, Lyra's
weights (1.0, -, 0.5, 0.05, 0.1) as the start. LPIPS counts only when local weights are given
(:func:`genscene.eval.lpips.load_lpips`; nothing is downloaded); SSIM (not in Lyra, 0.2 here) is the
structural term that stays when LPIPS is absent.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from genscene.eval.image_metrics import ssim


@dataclass
class GaussianLossConfig:
    """Weights of the decoder's loss terms."""

    mse: float = 1.0
    """Pixel MSE of the renders (Lyra: 1.0)."""
    ssim: float = 0.2
    """``1 - SSIM`` of the renders (not in Lyra; 0 turns it off)."""
    lpips: float = 0.5
    """LPIPS of the renders (Lyra: 0.5, VGG); used only when ``lpips_weights`` is set."""
    lpips_weights: str = ""
    """Local LPIPS weight file(s), comma-separated (see :mod:`genscene.eval.lpips`); empty: no LPIPS term."""
    depth: float = 0.05
    """Scale-invariant depth loss on the rendered depth (Lyra: 0.05)."""
    opacity: float = 0.1
    """L1 of the opacities before pruning (Lyra: 0.1)."""


def scale_invariant_depth_loss(pred: Tensor, target: Tensor, valid: Tensor) -> Tensor:
    """Mean ``|pred / median(pred) - target / median(target)|`` over ``valid`` pixels, per image, then averaged.

    ``pred``, ``target``, ``valid``: ``[N, H, W]``; medians over each image's valid pixels. Zero whenever
    ``pred`` is ``target`` times any positive scale (the renders' scale is the latents', not the world's).
    Images with no valid pixel count 0.
    """
    losses = []
    for p, t, m in zip(pred, target, valid):
        m = m & (t > 0) & (p > 0)
        if not m.any():
            losses.append(pred.sum() * 0)
            continue
        p, t = p[m], t[m]
        losses.append((p / p.median().clamp_min(1e-6) - t / t.median().clamp_min(1e-6)).abs().mean())
    return torch.stack(losses).mean()


def opacity_l1(opacities: Tensor) -> Tensor:
    """Mean absolute opacity (opacities are in (0, 1), so the mean): pushes unneeded Gaussians to prune."""
    return opacities.abs().mean()


def gaussian_render_loss(rgb: Tensor, depth: Tensor, target_rgb: Tensor, target_depth: Tensor, opacities: Tensor,
                         cfg: GaussianLossConfig, lpips: nn.Module | None = None) -> tuple[Tensor, dict[str, float]]:
    """The weighted loss and its terms.

    Args:
        rgb, target_rgb: renders and ground truth ``[N, 3, H, W]`` in [0, 1].
        depth, target_depth: rendered and ground-truth z-depth ``[N, H, W]`` (target 0 = no depth, e.g. sky).
        opacities: the Gaussians' opacities (any shape) before pruning.
        lpips: a loaded :class:`~genscene.eval.lpips.LPIPS` (its weights frozen), or None.
    """
    terms = {"mse": ((rgb - target_rgb) ** 2).mean(),
             "depth": scale_invariant_depth_loss(depth, target_depth, target_depth > 0),
             "opacity": opacity_l1(opacities)}
    if cfg.ssim:
        terms["ssim"] = 1 - ssim(rgb, target_rgb).float().mean()
    if lpips is not None and cfg.lpips:
        terms["lpips"] = lpips(rgb, target_rgb).mean()
    total = sum(getattr(cfg, name) * value for name, value in terms.items())
    return total, {"loss": total.item(), **{name: value.item() for name, value in terms.items()}}


def load_loss_lpips(cfg: GaussianLossConfig) -> nn.Module | None:
    """The LPIPS network named by ``cfg.lpips_weights`` (None when empty or its weight is 0)."""
    if not cfg.lpips_weights or not cfg.lpips:
        return None
    from genscene.eval.lpips import load_lpips

    return load_lpips([p.strip() for p in cfg.lpips_weights.split(",") if p.strip()])


__all__ = ["GaussianLossConfig", "gaussian_render_loss", "load_loss_lpips", "opacity_l1",
           "scale_invariant_depth_loss"]
