"""``generate``: one image (+ its depth) and a camera path -> a camera-controlled video (GEN3C / Gen3R core).

The path is relative to frame 0 in units of frame 0's median depth (the trajectory presets' unit),
so no metric scale is needed. Steps: frame 0 is unprojected with its (unit-median) depth into GEN3C's
3D cache and rendered into every camera; the first frame (and optionally the last) and the cache
render are VAE-encoded; Plücker rays of the cameras condition the transformer; the flow-matching
sampler integrates from seeded noise with classifier-free guidance over the image/cache and camera
conditions; the VAE decodes. Every tensor stays on the generator's device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genscene.cameras.cameras import Cameras
from genscene.cameras.plucker import plucker_rays
from genscene.diffusion.flow_matching import FlowMatchingConfig, guided_velocity_multi, sample
from genscene.geometry.projection import median_depth
from genscene.models.epipolar_attention import token_epipolar_mask
from genscene.models.generator import VideoGenerator, fold_frame_mask
from genscene.render.point_cache import PointCache

CONDITIONS = ("image", "cache", "camera")


@dataclass
class GenerateConfig:
    """How a clip is sampled."""

    steps: int = 20
    """Sampler steps (flow-matching Euler)."""
    guidance: float = 2.0
    """Classifier-free guidance scale over the image and 3D-cache conditions (1 = none)."""
    camera_guidance: float = 1.0
    """Guidance scale over the camera condition (1 = none)."""
    seed: int = 0
    """Seed of the initial noise."""
    withhold: tuple[str, ...] = ()
    """Conditions withheld from the model (``image``, ``cache``, ``camera``): ablations from the one code path.
    The generator was trained dropping ``camera`` alone and ``image`` + ``cache`` together; other sets are
    outside what it saw."""

    def __post_init__(self) -> None:
        unknown = set(self.withhold) - set(CONDITIONS)
        if unknown:
            raise ValueError(f"GenerateConfig.withhold: unknown conditions {sorted(unknown)} (of {CONDITIONS})")


@dataclass
class GenerationInputs:
    """The model's conditions for ``B`` clips (normalised latents)."""

    image_latent: Tensor | None
    """``[B, C, T', h, w]``: frame 0's latent in latent frame 0 (and the last frame's in the last)."""
    image_mask: Tensor | None
    """``[B, 4, T', h, w]``: 1 where a frame is given."""
    cache_latent: Tensor | None
    """``[B, C, T', h, w]``: latents of the cache render."""
    cache_mask: Tensor | None
    """``[B, 4, T', h, w]``: covered fraction of each latent cell."""
    plucker: Tensor | None
    """``[B, 6, T, H, W]``: Plücker rays of the cameras (frame 0 at the identity)."""
    epipolar_mask: Tensor | None = None
    """``[B, 1, N, N]`` bool: the epipolar attention mask over the tokens (models with ``use_epipolar``)."""

    def kwargs(self) -> dict[str, Tensor | None]:
        out = {"image_latent": self.image_latent, "image_mask": self.image_mask, "cache_latent": self.cache_latent,
               "cache_mask": self.cache_mask, "plucker": self.plucker}
        if self.epipolar_mask is not None:
            out["epipolar_mask"] = self.epipolar_mask
        return out


def relative_unit_cameras(cameras: Cameras, depth0: Tensor) -> Cameras:
    """``cameras [T]`` relative to frame 0 and scaled so that frame 0's median valid depth ``depth0 [H, W]``
    is 1 (the unit the trajectory presets and the generator use)."""
    return cameras.relative_to_first().scale_world(1.0 / median_depth(depth0))


def unit_depth(depth: Tensor) -> Tensor:
    """A depth map ``[H, W]`` scaled to median 1 over its valid pixels (network depth has no scale)."""
    return depth / median_depth(depth)


def render_cache(rgb0: Tensor, depth0: Tensor, cameras: Cameras) -> tuple[Tensor, Tensor]:
    """Frame 0 (``rgb0 [3, H, W]``, ``depth0 [H, W]`` in units of its median) splatted into cameras ``[T]``
    (``cameras[0]`` is frame 0's): warped frames ``[T, 3, H, W]`` (0 where unknown), disocclusion ``[T, H, W]``."""
    cameras = cameras.to("cpu")
    cache = PointCache.from_depth(rgb0[None].cpu(), depth0[None].cpu(), cameras[:1])
    out = cache.render(cameras)
    return out.rgb.float(), out.mask


