"""VGGT's aggregator: DINOv2 patch tokens plus a camera token and register tokens per frame, then
blocks alternating frame attention (the tokens of one frame) and global attention (the tokens of
all frames), both with QK-norm and 2D rotary positions. Frame 0 gets its own camera and register
tokens (index 0 of each pair), every other frame shares the second ones (index 1)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from genscene.models.vggt.dino import DinoViT
from genscene.models.vggt.layers import Block, Rope

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def token_positions(n: int, gh: int, gw: int, special: int, device) -> Tensor:
    """``[n, special + gh*gw, 2]`` (row, column) positions: special tokens at (0, 0), patch ``(i, j)``
    at ``(i + 1, j + 1)``."""
    rows, cols = torch.meshgrid(torch.arange(gh, device=device), torch.arange(gw, device=device), indexing="ij")
    grid = torch.stack([rows.reshape(-1), cols.reshape(-1)], dim=-1) + 1
    pos = torch.cat([torch.zeros(special, 2, dtype=grid.dtype, device=device), grid])
    return pos[None].expand(n, -1, -1)


class Aggregator(nn.Module):
    """Images ``[B, S, 3, H, W]`` in [0, 1] -> ``{layer: [B, S, P, 2C]}`` (frame and global block outputs
    of that layer, concatenated; ``P = 1 + registers + patches``) for the layers asked for."""

    def __init__(self, cfg):
        super().__init__()
        c = cfg
        self.patch = c.patch_size
        self.rope_base = c.rope_freq
        self.patch_embed = DinoViT(c.img_size, c.patch_size, c.embed_dim, c.dino_depth, c.dino_heads, c.num_registers)
        self.frame_blocks = nn.ModuleList([Block(c.embed_dim, c.num_heads, c.mlp_ratio, qk_norm=True)
                                           for _ in range(c.depth)])
        self.global_blocks = nn.ModuleList([Block(c.embed_dim, c.num_heads, c.mlp_ratio, qk_norm=True)
                                            for _ in range(c.depth)])
        self.camera_token = nn.Parameter(torch.zeros(1, 2, 1, c.embed_dim))
        self.register_token = nn.Parameter(torch.zeros(1, 2, c.num_registers, c.embed_dim))

    @property
    def special_tokens(self) -> int:
        """Camera + register tokens per frame, before the patch tokens."""
        return 1 + self.register_token.shape[2]

    def _special(self, b: int, s: int) -> Tensor:
        """``[B*S, 1+R, C]``: frame 0's tokens, then the shared ones for frames 1..S-1."""
        tokens = torch.cat([self.camera_token, self.register_token], dim=2)[0]  # [2, 1+R, C]
        index = torch.ones(s, dtype=torch.long, device=tokens.device)
        index[0] = 0
        return tokens[index][None].expand(b, -1, -1, -1).reshape(b * s, *tokens.shape[1:])

    def forward(self, images: Tensor, keep: set[int]) -> dict[int, Tensor]:
        b, s, _, h, w = images.shape
        # float32 constants, as the reference's buffers (matters only to the last bits in float64)
        mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).to(images.device, images.dtype).view(1, 1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, dtype=torch.float32).to(images.device, images.dtype).view(1, 1, 3, 1, 1)
        x = ((images - mean) / std).reshape(b * s, 3, h, w)
        patches = self.patch_embed(x)
        tokens = torch.cat([self._special(b, s).to(patches.dtype), patches], dim=1)  # [B*S, P, C]
        p, c = tokens.shape[1:]
        gh, gw = h // self.patch, w // self.patch
        pos = token_positions(b * s, gh, gw, self.special_tokens, images.device)
        frame_rope = Rope(pos, self.rope_base, max(gh, gw) + 1) if self.rope_base > 0 else None
        global_rope = None if frame_rope is None else frame_rope._replace(pos=pos.reshape(b, s * p, 2))
        kept = {}
        for i, (frame, glob) in enumerate(zip(self.frame_blocks, self.global_blocks)):
            tokens = frame(tokens, frame_rope)
            frame_out = tokens
            tokens = glob(tokens.reshape(b, s * p, c), global_rope).reshape(b * s, p, c)
            if i in keep:
                kept[i] = torch.cat([frame_out, tokens], dim=-1).reshape(b, s, p, 2 * c)
        return kept
