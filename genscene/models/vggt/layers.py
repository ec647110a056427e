"""Transformer pieces of VGGT: pre-norm blocks with layer scale, optional QK-norm and 2D rotary
position embedding.

Parameter names follow the released checkpoint (``norm1``, ``attn.qkv``, ``ls1.gamma``, ``mlp.fc1``...)
so its state dict loads strictly; the code is ours.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class LayerScale(nn.Module):
    """``x * gamma``: a learned per-channel scale on a residual branch."""

    def __init__(self, dim: int, init: float = 1.0):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init)))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.gamma


class Mlp(nn.Module):
    """``fc2(gelu(fc1(x)))`` (exact GELU)."""

    def __init__(self, dim: int, hidden: int, out: int | None = None):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, out or dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Rope(NamedTuple):
    """Where the tokens are, for the 2D rotary embedding."""

    pos: Tensor
    """``[B, N, 2]`` integer (row, column) of each token."""
    base: float
    """Base frequency."""
    length: int
    """One more than the largest position (the table size; known from the grid, so no device sync)."""


def rope_2d(x: Tensor, rope: Rope) -> Tensor:
    """Rotary embedding of ``x [B, heads, N, D]`` at ``rope.pos``: the first half of each head's channels
    rotates with the row, the second half with the column.

    The angles are computed in float32 and only then cast to ``x``'s dtype, as the reference does.
    """
    pos, base = rope.pos, rope.base
    half = x.shape[-1] // 2
    inv_freq = 1.0 / (base ** (torch.arange(0, half, 2, device=x.device).float() / half))
    angles = torch.arange(rope.length, device=x.device, dtype=torch.float32)[:, None] * inv_freq[None]
    angles = torch.cat([angles, angles], dim=-1).to(x.dtype)
    cos, sin = angles.cos(), angles.sin()
    out = []
    for part, p in zip(x.chunk(2, dim=-1), pos.unbind(-1)):
        c, s = cos[p][:, None], sin[p][:, None]  # [B, 1, N, half]
        a, b = part.chunk(2, dim=-1)
        out.append(part * c + torch.cat([-b, a], dim=-1) * s)
    return torch.cat(out, dim=-1)


class Attention(nn.Module):
    """Multi-head self-attention; ``qk_norm`` adds LayerNorms on each head's queries and keys."""

    def __init__(self, dim: int, heads: int, qk_norm: bool = False):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        if qk_norm:
            self.q_norm = nn.LayerNorm(dim // heads)
            self.k_norm = nn.LayerNorm(dim // heads)
        self.qk_norm = qk_norm
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor, rope: Rope | None = None) -> Tensor:
        """``x [B, N, C]``; ``rope`` (positions of the N tokens) applies the rotary embedding."""
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:
            q, k = rope_2d(q, rope), rope_2d(k, rope)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    """Pre-norm block: ``x + ls1(attn(norm1(x)))``, then ``x + ls2(mlp(norm2(x)))``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, qk_norm: bool = False, eps: float = 1e-5):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads, qk_norm)
        self.ls1 = LayerScale(dim)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.ls2 = LayerScale(dim)

    def forward(self, x: Tensor, rope: Rope | None = None) -> Tensor:
        x = x + self.ls1(self.attn(self.norm1(x), rope))
        return x + self.ls2(self.mlp(self.norm2(x)))
