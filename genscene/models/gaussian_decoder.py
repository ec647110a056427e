"""The latent 3DGS decoder (Lyra, SpatialCrafter): video latents of V trajectories -> 3D Gaussians.

Inputs are the video VAE's latents ``[B, V, C, L, h, w]`` of ``V`` camera trajectories of one scene and,
optionally, their Plücker maps encoded by the same VAE as two 3-channel halves (moment, direction;
Lyra) ``[B, V, 2C, L, h, w]``. A small MLP folds the Plücker latents to ``C`` channels; both inputs are
patchified (2x2 spatially) into tokens and summed. One sequence of ``V * L * h/2 * w/2`` tokens, so every
token sees every trajectory, runs through a pattern of Transformer blocks (``t``) and bidirectional
Mamba-2 blocks (``m``: ``transformers``' ``Mamba2Mixer`` over the sequence and over its reverse, summed,
as SpatialCrafter). Lyra's pattern is ``tmmmmmmm`` twice at width 512.

A transposed 3D convolution maps each token back to the VAE's decoded grid: ``temporal_factor`` frames
per latent frame (the first latent frame holds one frame, as in the causal VAE) and
``spatial_factor * patch / pixels_per_gaussian`` Gaussians per token side. Each Gaussian has
:data:`GAUSSIAN_CHANNELS` channels (Lyra's 14; position as a z-depth along the cell's ray plus a
sub-cell offset, so positions are ray-aligned as in SpatialCrafter), placed with each frame's camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genscene.cameras.cameras import Cameras
from genscene.geometry.gaussians import Gaussians
from genscene.models.base import PretrainedModel

GAUSSIAN_CHANNELS = 14
"""Raw channels per Gaussian, in order: depth (1), pixel offset (2), scale (3), rotation (4, w first),
opacity (1), colour (3)."""
DEPTH, OFFSET, SCALE, ROTATION, OPACITY, COLOR = slice(0, 1), slice(1, 3), slice(3, 6), slice(6, 10), 10, slice(11, 14)


def _require_mamba2():
    try:
        from transformers import Mamba2Config
        from transformers.models.mamba2.modeling_mamba2 import Mamba2Mixer
    except ImportError as err:  # reported by `genscene doctor` too
        raise ImportError('the Gaussian decoder\'s Mamba-2 blocks need transformers>=5: '
                          'pip install "genscene[decoder]"') from err
    return Mamba2Config, Mamba2Mixer


@dataclass
class GaussianDecoderConfig:
    """Architecture of :class:`LatentGaussianDecoder`."""

    latent_channels: int = 16
    """Channels ``C`` of the video VAE's latents (Plücker latents have ``2C``)."""
    use_plucker: bool = True
    """Take VAE-encoded Plücker latents as the camera input (summed with the video tokens)."""
    hidden: int = 128
    """Token width (Lyra: 512)."""
    blocks: str = "tmmm"
    """Block pattern: ``t`` a Transformer block, ``m`` a bidirectional Mamba-2 block (Lyra: ``tmmmmmmm`` x2)."""
    heads: int = 4
    """Attention heads of the Transformer blocks."""
    mlp_ratio: float = 4.0
    """Hidden width of a Transformer block's MLP over ``hidden``."""
    mamba_state: int = 16
    """State size of the Mamba-2 mixers."""
    mamba_head_dim: int = 32
    """Channels per Mamba-2 head (``mamba_expand * hidden`` must be a multiple)."""
    mamba_expand: int = 2
    """Inner width of a Mamba-2 mixer over ``hidden``."""
    mamba_chunk: int = 64
    """Chunk length of the Mamba-2 scan."""
    patch: int = 2
    """Latent cells per token side (Lyra: 2)."""
    temporal_factor: int = 4
    """Frames per latent frame of the VAE (``T = 1 + temporal_factor * (L - 1)``)."""
    spatial_factor: int = 8
    """Pixels per latent cell side of the VAE."""
    pixels_per_gaussian: int = 1
    """Pixels per Gaussian side: 1 per-pixel, Lyra's long runs 8 (one Gaussian per 8x8 neighbourhood)."""
    near: float = 0.05
    """Smallest depth, in scene units (the latent bank's: frame 0's median depth is 1)."""
    far: float = 20.0
    """Largest depth."""
    max_scale: float = 4.0
    """Largest Gaussian scale in cell footprints (a cell's width at the Gaussian's depth)."""
    keep_fraction: float = 0.2
    """Fraction of Gaussians kept by opacity (Lyra: the top 20%); 1 keeps all."""
    image_size: int = 0
    """Square side the decoder was trained at (set by the training stage); inference resizes clips to it.
    0: unknown, clips are decoded at their own side."""


