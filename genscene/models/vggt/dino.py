"""The DINOv2 ViT with register tokens that VGGT uses as its patch embedding (ViT-L/14 at the
published size): patch tokens out, normalised, after all of its blocks."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genscene.models.vggt.layers import Block


class PatchEmbed(nn.Module):
    """``proj``: a strided convolution, one token per ``patch x patch`` pixels."""

    def __init__(self, patch: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, stride=patch)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # [N, h*w, C]


class DinoViT(nn.Module):
    """Images ``[N, 3, H, W]`` (normalised) -> patch tokens ``[N, (H/p)(W/p), C]``.

    Tokens: class token, registers, patches; the position embedding (learned for an
    ``img_size`` square) covers the class token and the patches and is resized bicubically (with
    antialiasing, in float32) to other grids. ``mask_token`` is unused at inference but part of
    the checkpoint.
    """

    def __init__(self, img_size: int, patch: int, dim: int, depth: int, heads: int, registers: int):
        super().__init__()
        self.patch = patch
        self.patch_embed = PatchEmbed(patch, dim)
        grid = img_size // patch
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, dim))
        self.register_tokens = nn.Parameter(torch.zeros(1, registers, dim))
        self.mask_token = nn.Parameter(torch.zeros(1, dim))
        self.blocks = nn.ModuleList([Block(dim, heads, 4.0, eps=1e-6) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def position_embedding(self, gh: int, gw: int, dtype: torch.dtype) -> Tensor:
        """``[1, 1 + gh*gw, C]``: the learned table itself for its own square grid, else resized."""
        m = math.isqrt(self.pos_embed.shape[1] - 1)
        if gh == gw == m:
            return self.pos_embed
        table = self.pos_embed.float()
        grid = table[:, 1:].reshape(1, m, m, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", antialias=True)
        grid = grid.permute(0, 2, 3, 1).reshape(1, gh * gw, -1)
        return torch.cat([table[:, :1], grid], dim=1).to(dtype)

    def forward(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        tokens = self.patch_embed(x)
        tokens = torch.cat([self.cls_token.expand(n, -1, -1), tokens], dim=1)
        tokens = tokens + self.position_embedding(h // self.patch, w // self.patch, tokens.dtype)
        registers = self.register_tokens.expand(n, -1, -1)
        tokens = torch.cat([tokens[:, :1], registers, tokens[:, 1:]], dim=1)
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)[:, 1 + registers.shape[1]:]
