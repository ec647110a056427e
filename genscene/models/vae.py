"""The video VAE: ``diffusers.AutoencoderKLWan`` with genscene's tensor conventions.

genscene frames are ``[B, T, 3, H, W]`` in [0, 1]; the Wan VAE takes ``[B, 3, T, H, W]`` in
[-1, 1] and gives latents ``[B, C, T', h, w]`` with ``T' = 1 + (T - 1) / 4`` and ``h = H / 8``
(causal: the first frame is encoded alone, so single images are 1-frame videos).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from genscene.errors import InputError


@dataclass
class VideoVAEConfig:
    """A (small) ``AutoencoderKLWan`` configuration."""

    base_dim: int = 24
    """Channels of the first stage (Wan2.1 uses 96)."""
    z_dim: int = 16
    """Latent channels (Wan2.1: 16)."""
    dim_mult: tuple[int, ...] = (1, 2, 4, 4)
    """Channel multipliers per resolution stage (3 downsamplings: 8x spatial)."""
    num_res_blocks: int = 1
    """Residual blocks per stage (Wan2.1: 2)."""
    temperal_downsample: tuple[bool, ...] = (False, True, True)
    """Which stages halve time (two: 4x temporal). Spelled as diffusers spells it."""


def _require_diffusers():
    try:
        from diffusers import AutoencoderKLWan
    except ImportError as err:  # reported by `genscene doctor` too
        raise ImportError("the video VAE needs diffusers: pip install diffusers") from err
    return AutoencoderKLWan


class VideoVAE(nn.Module):
    """Encode/decode videos with a Wan VAE; also loads full-size Wan2.1 VAE folders (diffusers layout)."""

    def __init__(self, vae: nn.Module):
        super().__init__()
        self.vae = vae

    @classmethod
    def from_config(cls, config: VideoVAEConfig) -> "VideoVAE":
        kwargs = asdict(config)
        kwargs["dim_mult"] = list(kwargs["dim_mult"])
        kwargs["temperal_downsample"] = list(kwargs["temperal_downsample"])
        return cls(_require_diffusers()(**kwargs))

    @classmethod
    def from_pretrained(cls, path: str | Path) -> "VideoVAE":
        """A local diffusers-layout folder (``config.json`` + safetensors); never unpickles."""
        path = Path(path)
        if not (path / "config.json").is_file():
            raise InputError(path, "not a VAE folder: config.json is missing")
        vae = _require_diffusers().from_pretrained(path, use_safetensors=True, local_files_only=True,
                                                   torch_dtype=torch.float32)
        return cls(vae)

    def save_pretrained(self, path: str | Path, dtype: torch.dtype | None = None) -> None:
        """diffusers layout, written atomically; ``dtype`` (e.g. fp16) shrinks the shipped file."""
        import copy

        from genscene.atomic import atomic_path

        vae = self.vae if dtype is None else copy.deepcopy(self.vae).to(dtype)
        with atomic_path(Path(path), directory=True) as tmp:
            vae.save_pretrained(tmp, safe_serialization=True)

    @property
    def spatial_factor(self) -> int:
        return 2 ** (len(self.vae.config.dim_mult) - 1)

    @property
    def temporal_factor(self) -> int:
        return 2 ** sum(self.vae.config.temperal_downsample)

    def _check(self, frames: Tensor) -> None:
        if frames.ndim != 5 or frames.shape[2] != 3:
            raise ValueError(f"VideoVAE: frames must be [B, T, 3, H, W], got {tuple(frames.shape)}")
        t, h, w = frames.shape[1], frames.shape[3], frames.shape[4]
        if (t - 1) % self.temporal_factor:
            raise ValueError(f"VideoVAE: T={t} frames; the causal VAE needs T = 1 + {self.temporal_factor}k")
        if h % self.spatial_factor or w % self.spatial_factor:
            raise ValueError(f"VideoVAE: {h}x{w} is not a multiple of {self.spatial_factor}")

    def posterior(self, frames: Tensor):
        """The diagonal-Gaussian posterior of ``frames`` ``[B, T, 3, H, W]``."""
        self._check(frames)
        x = frames.permute(0, 2, 1, 3, 4) * 2 - 1  # [B, 3, T, H, W] in [-1, 1]
        return self.vae.encode(x).latent_dist

    def encode(self, frames: Tensor, sample: bool = False, generator: torch.Generator | None = None) -> Tensor:
        """``[B, T, 3, H, W]`` in [0, 1] -> latents ``[B, C, T', h, w]`` (mean, or a sample)."""
        dist = self.posterior(frames)
        return dist.sample(generator) if sample else dist.mode()

    def decode(self, latents: Tensor) -> Tensor:
        """Latents ``[B, C, T', h, w]`` -> frames ``[B, T, 3, H, W]`` (in [0, 1]: the Wan decoder clamps)."""
        x = self.vae.decode(latents).sample  # [B, 3, T, H, W] in about [-1, 1]
        return (x.permute(0, 2, 1, 3, 4) + 1) / 2

    def forward(self, frames: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """Reconstruct ``frames`` through a sampled latent; returns (reconstruction, KL per sample)."""
        dist = self.posterior(frames)
        recon = self.decode(dist.sample(generator))
        return recon, dist.kl().reshape(frames.shape[0], -1).mean(-1)
