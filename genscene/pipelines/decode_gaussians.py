"""Route 2 of ``photo_to_scene``: clips along V trajectories -> 3D Gaussians in one forward pass (Lyra).

The clips' frames are encoded by the video VAE, their cameras by the VAE as Plücker maps, and the latent
Gaussian decoder (:class:`~genscene.models.gaussian_decoder.LatentGaussianDecoder`) turns both into pixel-aligned
Gaussians on the input cameras' rays, pruned by opacity. The decoder works at the side it was trained at
(``config.image_size``): clips of another size are resized to it first, and the Gaussians, which live in the
world, render at any size. Lyra decodes the generator's own latents; here the frames are re-encoded, since the
generator's clips come back decoded (a 128 px clip costs the VAE well under a second on the CPU).
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genscene.cameras.cameras import Cameras
from genscene.geometry.gaussians import Gaussians
from genscene.models.gaussian_decoder import LatentGaussianDecoder, encode_plucker


def decoder_input_size(decoder: LatentGaussianDecoder, size: int) -> int:
    """The side clips of side ``size`` are decoded at: the decoder's training side, or ``size`` when unknown."""
    return decoder.config.image_size or size


@torch.no_grad()
def decode_gaussians(frames: Tensor, cameras: Cameras, vae: nn.Module, decoder: LatentGaussianDecoder,
                     keep_fraction: float | None = None) -> tuple[Gaussians, dict[str, float]]:
    """Clips ``frames [V, T, 3, S, S]`` in [0, 1] seen from ``cameras [V, T]`` (one scene frame and unit) ->
    Gaussians (CPU, float32) and stats: ``gaussians``, ``decoded`` (before pruning), ``size`` (the decoder's
    side) and ``seconds``. ``T`` must be ``1 + 4k`` (the VAE's frame counts)."""
    if frames.ndim != 5 or frames.shape[:2] != cameras.batch_shape:
        raise ValueError(f"decode_gaussians: frames [V, T, 3, S, S] must match cameras {tuple(cameras.batch_shape)}, "
                         f"got {tuple(frames.shape)}")
    start = time.perf_counter()
    v, t, _, height, width = frames.shape
    side = decoder_input_size(decoder, height)
    if (height, width) != (side, side):
        frames = F.interpolate(frames.reshape(v * t, 3, height, width).float(), size=(side, side), mode="area")
        frames = frames.reshape(v, t, 3, side, side)
        cameras = cameras.resize(side, side)
    cameras = cameras.to(dtype=torch.float32)
    latents = vae.encode(frames.float())  # [V, C, L, h, w]
    plucker = encode_plucker(vae, cameras)  # [V, 2C, L, h, w]
    raw = decoder(latents[None], plucker[None])  # [1, V, T, H', W', 14]
    gaussians = decoder.gaussians(raw, Cameras(cameras.K[None], cameras.w2c[None], side, side), keep_fraction)[0]
    stats = {"gaussians": len(gaussians), "decoded": int(raw[..., 0].numel()), "size": side,
             "seconds": time.perf_counter() - start}
    return gaussians.to(device="cpu", dtype=torch.float32), stats


__all__ = ["decode_gaussians", "decoder_input_size"]