class TransformerBlock(nn.Module):
    """Pre-norm self-attention + MLP over tokens ``[B, N, D]``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Tensor) -> Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, d)
        x = x + self.proj(a)
        return x + self.mlp(self.norm2(x))


class BiMamba2Block(nn.Module):
    """Pre-norm bidirectional Mamba-2 over tokens ``[B, N, D]``: a forward and a backward mixer, summed."""

    def __init__(self, config: GaussianDecoderConfig):
        super().__init__()
        Mamba2Config, Mamba2Mixer = _require_mamba2()
        inner = config.mamba_expand * config.hidden
        if inner % config.mamba_head_dim:
            raise ValueError(f"GaussianDecoderConfig: mamba_expand * hidden = {inner} is not a multiple of "
                             f"mamba_head_dim = {config.mamba_head_dim}")
        mc = Mamba2Config(hidden_size=config.hidden, state_size=config.mamba_state, expand=config.mamba_expand,
                          head_dim=config.mamba_head_dim, num_heads=inner // config.mamba_head_dim, n_groups=1,
                          chunk_size=config.mamba_chunk, conv_kernel=4, num_hidden_layers=1)
        self.norm = nn.LayerNorm(config.hidden)
        self.forward_mixer = Mamba2Mixer(mc, layer_idx=0)  # the index only names a cache slot; none is used
        self.backward_mixer = Mamba2Mixer(mc, layer_idx=0)

    def forward(self, x: Tensor) -> Tensor:
        h = self.norm(x)
        y = self.forward_mixer(h) + self.backward_mixer(h.flip(1)).flip(1)
        return x + y


class LatentGaussianDecoder(PretrainedModel):
    """Video latents (+ Plücker latents) of V trajectories -> per-pixel 3D Gaussians (see the module doc)."""

    config_class = GaussianDecoderConfig

    def __init__(self, config: GaussianDecoderConfig):
        super().__init__(config)
        c, d, p = config.latent_channels, config.hidden, config.patch
        if set(config.blocks) - {"t", "m"} or not config.blocks:
            raise ValueError(f"GaussianDecoderConfig.blocks: {config.blocks!r} must be a non-empty string of 't'/'m'")
        cell = config.spatial_factor * p
        if cell % config.pixels_per_gaussian:
            raise ValueError(f"GaussianDecoderConfig: pixels_per_gaussian={config.pixels_per_gaussian} must divide "
                             f"spatial_factor * patch = {cell}")
        self.patchify = nn.Conv3d(c, d, (1, p, p), (1, p, p))
        if config.use_plucker:
            self.plucker_mlp = nn.Sequential(nn.Conv3d(2 * c, c, 1), nn.SiLU(), nn.Conv3d(c, c, 1))
            self.plucker_patchify = nn.Conv3d(c, d, (1, p, p), (1, p, p))
        self.blocks = nn.ModuleList(
            TransformerBlock(d, config.heads, config.mlp_ratio) if kind == "t" else BiMamba2Block(config)
            for kind in config.blocks)
        self.norm = nn.LayerNorm(d)
        g = cell // config.pixels_per_gaussian
        self.head = nn.ConvTranspose3d(d, GAUSSIAN_CHANNELS, (config.temporal_factor, g, g),
                                       (config.temporal_factor, g, g))
        self._init_head()

    def _init_head(self) -> None:
        """Small weights; biases give unit depth, no offset, mid scale, identity rotation, opacity 0.1, grey."""
        cfg = self.config
        nn.init.normal_(self.head.weight, std=0.02)
        bias = torch.zeros(GAUSSIAN_CHANNELS)
        bias[DEPTH] = math.log((1.0 - cfg.near) / (cfg.far - 1.0))  # logit of depth 1 within (near, far)
        bias[SCALE] = -math.log(cfg.max_scale - 1.0)  # a scale of one cell footprint
        bias[ROTATION.start] = 1.0
        bias[OPACITY] = math.log(0.1 / 0.9)
        with torch.no_grad():
            self.head.bias.copy_(bias)

    @property
    def block_kinds(self) -> list[str]:
        """``"transformer"`` / ``"mamba2"`` per block, in order."""
        return ["transformer" if isinstance(b, TransformerBlock) else "mamba2" for b in self.blocks]

    def forward(self, latents: Tensor, plucker_latents: Tensor | None = None) -> Tensor:
        """``latents [B, V, C, L, h, w]`` (+ ``plucker_latents [B, V, 2C, L, h, w]``) -> raw Gaussian channels
        ``[B, V, T, H', W', 14]`` with ``T = 1 + temporal_factor (L - 1)``, ``H' = h * spatial_factor /
        pixels_per_gaussian`` (not activated: see :func:`activate`)."""
        cfg = self.config
        if latents.ndim != 6 or latents.shape[2] != cfg.latent_channels:
            raise ValueError(f"LatentGaussianDecoder: latents must be [B, V, {cfg.latent_channels}, L, h, w], "
                             f"got {tuple(latents.shape)}")
        b, v, c, length, h, w = latents.shape
        if h % cfg.patch or w % cfg.patch:
            raise ValueError(f"LatentGaussianDecoder: latent grid {h}x{w} is not a multiple of patch={cfg.patch}")
        x = self.patchify(latents.reshape(b * v, c, length, h, w))  # [BV, D, L, h/p, w/p]
        if cfg.use_plucker:
            if plucker_latents is None or plucker_latents.shape != (b, v, 2 * c, length, h, w):
                got = None if plucker_latents is None else tuple(plucker_latents.shape)
                raise ValueError(f"LatentGaussianDecoder: plucker_latents must be {(b, v, 2 * c, length, h, w)}, "
                                 f"got {got}")
            e = self.plucker_mlp(plucker_latents.reshape(b * v, 2 * c, length, h, w))
            x = x + self.plucker_patchify(e)
        grid = x.shape[2:]
        tokens = x.reshape(b, v, x.shape[1], -1).permute(0, 1, 3, 2).reshape(b, -1, x.shape[1])  # [B, V*L*hw, D]
        for block in self.blocks:
            tokens = block(tokens)
        tokens = self.norm(tokens)
        x = tokens.reshape(b * v, -1, tokens.shape[-1]).transpose(1, 2).reshape(b * v, -1, *grid)
        out = self.head(x)[:, :, cfg.temporal_factor - 1:]  # the first latent frame holds one frame: its last slot
        return out.reshape(b, v, *out.shape[1:]).permute(0, 1, 3, 4, 5, 2)

    def gaussians(self, raw: Tensor, cameras: Cameras, keep_fraction: float | None = None) -> list[Gaussians]:
        """Raw channels ``[B, V, T, H', W', 14]`` placed with ``cameras`` (batch shape ``[B, V, T]``, at the
        decoded resolution) -> one pruned :class:`Gaussians` per batch element (``keep_fraction``: the
        config's when None)."""
        keep = self.config.keep_fraction if keep_fraction is None else keep_fraction
        act = activate(raw, cameras, self.config)
        b = raw.shape[0]
        flat = {k: t.reshape(b, -1, *t.shape[5:]) for k, t in act.items()}
        return [prune_by_opacity(Gaussians(**{k: t[i] for k, t in flat.items()}), keep) for i in range(b)]


def cell_centres(cameras: Cameras, rows: int, cols: int) -> Tensor:
    """Pixel coordinates ``[rows, cols, 2]`` (x, y) of the centres of a ``rows x cols`` grid of equal cells over
    the image (pixel centres at +0.5 when the grid is the pixel grid)."""
    sx, sy = cameras.width / cols, cameras.height / rows
    ys = (torch.arange(rows, dtype=cameras.dtype, device=cameras.device) + 0.5) * sy
    xs = (torch.arange(cols, dtype=cameras.dtype, device=cameras.device) + 0.5) * sx
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1)


