"""Coloured point clouds: lifting depth maps, voxel down-sampling and farthest point sampling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.geometry.projection import unproject_depth


@dataclass
class PointCloud:
    """N points in world coordinates, with optional per-point colour and confidence.

    Attributes:
        xyz: positions ``[N, 3]``.
        rgb: colours ``[N, 3]``, float in [0, 1], or ``None``.
        confidence: per-point confidence ``[N]`` (larger is more certain), or ``None``.
    """

    xyz: Tensor
    rgb: Tensor | None = None
    confidence: Tensor | None = None

    def __post_init__(self) -> None:
        if self.xyz.ndim != 2 or self.xyz.shape[-1] != 3:
            raise ValueError(f"PointCloud.xyz: expected [N, 3], got {tuple(self.xyz.shape)}")
        n = self.xyz.shape[0]
        if self.rgb is not None and tuple(self.rgb.shape) != (n, 3):
            raise ValueError(f"PointCloud.rgb: expected {(n, 3)}, got {tuple(self.rgb.shape)}")
        if self.confidence is not None and tuple(self.confidence.shape) != (n,):
            raise ValueError(f"PointCloud.confidence: expected {(n,)}, got {tuple(self.confidence.shape)}")

    def __len__(self) -> int:
        return self.xyz.shape[0]

    def __getitem__(self, index) -> "PointCloud":
        """Select points by a slice, integer indices or a boolean mask ``[N]``; always a PointCloud."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        return PointCloud(
            self.xyz[index],
            None if self.rgb is None else self.rgb[index],
            None if self.confidence is None else self.confidence[index],
        )

    @staticmethod
    def cat(clouds: Sequence["PointCloud"]) -> "PointCloud":
        """Concatenate clouds; an attribute survives only if every cloud has it."""
        if not clouds:
            raise ValueError("PointCloud.cat: no clouds given")
        xyz = torch.cat([c.xyz for c in clouds])
        rgb = torch.cat([c.rgb for c in clouds]) if all(c.rgb is not None for c in clouds) else None
        conf = (torch.cat([c.confidence for c in clouds])
                if all(c.confidence is not None for c in clouds) else None)
        return PointCloud(xyz, rgb, conf)

    def to(self, device=None, dtype=None) -> "PointCloud":
        """Move to ``device``; ``dtype`` applies to every floating attribute."""
        def move(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device=device, dtype=dtype)
        return PointCloud(move(self.xyz), move(self.rgb), move(self.confidence))


def depth_to_points(
    depth: Tensor,
    cameras: Cameras,
    images: Tensor | None = None,
    mask: Tensor | None = None,
    confidence: Tensor | None = None,
) -> PointCloud:
    """Lift z-depth maps to one world-space point cloud.

    Args:
        depth: z-depth ``[T, H, W]``; pixels with non-finite or non-positive depth are dropped.
        cameras: ``T`` cameras (``depth`` may be at another resolution than the cameras).
        images: colours ``[T, 3, H, W]`` in [0, 1], or ``None``.
        mask: boolean ``[T, H, W]``; only ``True`` pixels are kept.
        confidence: per-pixel confidence ``[T, H, W]``, or ``None``.

    Returns:
        The valid pixels' points, frame-major then row-major order.
    """
    if depth.ndim != 3:
        raise ValueError(f"depth_to_points: depth must be [T, H, W], got {tuple(depth.shape)}")
    t, h, w = depth.shape
    if tuple(cameras.batch_shape) != (t,):
        raise ValueError(f"depth_to_points: expected {t} cameras, got batch {tuple(cameras.batch_shape)}")
    xyz = unproject_depth(depth, cameras)  # [T, H, W, 3]
    valid = torch.isfinite(depth) & (depth > 0)
    if mask is not None:
        if tuple(mask.shape) != (t, h, w):
            raise ValueError(f"depth_to_points: mask must be {(t, h, w)}, got {tuple(mask.shape)}")
        valid = valid & mask.bool()
    rgb = None
    if images is not None:
        if tuple(images.shape) != (t, 3, h, w):
            raise ValueError(f"depth_to_points: images must be {(t, 3, h, w)}, got {tuple(images.shape)}")
        rgb = images.permute(0, 2, 3, 1)[valid].to(xyz.dtype)  # [N, 3]
    conf = None
    if confidence is not None:
        if tuple(confidence.shape) != (t, h, w):
            raise ValueError(f"depth_to_points: confidence must be {(t, h, w)}, got {tuple(confidence.shape)}")
        conf = confidence[valid]
    return PointCloud(xyz[valid], rgb, conf)


