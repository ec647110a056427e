"""The camera-controlled latent video generator (the GEN3C / Gen3R / Wan-Fun camera-control core).

A small ``diffusers.WanTransformer3DModel`` predicts the flow-matching velocity ``v`` of noisy video
latents ``[B, C, T', h, w]`` (the VAE's layout: ``T' = 1 + (T - 1) / 4``, ``h = H / 8``). It is
conditioned, all optional and each switchable in the config:

* **image** (Wan I2V): the first frame's latent (optionally the last frame's too) and a 4-channel
  frame mask, concatenated to the noisy latent along channels;
* **cache** (GEN3C): the VAE latent of the 3D cache rendered along the target cameras and its
  4-channel mask, concatenated the same way;
* **camera** (Wan-Fun camera control): per-pixel Plücker rays, folded to the latent grid by a small
  encoder and added to the transformer's patch embedding.

There is no text encoder: a learned null context (a few tokens) fills the cross-attention.
Every condition can be dropped per sample for classifier-free guidance.

Channel order into the transformer (Wan I2V's, mask before latent):
``[noisy (C), image_mask (4), image_latent (C), cache_mask (4), cache_latent (C)]``, the image and
cache groups present only when switched on.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genscene.models.base import PretrainedModel
from genscene.models.epipolar_attention import EpipolarAttnProcessor, full_attention

ROPE_MAX_SEQ_LEN = 1024
"""Positions the transformer's rotary embedding covers per axis (latent frames, rows, columns after
patching). Wan's own value; its tables are non-persistent buffers, so it never reaches a checkpoint."""

MASK_CHANNELS = 4
"""Channels of a folded frame mask (Wan I2V: the VAE's temporal factor)."""


@dataclass
class GeneratorConfig:
    """Architecture and conditioning of :class:`VideoGenerator`."""

    latent_channels: int = 16
    """Channels ``C`` of the video VAE's latents (Wan2.1: 16)."""
    num_layers: int = 6
    """Transformer blocks."""
    num_attention_heads: int = 4
    """Attention heads per block."""
    attention_head_dim: int = 48
    """Channels per head; the transformer's width is ``num_attention_heads * attention_head_dim``.
    Wan's rotary embedding splits a head into (time, rows, columns) parts of ``d - 4(d//6)``,
    ``2(d//6)``, ``2(d//6)`` channels, so keep it a multiple of 6 (48: 16/16/16)."""
    ffn_dim: int = 512
    """Hidden width of each block's feed-forward network."""
    patch_size: tuple[int, int, int] = (1, 2, 2)
    """Latent cells per token along (time, rows, columns); ``T'``, ``h``, ``w`` must be multiples."""
    text_dim: int = 64
    """Width of the context tokens fed to the cross-attention (here the learned null context)."""
    null_context_tokens: int = 4
    """Tokens of the learned null context that replaces the text encoder."""
    use_image: bool = True
    """Condition on given frames (Wan I2V channel concatenation of ``image_latent`` + ``image_mask``)."""
    use_cache: bool = True
    """Condition on the rendered 3D cache (channel concatenation of ``cache_latent`` + ``cache_mask``)."""
    use_camera: bool = True
    """Condition on Plücker rays through the camera encoder added to the patch embedding."""
    camera_channels: int = 64
    """Hidden width of the camera encoder."""
    temporal_factor: int = 4
    """Frames per latent frame of the VAE (``T = 1 + temporal_factor * (T' - 1)``)."""
    spatial_factor: int = 8
    """Pixels per latent cell side of the VAE (``H = spatial_factor * h``)."""
    latent_mean: tuple[float, ...] = ()
    """Per-channel mean of the VAE latents (set by the trainer from the data); empty: 0."""
    latent_std: tuple[float, ...] = ()
    """Per-channel standard deviation of the VAE latents (set with ``latent_mean``); empty: 1."""
    flow_shift: float = 3.0
    """Time shift of the flow-matching schedule the model was trained with (its sampler uses the same)."""
    use_epipolar: bool = False
    """SpatialCrafter's epipolar attention: self-attention across latent frames restricted to epipolar lines
    (:mod:`genscene.models.epipolar_attention`); needs an ``epipolar_mask`` per call. Off until it is shown to
    pay for itself."""
    epipolar_threshold: float = 1.0
    """Token cells from the epipolar line within which a token of another latent frame is attended."""