def activate(raw: Tensor, cameras: Cameras, config: GaussianDecoderConfig) -> dict[str, Tensor]:
    """Raw channels ``[..., H', W', 14]`` -> activated Gaussians on the cell rays of ``cameras`` (batch shape
    ``[...]``): ``means [..., H', W', 3]`` (world), ``quats [..., 4]``, ``scales [..., 3]``, ``opacities [...]``,
    ``colors [..., 3]``.

    Depth is z-depth in ``(near, far)`` (sigmoid); the centre sits at ``K^-1 [x, y, 1] * depth`` with
    ``(x, y)`` the cell centre plus up to half a cell of offset (tanh), moved to the world by ``c2w``.
    """
    rows, cols = raw.shape[-3], raw.shape[-2]
    cameras = cameras.to(device=raw.device, dtype=raw.dtype)
    depth = config.near + (config.far - config.near) * torch.sigmoid(raw[..., DEPTH])  # [..., H', W', 1]
    cell = torch.tensor([cameras.width / cols, cameras.height / rows], dtype=raw.dtype, device=raw.device)
    xy = cell_centres(cameras, rows, cols) + 0.5 * cell * torch.tanh(raw[..., OFFSET])
    pix = torch.cat([xy, torch.ones_like(xy[..., :1])], -1)  # [..., H', W', 3]
    k_inv = torch.linalg.inv(cameras.K)[..., None, None, :, :]
    cam = (k_inv @ pix[..., None])[..., 0] * depth
    c2w = cameras.c2w[..., None, None, :, :]
    means = (c2w[..., :3, :3] @ cam[..., None])[..., 0] + c2w[..., :3, 3]
    footprint = depth * cell.mean() / cameras.K[..., 0, 0][..., None, None, None]
    return {"means": means,
            "quats": F.normalize(raw[..., ROTATION], dim=-1, eps=1e-6),
            "scales": footprint * config.max_scale * torch.sigmoid(raw[..., SCALE]),
            "opacities": torch.sigmoid(raw[..., OPACITY]),
            "colors": torch.sigmoid(raw[..., COLOR])}


