"""SpatialCrafter's epipolar attention for the Wan transformer: self-attention restricted to epipolar lines.

Each latent frame is one camera (frame 0 for latent frame 0, frame ``tf * j`` for latent frame ``j``:
the last frame of the group the causal VAE folds into it). A token of latent frame ``i`` attends to
every token of its own frame and, in frame ``k``, only to tokens within ``threshold`` token cells of
its epipolar line there (:func:`genscene.cameras.epipolar.epipolar_attention_mask`). The mask is
given per sample, so a sample whose camera condition is dropped (guidance) attends fully.

:class:`EpipolarAttnProcessor` wraps diffusers' ``WanAttnProcessor``: it passes the mask it holds as
the attention mask of self-attention calls and changes nothing else (cross-attention to the null
context is untouched).
"""

from __future__ import annotations

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.cameras.epipolar import epipolar_attention_mask


def latent_frame_cameras(cameras: Cameras, temporal_factor: int) -> Cameras:
    """Cameras ``[..., T]`` -> the camera of each latent frame ``[..., T']`` (frames ``0, tf, 2 tf, ...``)."""
    t = cameras.batch_shape[-1]
    if (t - 1) % temporal_factor:
        raise ValueError(f"latent_frame_cameras: T={t} frames; needs T = 1 + {temporal_factor}k")
    return Cameras(cameras.K[..., ::temporal_factor, :, :], cameras.w2c[..., ::temporal_factor, :, :], cameras.width,
                   cameras.height)


def token_epipolar_mask(cameras: Cameras, temporal_factor: int, token_h: int, token_w: int,
                        threshold: float) -> Tensor:
    """Attention mask ``[B, 1, N, N]`` bool (True = attend; ``N = T' * token_h * token_w``, tokens ordered
    frame, row, column as the Wan transformer flattens them) for cameras ``[B, T]`` at pixel resolution."""
    if len(cameras.batch_shape) != 2:
        raise ValueError(f"token_epipolar_mask: expected cameras [B, T], got {tuple(cameras.batch_shape)}")
    per_frame = latent_frame_cameras(cameras.to("cpu", torch.float64), temporal_factor)
    masks = []
    for b in range(per_frame.batch_shape[0]):
        m = epipolar_attention_mask(per_frame[b], token_h, token_w, threshold)  # [T', n, T', n]
        masks.append(m.reshape(m.shape[0] * m.shape[1], -1))
    return torch.stack(masks)[:, None]


def full_attention(mask: Tensor, drop: Tensor | None) -> Tensor:
    """``mask [B, 1, N, N]`` with the samples where ``drop [B]`` is True attending everywhere."""
    if drop is None:
        return mask
    return mask | drop.to(mask.device).bool().view(-1, 1, 1, 1)


def _wan_processor_class():
    from diffusers.models.transformers.transformer_wan import WanAttnProcessor

    return WanAttnProcessor


class EpipolarAttnProcessor:
    """diffusers' ``WanAttnProcessor`` with ``mask`` (``[B, 1, N, N]`` bool, or None = full attention) applied
    to self-attention. The generator sets ``mask`` around each transformer call."""

    def __init__(self):
        self.inner = _wan_processor_class()()
        self.mask: Tensor | None = None

    def __call__(self, attn, hidden_states: Tensor, encoder_hidden_states: Tensor | None = None,
                 attention_mask: Tensor | None = None, rotary_emb=None) -> Tensor:
        if encoder_hidden_states is None and self.mask is not None:
            n = hidden_states.shape[1]
            if self.mask.shape[-2:] != (n, n):
                raise RuntimeError(f"EpipolarAttnProcessor: mask {tuple(self.mask.shape)} does not fit {n} tokens")
            attention_mask = self.mask.to(hidden_states.device)
        return self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, rotary_emb)