def _latent_stats(config: GeneratorConfig, like: Tensor) -> tuple[Tensor, Tensor] | None:
    """Per-channel ``(mean, std)`` as ``[1, C, 1, 1, 1]`` tensors like ``like``; None without stats."""
    if not config.latent_mean and not config.latent_std:
        return None
    n = config.latent_channels
    mean = torch.tensor(config.latent_mean or [0.0] * n, dtype=like.dtype, device=like.device)
    std = torch.tensor(config.latent_std or [1.0] * n, dtype=like.dtype, device=like.device)
    return mean.view(1, n, 1, 1, 1), std.view(1, n, 1, 1, 1)


def normalize_latents(latents: Tensor, config: GeneratorConfig) -> Tensor:
    """VAE latents ``[B, C, T', h, w]`` -> ``(latents - mean) / std`` with ``config``'s per-channel stats."""
    stats = _latent_stats(config, latents)
    return latents if stats is None else (latents - stats[0]) / stats[1]


def denormalize_latents(latents: Tensor, config: GeneratorConfig) -> Tensor:
    """Inverse of :func:`normalize_latents`."""
    stats = _latent_stats(config, latents)
    return latents if stats is None else latents * stats[1] + stats[0]


def fold_frame_mask(mask: Tensor, temporal_factor: int = 4) -> Tensor:
    """Per-frame mask ``[B, T, h, w]`` -> Wan I2V's latent-frame mask ``[B, 4, T', h, w]``.

    ``T = 1 + temporal_factor * (T' - 1)``; 1 = known / given, 0 = to generate. As diffusers'
    ``WanImageToVideoPipeline.prepare_latents``: the first frame's mask is repeated
    ``temporal_factor`` times (the causal VAE encodes frame 0 alone), then each group of
    ``temporal_factor`` frames becomes the channels of one latent frame. The output has
    ``temporal_factor`` channels (4 for Wan).
    """
    if mask.ndim != 4:
        raise ValueError(f"fold_frame_mask: mask must be [B, T, h, w], got {tuple(mask.shape)}")
    b, t, h, w = mask.shape
    if (t - 1) % temporal_factor:
        raise ValueError(f"fold_frame_mask: T={t} frames; needs T = 1 + {temporal_factor}k")
    full = torch.cat([mask[:, :1].repeat_interleave(temporal_factor, dim=1), mask[:, 1:]], dim=1)
    return full.reshape(b, -1, temporal_factor, h, w).transpose(1, 2)  # [B, tf, T', h, w]


def fold_camera_frames(plucker: Tensor, temporal_factor: int = 4) -> Tensor:
    """Plücker rays ``[B, 6, T, H, W]`` -> ``[B, 6 * tf, T', H, W]`` (Wan-Fun camera control's fold).

    The first frame is repeated ``tf`` times (as the causal VAE's first latent frame), then each
    group of ``tf`` frames is stacked into channels, channel ``c * tf + k`` holding ray channel ``c``
    of the group's frame ``k`` (VideoX-Fun's ``view(b, f//4, 4, c, h, w).transpose(2, 3)``).
    """
    b, c, t, hh, ww = plucker.shape
    if (t - 1) % temporal_factor:
        raise ValueError(f"VideoGenerator: plucker has T={t} frames; needs T = 1 + {temporal_factor}k")
    full = torch.cat([plucker[:, :, :1].repeat_interleave(temporal_factor, dim=2), plucker[:, :, 1:]], dim=2)
    grouped = full.reshape(b, c, -1, temporal_factor, hh, ww)  # [B, 6, T', tf, H, W]
    return grouped.transpose(2, 3).reshape(b, c * temporal_factor, -1, hh, ww)


