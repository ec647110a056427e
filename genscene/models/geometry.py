"""A VGGT-style feed-forward geometry network (our own implementation, small by default).

Per-frame patch tokens plus a camera token and register tokens per frame; blocks alternate
frame-wise attention (tokens of one frame) and global attention (tokens of all frames). Frame 0 is
the reference: it gets its own learned camera/register tokens, as in VGGT. Heads: a camera head on
the camera token (9-d pose encoding: translation, quaternion, two fields of view) and a dense head
(pixel-shuffle decoder over several intermediate layers) giving depth and a point map in the frame-0
camera frame, each with a confidence. Intermediate tokens are returned for the Gen3R adapter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genscene.models.base import PretrainedModel


@dataclass
class GeometryNetConfig:
    """Architecture of :class:`GeometryNet`."""

    patch_size: int = 8
    """Pixels per patch side; input sizes must be multiples of it."""
    dim: int = 192
    """Token width."""
    depth: int = 6
    """Number of (frame attention, global attention) block pairs."""
    heads: int = 6
    """Attention heads per block."""
    mlp_ratio: float = 4.0
    """MLP hidden width as a multiple of ``dim``."""
    num_registers: int = 4
    """Register tokens per frame."""
    head_layers: tuple[int, ...] = (1, 3, 5)
    """Block-pair indices whose outputs feed the dense head (and are exposed as tokens)."""
    head_dim: int = 64
    """Channels of the dense head's feature maps."""
    camera_blocks: int = 2
    """Transformer blocks (attention across the frames of a sample) in the camera head's trunk."""
    camera_iterations: int = 4
    """Refinement passes of the camera head; each predicts a correction to the current pose."""
    dense_head: str = "shuffle"
    """Depth / point decoder: ``"shuffle"`` (each patch's token decoded to its pixels alone) or
    ``"dpt"`` (DPT-style: layers fused coarse to fine by 2x steps, plus a full-resolution image
    branch, as VGGT's DPT head; smooth across patch borders)."""


