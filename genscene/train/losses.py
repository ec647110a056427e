"""Small, separate loss units (VGGT's geometry losses, the VAE's reconstruction loss)."""

from __future__ import annotations

import torch
from torch import Tensor


def image_gradients(x: Tensor) -> tuple[Tensor, Tensor]:
    """Finite differences of ``[..., H, W, C]`` maps along W and H (shapes ``[..., H, W-1, C]``, ``[..., H-1, W, C]``)."""
    return x[..., :, 1:, :] - x[..., :, :-1, :], x[..., 1:, :, :] - x[..., :-1, :, :]


def confidence_regression_loss(pred: Tensor, target: Tensor, conf: Tensor, valid: Tensor,
                               alpha: float = 0.2, grad_weight: float = 1.0) -> Tensor:
    """VGGT's dense loss: ``conf |pred - gt| - alpha log conf`` + ``|pred - gt|`` + ``conf |grad|``.

    The plain regression term is VGGT's ``loss_reg``: it keeps a gradient on the prediction where the
    confidence sits at its floor of 1 (errors above ``alpha``), which early in training is everywhere.

    Args:
        pred, target: ``[B, S, H, W, C]`` (depth uses C = 1).
        conf: ``[B, S, H, W]`` (> 1).
        valid: bool ``[B, S, H, W]``; invalid pixels contribute nothing.
    """
    # the difference is masked before the norm, not only the loss after it: an unsupervised pixel
    # (far ground overflowing the bank's fp16 depth) may hold inf or nan, and the norm's backward
    # there is nan even under a zero upstream gradient
    n = valid.sum().clamp_min(1)
    err = torch.where(valid[..., None], pred - target, 0).norm(dim=-1)
    loss = torch.where(valid, conf * err - alpha * conf.log() + err, 0).sum() / n
    if grad_weight:
        masked_pred = torch.where(valid[..., None], pred, 0)
        masked_tgt = torch.where(valid[..., None], target, 0)
        for gp, gt, mask in zip(image_gradients(masked_pred), image_gradients(masked_tgt),
                                _gradient_masks(valid)):
            c = _pair_conf(conf, gp.shape)
            term = torch.where(mask, c * (gp - gt).norm(dim=-1), 0)
            loss = loss + grad_weight * term.sum() / mask.sum().clamp_min(1)
    return loss


def _gradient_masks(valid: Tensor) -> tuple[Tensor, Tensor]:
    return valid[..., :, 1:] & valid[..., :, :-1], valid[..., 1:, :] & valid[..., :-1, :]


def _pair_conf(conf: Tensor, shape: torch.Size) -> Tensor:
    """Crop ``conf [B,S,H,W]`` to a gradient map's spatial shape."""
    return conf[..., : shape[-3], : shape[-2]]


def camera_loss(pred_enc: Tensor, gt_enc: Tensor, focal_weight: float = 0.5) -> Tensor:
    """VGGT's released camera loss: L1 on translation, quaternion and fields of view (each a mean
    over entries), the last weighted by ``focal_weight``. (The paper says Huber; the released code
    uses L1, found more stable; a Huber at delta 1 also all but stops pulling errors below 0.1.)

    ``[B, S, 9]`` each. A quaternion and its negation are the same rotation: the closer sign counts.
    """
    t = (pred_enc[..., :3] - gt_enc[..., :3]).abs().mean()
    q_pred, q_gt = pred_enc[..., 3:7], gt_enc[..., 3:7]
    q = torch.minimum((q_pred - q_gt).abs().mean(-1), (q_pred + q_gt).abs().mean(-1)).mean()
    fov = (pred_enc[..., 7:] - gt_enc[..., 7:]).abs().mean()
    return t + q + focal_weight * fov


def iterative_camera_loss(estimates: list[Tensor], gt_enc: Tensor, gamma: float = 0.6) -> Tensor:
    """VGGT's loss over the camera head's passes: pass ``k`` of ``n`` weighs ``gamma^(n-1-k)``, averaged."""
    n = len(estimates)
    return sum(gamma ** (n - 1 - k) * camera_loss(e, gt_enc) for k, e in enumerate(estimates)) / n


def vae_loss(recon: Tensor, target: Tensor, kl: Tensor, kl_weight: float = 1e-6,
             grad_weight: float = 0.5) -> tuple[Tensor, dict[str, float]]:
    """L1 + image-gradient L1 (keeps edges sharp without a perceptual net) + weighted KL.

    ``recon``/``target``: ``[B, T, 3, H, W]``; ``kl``: ``[B]``.
    """
    l1 = (recon - target).abs().mean()
    grad = sum((a - b).abs().mean() for a, b in zip(_hw_gradients(recon), _hw_gradients(target)))
    kl_term = kl.mean()
    loss = l1 + grad_weight * grad + kl_weight * kl_term
    return loss, {"loss": loss.item(), "l1": l1.item(), "grad": grad.item(), "kl": kl_term.item()}


def _hw_gradients(x: Tensor) -> tuple[Tensor, Tensor]:
    """Finite differences of ``[..., H, W]`` images along W and H."""
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]