def voxel_downsample(cloud: PointCloud, voxel_size: float) -> PointCloud:
    """One point per occupied voxel of an axis-aligned grid with cells ``voxel_size`` wide.

    Each output point is the mean position (and mean colour / confidence) of the input points in
    its voxel. Voxels are indexed by ``floor(xyz / voxel_size)``; the output is ordered by voxel
    index (lexicographic x, y, z), so the result does not depend on the input order.
    """
    if not voxel_size > 0:
        raise ValueError(f"voxel_downsample: voxel_size must be > 0, got {voxel_size}")
    if len(cloud) == 0:
        return cloud
    keys = torch.floor(cloud.xyz / voxel_size).to(torch.int64)  # [N, 3]
    _, inverse, counts = torch.unique(keys, dim=0, return_inverse=True, return_counts=True)
    m = counts.shape[0]

    def voxel_mean(values: Tensor | None) -> Tensor | None:
        if values is None:
            return None
        flat = values.reshape(values.shape[0], -1).to(cloud.xyz.dtype)
        sums = flat.new_zeros(m, flat.shape[1]).index_add_(0, inverse, flat)
        return (sums / counts.unsqueeze(1).to(flat.dtype)).reshape(m, *values.shape[1:])

    return PointCloud(voxel_mean(cloud.xyz), voxel_mean(cloud.rgb), voxel_mean(cloud.confidence))


def farthest_point_sample(xyz: Tensor, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
    """Indices ``[min(num_samples, N)]`` of a farthest-point sample of ``xyz [N, 3]``.

    Greedy: start from one point (index 0, or a random one drawn from ``generator``), then
    repeatedly add the point farthest (Euclidean) from the chosen set. With ``num_samples >= N``
    all indices are returned in order (and nothing is drawn from ``generator``). Cost is
    ``O(N * num_samples)``; it runs on ``xyz``'s device.
    """
    n = xyz.shape[0]
    if num_samples >= n:
        return torch.arange(n, device=xyz.device)
    if num_samples <= 0:
        return torch.zeros(0, dtype=torch.int64, device=xyz.device)
    first = 0 if generator is None else int(torch.randint(n, (1,), generator=generator).item())
    cols = xyz.T.contiguous()  # [3, N]: one contiguous row per axis for in-place updates
    chosen = torch.empty(num_samples, dtype=torch.int64, device=xyz.device)
    min_d2 = torch.full((n,), float("inf"), dtype=xyz.dtype, device=xyz.device)
    d2, tmp = torch.empty_like(min_d2), torch.empty_like(min_d2)
    idx = torch.tensor(first, device=xyz.device)
    for i in range(num_samples):  # indices stay on the device: no host sync per step on a GPU
        if i:
            idx = torch.argmax(min_d2)
        chosen[i] = idx
        p = cols[:, idx]  # [3]
        torch.sub(cols[0], p[0], out=d2).mul_(d2)
        torch.sub(cols[1], p[1], out=tmp)
        d2.addcmul_(tmp, tmp)
        torch.sub(cols[2], p[2], out=tmp)
        d2.addcmul_(tmp, tmp)
        torch.minimum(min_d2, d2, out=min_d2)
    return chosen


FAR_FACTOR = 10.0
"""Points farther from every camera than this many times the median such distance are background
(a window's view 390 m out of a room): kept apart so a viewer can frame the scene."""


def far_point_mask(xyz: Tensor, centers: Tensor, factor: float = FAR_FACTOR,
                   chunk: int = 65536) -> tuple[Tensor, float]:
    """``(far [N] bool, threshold)``: points whose distance to the nearest camera centre exceeds
    ``threshold = factor * median`` of those distances.

    Args:
        xyz: points ``[N, 3]``.
        centers: camera centres ``[T, 3]`` (same world).
        factor: the multiple of the median distance beyond which a point is far.
        chunk: points per distance block (bounds memory to ``chunk * T`` values).
    """
    if xyz.ndim != 2 or xyz.shape[-1] != 3 or centers.ndim != 2 or centers.shape[-1] != 3:
        raise ValueError(f"far_point_mask: expected [N, 3] and [T, 3], got {tuple(xyz.shape)}, {tuple(centers.shape)}")
    if len(xyz) == 0 or len(centers) == 0:
        return torch.zeros(len(xyz), dtype=torch.bool, device=xyz.device), float("inf")
    c = centers.to(xyz.device, torch.float64)
    nearest = torch.cat([torch.cdist(block.to(torch.float64), c).amin(dim=1) for block in xyz.split(chunk)])
    threshold = factor * float(nearest.median())
    if not threshold > 0:  # most points sit on a camera: no scale to judge "far" by
        return torch.zeros(len(xyz), dtype=torch.bool, device=xyz.device), float("inf")
    return nearest > threshold, threshold