class CameraEncoder(nn.Module):
    """Plücker rays ``[B, 6, T, H, W]`` -> features ``[B, inner, T', h/p_h, w/p_w]`` on the patch grid.

    Fold time (:func:`fold_camera_frames`), pixel-unshuffle each latent frame to the latent grid
    (``[B, 6*tf*sf^2, T', h, w]``), then a 1x1x1 conv -> SiLU -> a conv with the patch size as kernel
    and stride. The last conv starts at zero, so a fresh encoder adds nothing.
    """

    def __init__(self, inner_dim: int, hidden: int, patch_size: tuple[int, int, int],
                 temporal_factor: int, spatial_factor: int):
        super().__init__()
        self.temporal_factor, self.spatial_factor = temporal_factor, spatial_factor
        in_channels = 6 * temporal_factor * spatial_factor**2
        self.proj_in = nn.Conv3d(in_channels, hidden, kernel_size=1)
        self.act = nn.SiLU()
        self.proj_out = nn.Conv3d(hidden, inner_dim, kernel_size=patch_size, stride=patch_size)
        nn.init.zeros_(self.proj_out.weight)
        nn.init.zeros_(self.proj_out.bias)

    def forward(self, plucker: Tensor) -> Tensor:
        x = fold_camera_frames(plucker, self.temporal_factor)  # [B, 6tf, T', H, W]
        x = F.pixel_unshuffle(x.transpose(1, 2), self.spatial_factor).transpose(1, 2)  # [B, 6tf*sf^2, T', h, w]
        return self.proj_out(self.act(self.proj_in(x)))


