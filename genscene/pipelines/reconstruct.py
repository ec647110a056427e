"""``reconstruct``: images, a folder or a video -> depth, cameras, confidence and a coloured point cloud.

The geometry network sees all views at once (frame 0 is the reference); its outputs are in the
frame-0 camera at a normalised scale (mean point distance 1), so the scene is up to scale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.cameras.formats.vggt import pose_encoding_to_cameras
from genscene.errors import InputError
from genscene.io.scene import Scene
from genscene.limits import DECODED_PIXEL_BYTES, check_image_pixels, check_memory
from genscene.models.geometry import GeometryNet
from genscene.models.vggt import VGGT

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".mov", ".webm", ".avi", ".mkv")
NETWORK_PIXEL_BYTES = 1024
"""Bytes per pixel the geometry network sees, activations and outputs included (measured: about 530 on the CPU)."""
VGGT_PIXEL_BYTES = 512
"""VGGT-1B on the CPU, per pixel of every view, its weights apart (checked when they load): aggregator
tokens, the four layers its heads read, the outputs. With the next constant: 2048 B per pixel up to 8
views, against 1,727 measured (8 views of 518 x 518: 3.71 GB over the weights; benchmarks/results/vggt.md)."""
VGGT_CHUNK_PIXEL_BYTES = 1536
"""VGGT-1B on the CPU, per pixel of the views a DPT head decodes at once (at most ``chunk_views``)."""


@dataclass
class ReconstructConfig:
    """How inputs are prepared and outputs filtered."""

    size: int = 128
    """Long image side fed to the network (rounded to the patch size); the default training size."""
    max_views: int = 32
    """The most views the network takes at once."""
    video_frames: int = 8
    """Frames sampled evenly from a video input."""
    conf_quantile: float = 0.3
    """Drop this fraction of the least confident pixels from the point cloud."""
    max_points: int = 300_000
    """Cap on exported points (evenly strided)."""
    network_pixel_bytes: int = NETWORK_PIXEL_BYTES
    """Memory estimate: bytes per network pixel of every view (:data:`VGGT_PIXEL_BYTES` for VGGT)."""
    chunk_pixel_bytes: int = 0
    """Memory estimate: bytes per network pixel of the ``chunk_views`` views decoded together (VGGT's DPT heads)."""
    chunk_views: int = 8
    """Views the dense heads decode at once."""


def collect_inputs(inputs: list[Path], cfg: ReconstructConfig) -> tuple[list[Tensor], list[str], list[Path | None]]:
    """Read images (files, one folder, or one video) as ``[3, H, W]`` tensors in [0, 1], with names and
    their files (None for video frames)."""
    from genscene.io.images import image_size, read_image
    from genscene.io.video import read_video, video_info

    if len(inputs) == 1 and inputs[0].is_dir():
        files = sorted(p for p in inputs[0].iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputError(inputs[0], f"folder holds no images ({', '.join(IMAGE_SUFFIXES)})")
        inputs = files
    if len(inputs) == 1 and inputs[0].suffix.lower() in VIDEO_SUFFIXES:
        info = video_info(inputs[0])
        check_input_memory(inputs[0], [(info.width, info.height)] * min(info.num_frames, cfg.video_frames), cfg)
        frames, _ = read_video(inputs[0], num_frames=cfg.video_frames)
        return list(frames), [f"{inputs[0].name}#{i}" for i in range(len(frames))], [None] * len(frames)
    for p in inputs:
        if p.suffix.lower() not in IMAGE_SUFFIXES:
            raise InputError(p, f"not an image or video by its suffix ({p.suffix or 'none'})")
    if len(inputs) > cfg.max_views:
        raise InputError(inputs[cfg.max_views], f"too many views: {len(inputs)} > {cfg.max_views}")
    sizes = [image_size(p) for p in inputs]
    for p, (w, h) in zip(inputs, sizes):
        check_image_pixels(p, w, h)
    check_input_memory(inputs[0] if len(inputs) == 1 else f"{len(inputs)} images", sizes, cfg)
    return [read_image(p) for p in inputs], [p.name for p in inputs], list(inputs)


def input_bytes(sizes: list[tuple[int, int]], long_side: int, cfg: ReconstructConfig | None = None) -> int:
    """Estimated bytes to reconstruct views of ``sizes`` (width, height) at ``long_side``: the inputs (float
    RGB, all kept, the largest while it decodes) and the network's work (``cfg.network_pixel_bytes`` per pixel
    of every view it sees, ``cfg.chunk_pixel_bytes`` per pixel of the views decoded together)."""
    cfg = cfg or ReconstructConfig()
    pixels = [w * h for w, h in sizes]
    decoded = sum(pixels) * 12 + max(pixels, default=0) * DECODED_PIXEL_BYTES
    network = long_side ** 2 * (len(sizes) * cfg.network_pixel_bytes
                                + min(len(sizes), cfg.chunk_views) * cfg.chunk_pixel_bytes)
    return decoded + network


def check_input_memory(source: str | Path, sizes: list[tuple[int, int]], cfg: ReconstructConfig) -> None:
    """Refuse (one line naming ``source``) views that would not fit in memory at ``cfg.size``."""
    check_memory(source, input_bytes(sizes, cfg.size, cfg),
                 f"for {len(sizes)} view(s) at --size {cfg.size}")


def network_size(height: int, width: int, long_side: int, patch: int) -> tuple[int, int]:
    """``(H, W)`` keeping the aspect ratio, long side ``long_side``, both multiples of ``patch``."""
    scale = long_side / max(height, width)
    return tuple(max(patch, int(round(x * scale / patch)) * patch) for x in (height, width))


def prepare_views(images: list[Tensor], size: int, patch: int) -> Tensor:
    """Resize every view to the first view's network size: ``[S, 3, H, W]``."""
    h, w = network_size(*images[0].shape[-2:], size, patch)
    return torch.stack([F.interpolate(im[None], size=(h, w), mode="bilinear", antialias=True,
                                      align_corners=False)[0].clamp(0, 1) for im in images])


def clamp_fov(pose_enc: Tensor, min_deg: float = 5.0, max_deg: float = 170.0) -> Tensor:
    """Keep predicted fields of view ``pose_enc[..., 7:9]`` where a pinhole camera exists."""
    lo, hi = torch.deg2rad(torch.tensor([min_deg, max_deg], dtype=pose_enc.dtype))
    return torch.cat([pose_enc[..., :7], pose_enc[..., 7:].clamp(lo, hi)], dim=-1)


@dataclass
class NetOutput:
    """The geometry network's prediction for ``S`` views at the network size ``H x W``."""

    cameras: Cameras
    """``[S]`` float64, frame 0 at the identity, normalised scale (mean point distance 1)."""
    depth: Tensor
    """``[S, H, W]`` float32 z-depth."""
    confidence: Tensor
    """``[S, H, W]`` float32 depth confidence."""
    points: Tensor
    """``[S, H, W, 3]`` float32 points of the point head (frame-0 camera)."""
    seconds: float
    """Wall time of the forward pass."""


@torch.no_grad()
def predict(images: Tensor, model: GeometryNet | VGGT) -> NetOutput:
    """Run the geometry network (GeometryNet or VGGT: the same outputs) on ``images [S, 3, H, W]`` (all views
    at once) on the model's device."""
    device = next(model.parameters()).device
    _, _, h, w = images.shape
    t0 = time.perf_counter()
    out = model(images[None].to(device, torch.float32))
    seconds = time.perf_counter() - t0
    # points are predicted in the frame-0 camera; pin frame 0 to the identity exactly
    cameras = pose_encoding_to_cameras(clamp_fov(out["pose_enc"][0].double().cpu()), w, h).relative_to_first()
    return NetOutput(cameras, out["depth"][0].float().cpu(), out["depth_conf"][0].float().cpu(),
                     out["points"][0].float().cpu(), seconds)


def confident_points(images: Tensor, points: Tensor, conf: Tensor, cfg: ReconstructConfig,
                     valid: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The exported cloud: ``points [S, H, W, 3]`` where ``conf [S, H, W]`` is above its ``cfg.conf_quantile``
    (and ``valid``), coloured by ``images [S, 3, H, W]``, strided to at most ``cfg.max_points``."""
    keep = conf >= torch.quantile(conf.flatten(), cfg.conf_quantile)
    if valid is not None:
        keep &= valid
    xyz, rgb = points[keep], images.permute(0, 2, 3, 1)[keep]
    stride = max(1, len(xyz) // cfg.max_points)
    return xyz[::stride], rgb[::stride]


def reconstruct(images: Tensor, model: GeometryNet | VGGT, cfg: ReconstructConfig | None = None,
                net: NetOutput | None = None) -> Scene:
    """The network alone on ``images [S, 3, H, W]``, assembled as a :class:`Scene` (``net``: its prediction,
    when already run)."""
    cfg = cfg or ReconstructConfig()
    net = net or predict(images, model)
    s, _, h, w = images.shape
    meta = {"timings_s": {"network": round(net.seconds, 3)}, "views": s, "network_size": [h, w],
            "scale": "normalised: mean distance of points to the frame-0 camera = 1"}
    return Scene(frames=images.float(), cameras=net.cameras, depths=net.depth, confidence=net.confidence,
                 points=confident_points(images, net.points, net.confidence, cfg), meta=meta)


def preview_png(scene: Scene, path: Path) -> None:
    """A contact sheet: inputs, depth and confidence per view, and the points from above."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from genscene.atomic import atomic_path

    n = min(scene.num_frames, 8)
    fig, axes = plt.subplots(3, n + 1, figsize=(2.2 * (n + 1), 6.6), squeeze=False)
    for i in range(n):
        axes[0, i].imshow(scene.frames[i].permute(1, 2, 0).numpy())
        axes[1, i].imshow(scene.depths[i].numpy(), cmap="turbo")
        axes[2, i].imshow(scene.confidence[i].log().numpy(), cmap="magma")
    for row, title in enumerate(("input", "depth", "log confidence")):
        axes[row, 0].set_ylabel(title)
    xyz, rgb = scene.points
    ax = axes[0, n]
    ax.scatter(xyz[::10, 0].numpy(), xyz[::10, 2].numpy(), s=0.2, c=rgb[::10].numpy())
    centres = scene.cameras.centers.numpy()
    ax.plot(centres[:, 0], centres[:, 2], "k.-")
    ax.set_title("points, x-z")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    axes[1, n].axis("off")
    axes[2, n].axis("off")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80)
    plt.close(fig)