def covered_fraction(mask: Tensor, factor: int) -> Tensor:
    """Disocclusion masks ``[..., T, H, W]`` (True = unknown) -> covered fraction per latent cell ``[..., T, h, w]``."""
    lead = mask.shape[:-2]
    pooled = F.avg_pool2d(mask.float().reshape(-1, 1, *mask.shape[-2:]), factor)
    return 1 - pooled.reshape(*lead, *pooled.shape[-2:])


def frame_mask(batch: int, frames: int, h: int, w: int, last: Tensor | None = None) -> Tensor:
    """``[B, T, h, w]``: 1 on frame 0, and on the last frame for the samples where ``last [B]`` is True."""
    mask = torch.zeros(batch, frames, h, w)
    mask[:, 0] = 1
    if last is not None:
        mask[:, -1] = last.float()[:, None, None].cpu()
    return mask


def place_image_latents(first: Tensor, latent_frames: int, last: Tensor | None = None,
                        use_last: Tensor | None = None) -> Tensor:
    """``first [B, C, 1, h, w]`` (and ``last [B, C, 1, h, w]`` where ``use_last [B]``) placed in a zero
    latent video ``[B, C, T', h, w]`` at latent frames 0 and ``T' - 1``."""
    out = torch.zeros(first.shape[0], first.shape[1], latent_frames, *first.shape[-2:], dtype=first.dtype,
                      device=first.device)
    out[:, :, :1] = first
    if last is not None and use_last is not None:
        keep = use_last.to(first.device)[:, None, None, None]
        out[:, :, -1] = torch.where(keep, last[:, :, 0], out[:, :, -1])
    return out


def plucker_video(cameras: Cameras) -> Tensor:
    """Plücker rays ``[B, 6, T, H, W]`` of cameras ``[B, T]`` at their pixel resolution."""
    return plucker_rays(cameras, cameras.height, cameras.width).movedim(-3, -4).float()


def model_epipolar_mask(model: VideoGenerator, cameras: Cameras) -> Tensor | None:
    """The epipolar attention mask ``[B, 1, N, N]`` of cameras ``[B, T]`` on ``model``'s token grid (None
    unless the model uses epipolar attention)."""
    cfg = model.config
    if not cfg.use_epipolar:
        return None
    _, ph, pw = cfg.patch_size
    token_h, token_w = cameras.height // (cfg.spatial_factor * ph), cameras.width // (cfg.spatial_factor * pw)
    mask = token_epipolar_mask(cameras, cfg.temporal_factor, token_h, token_w, cfg.epipolar_threshold)
    return mask.to(next(model.parameters()).device)


@torch.no_grad()
def condition_inputs(model: VideoGenerator, vae: nn.Module, rgb0: Tensor, depth0: Tensor, cameras: Cameras,
                     last_rgb: Tensor | None = None) -> tuple[GenerationInputs, Tensor, Tensor]:
    """The conditions of one clip: ``rgb0 [3, H, W]``, unit ``depth0 [H, W]``, ``cameras [T]`` (frame 0 at
    the identity, unit = median depth), optional ``last_rgb [3, H, W]``. Returns the inputs (batch 1)
    and the cache render ``[T, 3, H, W]`` with its disocclusion mask ``[T, H, W]`` for previews."""
    cfg = model.config
    device = next(model.parameters()).device
    t = cameras.batch_shape[0]
    warped, mask = render_cache(rgb0, depth0, cameras)
    latent_frames = 1 + (t - 1) // cfg.temporal_factor
    h, w = rgb0.shape[-2] // cfg.spatial_factor, rgb0.shape[-1] // cfg.spatial_factor
    image_latent = image_mask = cache_latent = cache_mask = plucker = None
    if cfg.use_image:
        first = model.normalize_latents(vae.encode(rgb0[None, None].to(device)))
        use_last = None if last_rgb is None else torch.ones(1, dtype=torch.bool)
        last = None if last_rgb is None else model.normalize_latents(vae.encode(last_rgb[None, None].to(device)))
        image_latent = place_image_latents(first, latent_frames, last, use_last)
        image_mask = fold_frame_mask(frame_mask(1, t, h, w, use_last), cfg.temporal_factor).to(device)
    if cfg.use_cache:
        cache_latent = model.normalize_latents(vae.encode(warped[None].to(device)))
        cache_mask = fold_frame_mask(covered_fraction(mask, cfg.spatial_factor)[None], cfg.temporal_factor).to(device)
    if cfg.use_camera:
        plucker = plucker_video(cameras.reshape(1, t).to(device))
    inputs = GenerationInputs(image_latent, image_mask, cache_latent, cache_mask, plucker,
                              model_epipolar_mask(model, cameras.reshape(1, t)))
    return inputs, warped, mask