class VideoGenerator(PretrainedModel):
    """Noisy latents + conditions -> velocity ``v`` ``[B, C, T', h, w]`` (a small Wan transformer)."""

    config_class = GeneratorConfig

    def __init__(self, config: GeneratorConfig):
        super().__init__(config)
        try:
            from diffusers import WanTransformer3DModel
        except ImportError as err:
            raise ImportError("the video generator needs diffusers: pip install diffusers") from err
        c = config
        if len(c.patch_size) != 3:
            raise ValueError(f"GeneratorConfig.patch_size: expected 3 items, got {c.patch_size}")
        for name in ("latent_mean", "latent_std"):
            if len(getattr(c, name)) not in (0, c.latent_channels):
                raise ValueError(f"GeneratorConfig.{name}: {len(getattr(c, name))} values for "
                                 f"{c.latent_channels} latent channels (or none)")
        cond = c.latent_channels + MASK_CHANNELS
        in_channels = c.latent_channels + cond * c.use_image + cond * c.use_cache
        self.transformer = WanTransformer3DModel(
            patch_size=tuple(c.patch_size), num_attention_heads=c.num_attention_heads,
            attention_head_dim=c.attention_head_dim, in_channels=in_channels,
            out_channels=c.latent_channels, text_dim=c.text_dim, ffn_dim=c.ffn_dim,
            num_layers=c.num_layers, cross_attn_norm=True, image_dim=None, added_kv_proj_dim=None,
            rope_max_seq_len=ROPE_MAX_SEQ_LEN,
        )
        self.inner_dim = c.num_attention_heads * c.attention_head_dim
        self.null_context = nn.Parameter(torch.randn(c.null_context_tokens, c.text_dim))  # [N, text_dim]
        self.camera_encoder = None
        self._camera_features: Tensor | None = None
        if c.use_camera:
            self.camera_encoder = CameraEncoder(self.inner_dim, c.camera_channels, tuple(c.patch_size),
                                                c.temporal_factor, c.spatial_factor)
            # The camera features are added to the patch embedding's output by a forward hook:
            # WanTransformer3DModel.forward calls patch_embedding exactly once, on the whole input,
            # before flattening to tokens, so the hook sees the [B, inner, T', h/p, w/p] grid the
            # encoder produces. Re-implementing the transformer's forward from its submodules
            # instead would copy ~40 lines of diffusers (rope, timestep projection, unpatchify)
            # that change between versions; the hook depends only on that one call.
            self.transformer.patch_embedding.register_forward_hook(self._add_camera_features)
        self._epipolar: list[EpipolarAttnProcessor] = []
        if c.use_epipolar:
            for block in self.transformer.blocks:
                block.attn1.set_processor(EpipolarAttnProcessor())
                self._epipolar.append(block.attn1.processor)

    # -- latent normalisation ------------------------------------------------------------------

    def normalize_latents(self, latents: Tensor) -> Tensor:
        """VAE latents ``[B, C, T', h, w]`` -> ``(latents - mean) / std`` per channel (identity without stats)."""
        return normalize_latents(latents, self.config)

    def denormalize_latents(self, latents: Tensor) -> Tensor:
        """Inverse of :meth:`normalize_latents`: ``latents * std + mean``, ``[B, C, T', h, w]``."""
        return denormalize_latents(latents, self.config)

    # -- forward -------------------------------------------------------------------------------

    def _add_camera_features(self, module: nn.Module, inputs, output: Tensor) -> Tensor | None:
        features = self._camera_features
        if features is None:
            return None
        if features.shape != output.shape:
            raise RuntimeError(f"VideoGenerator: camera features {tuple(features.shape)} do not match the "
                               f"patch embedding {tuple(output.shape)}")
        return output + features.to(output.dtype)

    @staticmethod
    def _keep(drop: Tensor | None, b: int, like: Tensor, name: str) -> Tensor | None:
        """``drop`` [B] bool -> keep factor ``[B, 1, 1, 1, 1]`` (1 kept, 0 dropped), None if none dropped."""
        if drop is None:
            return None
        drop = torch.as_tensor(drop, device=like.device)
        if drop.shape != (b,):
            raise ValueError(f"VideoGenerator: {name} must be a bool tensor [B={b}], got {tuple(drop.shape)}")
        return (~drop.bool()).to(like.dtype).view(b, 1, 1, 1, 1)

    def _condition(self, name: str, latent: Tensor | None, mask: Tensor | None, drop: Tensor | None,
                   noisy: Tensor) -> Tensor:
        """``[mask (4), latent (C)]`` of one concatenated condition, zeros where absent or dropped."""
        b, c, t, h, w = noisy.shape
        if (latent is None) != (mask is None):
            raise ValueError(f"VideoGenerator: give {name}_latent and {name}_mask together")
        if latent is None:
            return noisy.new_zeros(b, MASK_CHANNELS + c, t, h, w)
        if latent.shape != noisy.shape:
            raise ValueError(f"VideoGenerator: {name}_latent must be {tuple(noisy.shape)}, got {tuple(latent.shape)}")
        if mask.shape != (b, MASK_CHANNELS, t, h, w):
            raise ValueError(f"VideoGenerator: {name}_mask must be {(b, MASK_CHANNELS, t, h, w)}, "
                             f"got {tuple(mask.shape)}")
        cond = torch.cat([mask.to(noisy.dtype), latent.to(noisy.dtype)], dim=1)
        keep = self._keep(drop, b, noisy, f"drop_{name}")
        return cond if keep is None else cond * keep

    def forward(
        self,
        noisy: Tensor,
        timestep: Tensor,
        image_latent: Tensor | None = None,
        image_mask: Tensor | None = None,
        cache_latent: Tensor | None = None,
        cache_mask: Tensor | None = None,
        plucker: Tensor | None = None,
        drop_image: Tensor | None = None,
        drop_cache: Tensor | None = None,
        drop_camera: Tensor | None = None,
        epipolar_mask: Tensor | None = None,
    ) -> Tensor:
        """Predict the velocity of ``noisy``.

        Args:
            noisy: noisy (normalised) latents ``[B, C, T', h, w]``; ``T'``, ``h``, ``w`` multiples of
                ``patch_size``.
            timestep: ``[B]`` float diffusion time in 0..1000.
            image_latent: ``[B, C, T', h, w]``: the first frame's latent in latent frame 0 (optionally
                the last frame's in the last latent frame), zeros elsewhere. Needs ``use_image``.
            image_mask: ``[B, 4, T', h, w]`` (:func:`fold_frame_mask`; 1 = given, 0 = to generate).
            cache_latent: ``[B, C, T', h, w]``: the VAE latent of the 3D-cache render. Needs ``use_cache``.
            cache_mask: ``[B, 4, T', h, w]``: where the render is valid (:func:`fold_frame_mask` of
                per-pixel masks at latent resolution).
            plucker: ``[B, 6, T, H, W]`` Plücker rays (moment, direction) of the cameras relative to
                frame 0 at pixel resolution, ``T = 1 + tf (T' - 1)``, ``H = sf h``. Needs ``use_camera``.
            drop_image, drop_cache, drop_camera: ``[B]`` bool: drop that condition for these samples
                (classifier-free guidance): image / cache latent and mask are zeroed, camera features
                multiplied by 0. An enabled condition given as None is dropped for all samples.
            epipolar_mask: ``[B, 1, N, N]`` bool over the ``N`` tokens
                (:func:`~genscene.models.epipolar_attention.token_epipolar_mask`); needs ``use_epipolar``;
                samples with ``drop_camera`` attend fully; None: full attention for all.

        Returns:
            ``v`` ``[B, C, T', h, w]``.
        """
        c = self.config
        if noisy.ndim != 5 or noisy.shape[1] != c.latent_channels:
            raise ValueError(f"VideoGenerator: noisy must be [B, {c.latent_channels}, T', h, w], "
                             f"got {tuple(noisy.shape)}")
        b, _, t, h, w = noisy.shape
        pt, ph, pw = c.patch_size
        if t % pt or h % ph or w % pw:
            raise ValueError(f"VideoGenerator: latent grid {t}x{h}x{w} is not a multiple of the patch size "
                             f"{c.patch_size}")
        for switch, names, given in (
            ("use_image", "image_latent/image_mask/drop_image", (image_latent, image_mask, drop_image)),
            ("use_cache", "cache_latent/cache_mask/drop_cache", (cache_latent, cache_mask, drop_cache)),
            ("use_camera", "plucker/drop_camera", (plucker, drop_camera)),
            ("use_epipolar", "epipolar_mask", (epipolar_mask,)),
        ):
            if not getattr(c, switch) and any(x is not None for x in given):
                raise ValueError(f"VideoGenerator: {names} given but the config has {switch}=False")
        timestep = torch.as_tensor(timestep, device=noisy.device)
        if timestep.ndim == 0:
            timestep = timestep.expand(b)
        if timestep.shape != (b,):
            raise ValueError(f"VideoGenerator: timestep must be [B={b}], got {tuple(timestep.shape)}")

        parts = [noisy]
        if c.use_image:
            parts.append(self._condition("image", image_latent, image_mask, drop_image, noisy))
        if c.use_cache:
            parts.append(self._condition("cache", cache_latent, cache_mask, drop_cache, noisy))
        x = torch.cat(parts, dim=1)  # [B, in_channels, T', h, w]

        features = None
        if plucker is not None:
            want = (b, 6, 1 + c.temporal_factor * (t - 1), h * c.spatial_factor, w * c.spatial_factor)
            if tuple(plucker.shape) != want:
                raise ValueError(f"VideoGenerator: plucker must be {want}, got {tuple(plucker.shape)}")
            features = self.camera_encoder(plucker.to(noisy.dtype))  # [B, inner, T'/pt, h/ph, w/pw]
            keep = self._keep(drop_camera, b, features, "drop_camera")
            if keep is not None:
                features = features * keep

        context = self.null_context.to(noisy.dtype).unsqueeze(0).expand(b, -1, -1)  # [B, N, text_dim]
        self._camera_features = features
        mask = None if epipolar_mask is None else full_attention(epipolar_mask, drop_camera)
        for processor in self._epipolar:
            processor.mask = mask
        try:
            out = self.transformer(x, timestep, context, return_dict=False)[0]
        finally:
            self._camera_features = None
            for processor in self._epipolar:
                processor.mask = None
        return out