LOG_LIMIT = 15.0
"""Log-space outputs (depth, confidences) are clamped here: unsupervised sky pixels must stay finite."""


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.q_norm = nn.LayerNorm(dim // heads)
        self.k_norm = nn.LayerNorm(dim // heads)  # QK-norm as VGGT: stabilises global attention
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: Tensor) -> Tensor:  # x: [B, N, C]
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(self.q_norm(q), self.k_norm(k), v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def sincos_2d(h: int, w: int, dim: int, device=None) -> Tensor:
    """Fixed 2D sine-cosine position embedding ``[h*w, dim]`` (resolution independent)."""
    quarter = dim // 4
    freq = torch.exp(-math.log(10000.0) * torch.arange(quarter, device=device) / quarter)
    ys, xs = torch.meshgrid(torch.arange(h, device=device, dtype=torch.float32),
                            torch.arange(w, device=device, dtype=torch.float32), indexing="ij")
    parts = []
    for coord in (ys.reshape(-1), xs.reshape(-1)):
        ang = coord[:, None] * freq[None]
        parts += [ang.sin(), ang.cos()]
    emb = torch.cat(parts, dim=-1)
    return F.pad(emb, (0, dim - emb.shape[-1]))


class DenseHead(nn.Module):
    """Fuses several layers' patch tokens and decodes ``out_channels`` per pixel by pixel shuffle."""

    def __init__(self, dim: int, n_layers: int, patch: int, head_dim: int, out_channels: int):
        super().__init__()
        self.patch = patch
        self.proj = nn.ModuleList([nn.Linear(2 * dim, head_dim) for _ in range(n_layers)])
        self.to_pixels = nn.Linear(head_dim, head_dim * patch * patch // 4)
        self.refine = nn.Sequential(
            nn.Conv2d(head_dim // 4, head_dim // 2, 3, padding=1), nn.GELU(),
            nn.Conv2d(head_dim // 2, head_dim // 2, 3, padding=1), nn.GELU(),
            nn.Conv2d(head_dim // 2, out_channels, 1),
        )

    def forward(self, layers: list[Tensor], gh: int, gw: int, image: Tensor) -> Tensor:
        """layers: each ``[B*S, gh*gw, 2*dim]`` -> ``[B*S, out_channels, gh*p, gw*p]`` (``image`` unused)."""
        x = sum(proj(t) for proj, t in zip(self.proj, layers))  # [BS, N, head_dim]
        x = self.to_pixels(F.gelu(x))  # [BS, N, head_dim*p*p/4]
        bs = x.shape[0]
        x = x.transpose(1, 2).reshape(bs, -1, gh, gw)
        x = F.pixel_shuffle(x, self.patch)  # [BS, head_dim/4, H, W]
        return self.refine(x)


class ResidualConv(nn.Module):
    """DPT's residual conv unit: ``x + conv(gelu(conv(gelu(x))))``."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.GELU(), nn.Conv2d(channels, channels, 3, padding=1),
                                  nn.GELU(), nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class DPTHead(nn.Module):
    """DPT-style decoder, small: the deepest layer's token map is refined and upsampled by 2x steps,
    the shallower layers joining on the way (one per step), then a full-resolution image branch
    restores edges the 1/p token grid cannot hold."""

    def __init__(self, dim: int, n_layers: int, patch: int, head_dim: int, out_channels: int):
        super().__init__()
        self.proj = nn.ModuleList([nn.Conv2d(2 * dim, head_dim, 1) for _ in range(n_layers)])
        self.fuse = nn.ModuleList([ResidualConv(head_dim) for _ in range(n_layers)])
        half = head_dim // 2
        self.image = nn.Sequential(nn.Conv2d(3, half, 3, padding=1), nn.GELU(), nn.Conv2d(half, half, 3, padding=1))
        self.out = nn.Sequential(nn.Conv2d(head_dim + half, half, 3, padding=1), nn.GELU(),
                                 nn.Conv2d(half, out_channels, 1))

    def forward(self, layers: list[Tensor], gh: int, gw: int, image: Tensor) -> Tensor:
        """layers: each ``[B*S, gh*gw, 2*dim]``; image ``[B*S, 3, H, W]`` -> ``[B*S, out_channels, H, W]``."""
        maps = [proj(t.transpose(1, 2).reshape(t.shape[0], -1, gh, gw)) for proj, t in zip(self.proj, layers)]
        x = self.fuse[-1](maps[-1])
        for level in range(len(maps) - 2, -1, -1):  # each shallower layer joins at twice the resolution
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = self.fuse[level](x + F.interpolate(maps[level], size=x.shape[-2:], mode="bilinear", align_corners=False))
        x = F.interpolate(x, size=image.shape[-2:], mode="bilinear", align_corners=False)
        return self.out(torch.cat([x, self.image(image.to(x.dtype))], dim=1))


DENSE_HEADS = {"shuffle": DenseHead, "dpt": DPTHead}


class CameraHead(nn.Module):
    """VGGT's iterative camera head, small: a trunk attends across the S camera tokens of a sample,
    modulated (adaLN) by an embedding of the current pose estimate, and adds a pose correction.

    The estimate fed back is detached, as in VGGT: each pass learns a correction, not a path through
    the previous passes.
    """

    def __init__(self, token_dim: int, dim: int, heads: int, blocks: int, iterations: int):
        super().__init__()
        self.iterations = iterations
        self.inp = nn.Linear(token_dim, dim)  # the tokens arrive layer-normed
        self.start = nn.Parameter(torch.zeros(1, 1, 9))  # the "no estimate yet" pose fed to pass one
        self.embed_pose = nn.Linear(9, dim)
        self.modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 3 * dim))
        self.adaln_norm = nn.LayerNorm(dim, elementwise_affine=False)
        self.trunk = nn.Sequential(*[Block(dim, heads, 4.0) for _ in range(blocks)])
        self.out = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim // 2), nn.GELU(), nn.Linear(dim // 2, 9))

    def forward(self, camera_tokens: Tensor) -> list[Tensor]:
        """``camera_tokens [B, S, token_dim]`` -> the estimate after each pass, ``[B, S, 9]`` each."""
        tokens = self.inp(camera_tokens)
        b, s, _ = tokens.shape
        pose = self.start.expand(b, s, 9).to(tokens.dtype)
        estimates = []
        for i in range(self.iterations):
            shift, scale, gate = self.modulation(self.embed_pose(pose.detach() if i else pose)).chunk(3, dim=-1)
            x = tokens + gate * (self.adaln_norm(tokens) * (1 + scale) + shift)
            delta = self.out(self.trunk(x))
            pose = delta if i == 0 else pose.detach() + delta
            estimates.append(pose)
        return estimates


class GeometryNet(PretrainedModel):
    """Images ``[B, S, 3, H, W]`` in [0, 1] -> cameras, depth and point maps for all S views."""

    config_class = GeometryNetConfig

    def __init__(self, config: GeometryNetConfig):
        super().__init__(config)
        c = config
        self.patch_embed = nn.Conv2d(3, c.dim, c.patch_size, stride=c.patch_size)
        # index 0: reference frame, index 1: all other frames
        self.camera_token = nn.Parameter(torch.randn(2, 1, c.dim) * 0.02)
        self.register_tokens = nn.Parameter(torch.randn(2, c.num_registers, c.dim) * 0.02)
        self.frame_blocks = nn.ModuleList([Block(c.dim, c.heads, c.mlp_ratio) for _ in range(c.depth)])
        self.global_blocks = nn.ModuleList([Block(c.dim, c.heads, c.mlp_ratio) for _ in range(c.depth)])
        self.norm = nn.LayerNorm(2 * c.dim)
        self.camera_head = CameraHead(2 * c.dim, c.dim, c.heads, c.camera_blocks, c.camera_iterations)
        if c.dense_head not in DENSE_HEADS:
            raise ValueError(f"GeometryNetConfig.dense_head: {c.dense_head!r}, expected one of {sorted(DENSE_HEADS)}")
        head, n_layers = DENSE_HEADS[c.dense_head], len(c.head_layers)
        self.depth_head = head(c.dim, n_layers, c.patch_size, c.head_dim, 2)
        self.point_head = head(c.dim, n_layers, c.patch_size, c.head_dim, 4)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def _special_tokens(self, b: int, s: int) -> Tensor:
        """Camera + register tokens ``[B, S, 1+R, C]``: the reference set for frame 0, the other set after."""
        tokens = torch.cat([self.camera_token, self.register_tokens], dim=1)  # [2, 1+R, C]
        idx = torch.ones(s, dtype=torch.long, device=tokens.device)
        idx[0] = 0
        return tokens[idx].unsqueeze(0).expand(b, -1, -1, -1)

    def forward(self, images: Tensor) -> dict[str, Tensor | list[Tensor]]:
        """Run the network.

        Args:
            images: ``[B, S, 3, H, W]`` in [0, 1]; H and W multiples of ``patch_size``; S in 1..32.

        Returns:
            ``pose_enc`` [B, S, 9] (translation, quaternion xyzw, fov_h, fov_w of world-to-camera,
            world = frame-0 camera, scale normalised), ``pose_enc_list`` (the camera head's estimate
            after each refinement pass, the last being ``pose_enc``), ``depth`` [B, S, H, W] (z-depth),
            ``depth_conf`` [B, S, H, W] (> 1), ``points`` [B, S, H, W, 3] (frame-0 camera frame),
            ``points_conf`` [B, S, H, W], ``tokens``: list of [B, S, 1+R+N, 2C] per head layer.
        """
        b, s, _, h, w = images.shape
        p = self.config.patch_size
        if h % p or w % p:
            raise ValueError(f"GeometryNet: image size {h}x{w} is not a multiple of the patch size {p}")
        gh, gw = h // p, w // p
        x = (images.reshape(b * s, 3, h, w) - self.mean) / self.std
        patches = self.patch_embed(x).flatten(2).transpose(1, 2)  # [BS, N, C]
        patches = patches + sincos_2d(gh, gw, self.config.dim, patches.device).to(patches.dtype)
        special = self._special_tokens(b, s).reshape(b * s, -1, self.config.dim).to(patches.dtype)
        tokens = torch.cat([special, patches], dim=1)  # [BS, P, C], P = 1+R+N
        n_tok = tokens.shape[1]
        kept: list[Tensor] = []
        for i, (fb, gb) in enumerate(zip(self.frame_blocks, self.global_blocks)):
            frame_out = fb(tokens)  # [BS, P, C]
            global_out = gb(frame_out.reshape(b, s * n_tok, -1)).reshape(b * s, n_tok, -1)
            tokens = global_out
            if i in self.config.head_layers:
                kept.append(torch.cat([frame_out, global_out], dim=-1))  # [BS, P, 2C]
        final = self.norm(kept[-1])
        pose_list = self.camera_head(final[:, 0].reshape(b, s, -1))
        n_special = 1 + self.config.num_registers
        patch_layers = [t[:, n_special:] for t in kept]
        d = self.depth_head(patch_layers, gh, gw, x)  # [BS, 2, H, W]
        pts = self.point_head(patch_layers, gh, gw, x)  # [BS, 4, H, W]
        d, pts = d.float(), pts.float()
        return {
            "pose_enc": pose_list[-1],
            "pose_enc_list": pose_list,
            "depth": d[:, 0].clamp(-LOG_LIMIT, LOG_LIMIT).exp().reshape(b, s, h, w),
            "depth_conf": (1 + d[:, 1].clamp(max=LOG_LIMIT).exp()).reshape(b, s, h, w),
            "points": pts[:, :3].permute(0, 2, 3, 1).reshape(b, s, h, w, 3),
            "points_conf": (1 + pts[:, 3].clamp(max=LOG_LIMIT).exp()).reshape(b, s, h, w),
            "tokens": [t.reshape(b, s, n_tok, -1) for t in kept],
        }
