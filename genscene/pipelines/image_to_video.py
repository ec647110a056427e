"""``image_to_video`` / ``interpolate_views``: one photo and a relative camera path (or two photos) -> a generated clip.

The geometry net gives frame 0's depth and field of view; the path (frame 0 at the identity, unit =
frame 0's median depth, as the trajectory presets are) gives the commanded cameras; the generator
(:func:`genscene.pipelines.generate.generate_video`) makes the frames; the geometry net, run on the
generated frames, gives their depth, aligned to the commanded scale by frame 0's median depth, and the
points are those depths unprojected through the commanded cameras.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genscene.cameras.cameras import Cameras, invert_rigid
from genscene.cameras.formats.vggt import pose_encoding_to_cameras
from genscene.cameras.trajectories.interpolate import interpolate_poses
from genscene.geometry.projection import median_depth, unproject_depth
from genscene.io.scene import Scene
from genscene.pipelines.generate import GenerateConfig, generate_video, unit_depth


@dataclass
class ImageToVideoConfig:
    """How the photo is prepared and the clip generated."""

    size: int = 128
    """Square side the generator runs at (the photo is centre-cropped to a square, then resized)."""
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    """Sampler settings."""
    conf_quantile: float = 0.3
    """Drop this fraction of the least confident pixels from the point cloud."""


def valid_frame_count(frames: int, temporal_factor: int = 4) -> int:
    """The smallest ``1 + temporal_factor * k >= frames`` (the causal VAE's frame counts)."""
    return 1 + temporal_factor * max(1, -(-(frames - 1) // temporal_factor))


def square_image(image: Tensor, size: int) -> Tensor:
    """``[3, H, W]`` in [0, 1] -> centre square crop resized to ``[3, size, size]``."""
    h, w = image.shape[-2:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    crop = image[:, top:top + s, left:left + s]
    resized = F.interpolate(crop[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return resized[0].clamp(0, 1)


@torch.no_grad()
def frame_zero_geometry(geometry: nn.Module, image: Tensor) -> tuple[Tensor, Tensor]:
    """Unit-median depth ``[H, W]`` and intrinsics ``[3, 3]`` of one image ``[3, H, W]`` from the geometry net."""
    h, w = image.shape[-2:]
    out = geometry(image[None, None])
    depth = unit_depth(out["depth"][0, 0].float().cpu())
    K = pose_encoding_to_cameras(out["pose_enc"][0, 0].double().cpu(), w, h).K
    return depth, K


def commanded_cameras(K: Tensor, rel_c2w: Tensor, size: int) -> Cameras:
    """Cameras ``[T]`` of a relative path ``rel_c2w [T, 4, 4]`` with intrinsics ``K [3, 3]`` at ``size``."""
    t = rel_c2w.shape[0]
    return Cameras(K.to(torch.float64).expand(t, 3, 3).clone(), invert_rigid(rel_c2w.to(torch.float64)), size, size)


@torch.no_grad()
def generated_geometry(geometry: nn.Module, frames: Tensor, cameras: Cameras,
                       conf_quantile: float) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor]]:
    """Depth ``[T, H, W]`` (frame 0's median = 1, the commanded unit), confidence ``[T, H, W]`` and the
    confident points ``(xyz [N, 3], rgb [N, 3])`` of generated ``frames [T, 3, H, W]`` seen by ``cameras``."""
    out = geometry(frames[None])
    depth, conf = out["depth"][0].float().cpu(), out["depth_conf"][0].float().cpu()
    first = depth[0][depth[0] > 0]
    depth = depth / (first.median() if first.numel() else 1.0)
    keep = conf >= torch.quantile(conf.flatten(), conf_quantile)
    xyz = unproject_depth(depth.double(), cameras)[keep].float()
    return depth, conf, (xyz, frames.permute(0, 2, 3, 1)[keep])


def _generated_scene(rgb0: Tensor, depth0: Tensor, cameras: Cameras, generator: nn.Module, vae: nn.Module,
                     geometry: nn.Module, cfg: ImageToVideoConfig, t0: float, last_rgb: Tensor | None = None,
                     progress: Callable[[int, int], None] | None = None) -> tuple[Scene, dict[str, Tensor]]:
    """Generate along ``cameras [T]`` from ``rgb0 [3, S, S]`` (unit ``depth0 [S, S]``; ``last_rgb`` pins the
    last frame), then the geometry of the frames; ``t0`` is when the call began (for the timings)."""
    t1 = time.perf_counter()
    out = generate_video(generator, vae, rgb0, depth0, cameras, cfg.generate, last_rgb=last_rgb, progress=progress)
    t2 = time.perf_counter()
    depth, conf, points = generated_geometry(geometry, out["frames"], cameras, cfg.conf_quantile)
    t3 = time.perf_counter()
    meta = {"timings_s": {"input_geometry": round(t1 - t0, 3), "generate": round(t2 - t1, 3),
                          "geometry": round(t3 - t2, 3)},
            "generate": {"steps": cfg.generate.steps, "guidance": cfg.generate.guidance,
                         "camera_guidance": cfg.generate.camera_guidance, "seed": cfg.generate.seed},
            "scale": "frame 0's median depth = 1 (the trajectory's unit)",
            "cameras": "commanded (the trajectory), not estimated from the generated frames"}
    scene = Scene(frames=out["frames"], cameras=cameras, depths=depth, confidence=conf, points=points, meta=meta,
                  fps=8.0)
    return scene, {"input": rgb0, "cache_rgb": out["cache_rgb"], "cache_mask": out["cache_mask"]}


def image_to_video(image: Tensor, rel_c2w: Tensor, generator: nn.Module, vae: nn.Module, geometry: nn.Module,
                   cfg: ImageToVideoConfig | None = None,
                   progress: Callable[[int, int], None] | None = None) -> tuple[Scene, dict[str, Tensor]]:
    """Generate the clip of ``image [3, H, W]`` along ``rel_c2w [T, 4, 4]`` (T = 1 + 4k).

    Returns the :class:`Scene` (frames, commanded cameras, depth, confidence, points, meta with timings)
    and the previews: the square input ``[3, S, S]``, ``cache_rgb [T, 3, S, S]``, ``cache_mask [T, S, S]``.
    """
    cfg = cfg or ImageToVideoConfig()
    t0 = time.perf_counter()
    rgb0 = square_image(image, cfg.size)
    depth0, K = frame_zero_geometry(geometry, rgb0)
    cameras = commanded_cameras(K, rel_c2w, cfg.size)
    return _generated_scene(rgb0, depth0, cameras, generator, vae, geometry, cfg, t0, progress=progress)


@torch.no_grad()
def two_view_geometry(geometry: nn.Module, first: Tensor, last: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """From two images ``[3, S, S]``: the first's unit-median depth ``[S, S]``, its intrinsics ``[3, 3]`` and
    the second camera's pose ``c2w [4, 4]`` relative to the first, in units of the first's median depth
    (the net predicts depth and poses in one scale)."""
    s = first.shape[-1]
    out = geometry(torch.stack([first, last])[None])
    depth = out["depth"][0, 0].float().cpu()
    median = median_depth(depth)
    cams = pose_encoding_to_cameras(out["pose_enc"][0].double().cpu(), s, s).relative_to_first()
    c2w = invert_rigid(cams.w2c[1])
    c2w[:3, 3] /= median
    return (depth / median).float(), cams.K[0], c2w


def interpolate_views(first: Tensor, last: Tensor, frames: int, generator: nn.Module, vae: nn.Module,
                      geometry: nn.Module, cfg: ImageToVideoConfig | None = None,
                      progress: Callable[[int, int], None] | None = None) -> tuple[Scene, dict[str, Tensor]]:
    """The in-between clip of two photos ``[3, H, W]`` (SpatialCrafter / Gen3R's two-view mode): the geometry
    net's cameras of both, a constant-speed path between them (slerp + linear, ``frames`` = 1 + 4k), first and
    last frame conditioning. Same returns as :func:`image_to_video`; the meta holds the estimated pose."""
    cfg = cfg or ImageToVideoConfig()
    t0 = time.perf_counter()
    rgb0, rgb1 = square_image(first, cfg.size), square_image(last, cfg.size)
    depth0, K, c2w_last = two_view_geometry(geometry, rgb0, rgb1)
    keys = torch.stack([torch.eye(4, dtype=torch.float64), c2w_last])
    cameras = commanded_cameras(K, interpolate_poses(keys, frames), cfg.size)
    scene, previews = _generated_scene(rgb0, depth0, cameras, generator, vae, geometry, cfg, t0, last_rgb=rgb1,
                                       progress=progress)
    scene.meta["cameras"] = "a path between the two views' cameras estimated by the geometry net"
    scene.meta["last_view_c2w"] = [[round(float(v), 6) for v in row] for row in c2w_last]
    return scene, previews


def preview_png(scene: Scene, previews: dict[str, Tensor], path: Path, columns: int = 9) -> None:
    """A strip: the input, then for evenly spaced frames the cache render (holes shown magenta) above the
    generated frame."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genscene.atomic import atomic_path

    t = scene.num_frames
    picks = torch.linspace(0, t - 1, min(columns, t)).round().long().tolist()
    fig, axes = plt.subplots(2, len(picks) + 1, figsize=(1.9 * (len(picks) + 1), 4.0), squeeze=False)
    axes[0, 0].imshow(previews["input"].permute(1, 2, 0).numpy())
    axes[0, 0].set_title("input", fontsize=8)
    axes[1, 0].axis("off")
    hole = torch.tensor([1.0, 0.0, 1.0])[:, None, None]
    for col, i in enumerate(picks, start=1):
        cache = torch.where(previews["cache_mask"][i][None], hole, previews["cache_rgb"][i])
        axes[0, col].imshow(cache.permute(1, 2, 0).numpy())
        axes[0, col].set_title(f"cache {i}", fontsize=8)
        axes[1, col].imshow(scene.frames[i].permute(1, 2, 0).numpy())
        axes[1, col].set_title(f"generated {i}", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    with atomic_path(Path(path)) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)