@torch.no_grad()
def sample_latents(model: VideoGenerator, inputs: GenerationInputs, shape: tuple[int, ...], cfg: GenerateConfig,
                   progress: Callable[[int, int], None] | None = None) -> Tensor:
    """Sample normalised latents ``shape = [B, C, T', h, w]`` under ``inputs`` with guidance (see
    :func:`~genscene.diffusion.flow_matching.guided_velocity_multi`): group a = image + cache, group b = camera."""
    device = next(model.parameters()).device
    b = shape[0]
    withheld = {name: name in cfg.withhold for name in CONDITIONS}
    enabled = [name for name in CONDITIONS if getattr(model.config, f"use_{name}")]

    def drops(**dropped: bool) -> dict[str, Tensor]:
        return {f"drop_{name}": torch.full((b,), withheld[name] or dropped.get(name, False), device=device)
                for name in enabled}

    has_a = (inputs.image_latent is not None and not withheld["image"]) or \
        (inputs.cache_latent is not None and not withheld["cache"])
    guide_a = cfg.guidance != 1.0 and has_a
    guide_b = cfg.camera_guidance != 1.0 and inputs.plucker is not None and not withheld["camera"]

    def velocity(x: Tensor, timestep: Tensor) -> Tensor:
        full = model(x, timestep, **inputs.kwargs(), **drops())
        if not (guide_a or guide_b):
            return full
        drop_a = model(x, timestep, **inputs.kwargs(), **drops(image=True, cache=True)) if guide_a else full
        none = model(x, timestep, **inputs.kwargs(), **drops(image=True, cache=True, camera=True)) \
            if guide_b else drop_a
        return guided_velocity_multi(full, drop_a, none, cfg.guidance, cfg.camera_guidance)

    gen = torch.Generator(device="cpu").manual_seed(cfg.seed)
    return sample(velocity, shape, cfg.steps, gen, FlowMatchingConfig(shift=model.config.flow_shift),
                  device, progress=progress)


@torch.no_grad()
def generate_video(model: VideoGenerator, vae: nn.Module, rgb0: Tensor, depth0: Tensor, cameras: Cameras,
                   cfg: GenerateConfig | None = None, last_rgb: Tensor | None = None,
                   progress: Callable[[int, int], None] | None = None) -> dict[str, Tensor]:
    """Generate the clip seen by ``cameras [T]`` from ``rgb0 [3, H, W]`` (see :func:`condition_inputs`).

    Returns ``frames [T, 3, H, W]`` in [0, 1], ``cache_rgb [T, 3, H, W]`` and ``cache_mask [T, H, W]``
    (the 3D-cache render the generator saw; True = disoccluded), all on the CPU.
    """
    cfg = cfg or GenerateConfig()
    inputs, warped, mask = condition_inputs(model, vae, rgb0, depth0, cameras, last_rgb)
    t, (h, w) = cameras.batch_shape[0], rgb0.shape[-2:]
    mc = model.config
    shape = (1, mc.latent_channels, 1 + (t - 1) // mc.temporal_factor, h // mc.spatial_factor, w // mc.spatial_factor)
    latents = sample_latents(model, inputs, shape, cfg, progress)
    frames = vae.decode(model.denormalize_latents(latents))[0].clamp(0, 1).cpu()
    return {"frames": frames, "cache_rgb": warped, "cache_mask": mask}