def prune_by_opacity(gaussians: Gaussians, keep_fraction: float) -> Gaussians:
    """The ``max(1, round(keep_fraction * N))`` most opaque Gaussians (all when ``keep_fraction >= 1``)."""
    if not 0 < keep_fraction <= 1:
        raise ValueError(f"prune_by_opacity: keep_fraction must be in (0, 1], got {keep_fraction}")
    n = len(gaussians)
    if keep_fraction >= 1:
        return gaussians
    k = max(1, round(keep_fraction * n))
    return gaussians[torch.topk(gaussians.opacities, k).indices]


def encode_plucker(vae: nn.Module, cameras: Cameras) -> Tensor:
    """Lyra's camera input: Plücker rays of ``cameras [B, T]`` at full resolution, squashed to [0, 1] by
    ``(tanh + 1) / 2`` (moments are unbounded), encoded by ``vae`` (``encode: [B, T, 3, H, W] -> [B, C, L, h,
    w]``) as two 3-channel halves and concatenated: ``[B, 2C, L, h, w]`` (moment latents first)."""
    from genscene.cameras.plucker import plucker_rays

    rays = (torch.tanh(plucker_rays(cameras, cameras.height, cameras.width).float()) + 1) / 2  # [B, T, 6, H, W]
    return torch.cat([vae.encode(rays[:, :, :3]), vae.encode(rays[:, :, 3:])], dim=1)


__all__ = [
    "GAUSSIAN_CHANNELS",
    "GaussianDecoderConfig",
    "LatentGaussianDecoder",
    "activate",
    "encode_plucker",
    "prune_by_opacity",
]
