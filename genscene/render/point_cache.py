"""GEN3C's spatiotemporal 3D cache: coloured point clouds from depth, rendered into any camera.

The cache is an ``L x V`` array (GEN3C, as Lyra describes it): ``L`` frames (time) by ``V``
views, each a point cloud unprojected from one image and its z-depth. Rendering splats the
points into target cameras with a z-buffer and returns the warped RGB, the depth and a
disocclusion mask (True = no point landed: the generator must fill it). Points straddling a
depth discontinuity are dropped when building (flying pixels of estimated depth).

Splatting: each point stands for its source pixel, a square of world size ``z_src / f_src``;
projected into the target it covers ``s = z_src f_tgt / (f_src z_tgt)`` pixels per side
(clamped to ``[1, max_footprint]``), i.e. every pixel whose centre lies in
``[u - s/2, u + s/2) x [v - s/2, v + s/2)``. The nearest point wins each pixel; exact ties go to
the lower point index. Warping a view to itself is therefore exactly the identity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.geometry.projection import project, unproject_depth
from genscene.render.conservative_mask import conservative_disocclusion, grid_mesh_depth
from genscene.render.edges import depth_discontinuities


class CacheRender(NamedTuple):
    """A cache rendered into ``B`` cameras (per-view renders add a ``V`` axis after ``B``).

    Attributes:
        rgb: warped colours ``[B, 3, H, W]`` (0 under the mask).
        depth: z-depth of the winning points ``[B, H, W]`` (0 under the mask).
        mask: disocclusion mask ``[B, H, W]`` bool, True = unknown.
    """

    rgb: Tensor
    depth: Tensor
    mask: Tensor


@dataclass
class PointCache:
    """Coloured points of an ``L x V`` cache, with what is needed to render them.

    Attributes:
        points: world positions ``[N, 3]`` (float64).
        colors: RGB in [0, 1] ``[N, 3]``.
        footprint: world size of each point's source pixel ``[N]`` (``z / f`` of the source view).
        frame: cache frame ``l`` of each point ``[N]`` (long).
        view: cache view ``v`` of each point ``[N]`` (long).
        source_depth: the full source depth ``[L, V, H, W]`` (for the conservative mask).
        source_cameras: the source cameras ``[L, V]``.
    """

    points: Tensor
    colors: Tensor
    footprint: Tensor
    frame: Tensor
    view: Tensor
    source_depth: Tensor
    source_cameras: Cameras

    @property
    def num_frames(self) -> int:
        return self.source_depth.shape[0]

    @property
    def num_views(self) -> int:
        return self.source_depth.shape[1]

    @classmethod
    def from_depth(cls, images: Tensor, depth: Tensor, cameras: Cameras, valid: Tensor | None = None,
                   edge_tol: float | None = 0.05) -> "PointCache":
        """Unproject images and z-depth into a cache.

        Args:
            images: ``[L, V, 3, H, W]`` in [0, 1]; ``[V, 3, H, W]`` is one frame (``L = 1``).
            depth: z-depth ``[L, V, H, W]`` (or ``[V, H, W]``); <= 0 or non-finite = no point.
            cameras: ``[L, V]`` (or ``[V]``) cameras of those images.
            valid: optional extra per-pixel validity ``[L, V, H, W]`` (e.g. a confidence mask).
            edge_tol: drop pixels on either side of a depth jump of this relative size (see
                :func:`genscene.render.edges.depth_discontinuities`); None keeps them all.
        """
        if images.dim() == 4:
            images, depth = images[None], depth[None]
            cameras = cameras.reshape(1, -1)
            valid = None if valid is None else valid[None]
        L, V, _, H, W = images.shape
        if depth.shape != (L, V, H, W) or tuple(cameras.batch_shape) != (L, V):
            raise ValueError(f"PointCache: images {tuple(images.shape)}, depth {tuple(depth.shape)} and "
                             f"cameras {tuple(cameras.batch_shape)} disagree (expected [L, V, ...])")
        d = depth.to(torch.float64)
        keep = torch.isfinite(d) & (d > 0)
        if valid is not None:
            keep &= valid.bool()
        if edge_tol is not None:
            keep &= ~depth_discontinuities(d, edge_tol)
        cams = cameras.to(dtype=torch.float64)
        world = unproject_depth(torch.where(keep, d, torch.ones_like(d)), cams)  # [L, V, H, W, 3]
        focal = torch.sqrt(cams.fx * cams.fy)[..., None, None]  # [L, V, 1, 1]
        footprint = d / focal
        frame_idx = torch.arange(L, device=d.device).view(L, 1, 1, 1).expand(L, V, H, W)
        view_idx = torch.arange(V, device=d.device).view(1, V, 1, 1).expand(L, V, H, W)
        colors = images.permute(0, 1, 3, 4, 2)  # [L, V, H, W, 3]
        return cls(points=world[keep], colors=colors[keep], footprint=footprint[keep],
                   frame=frame_idx[keep], view=view_idx[keep], source_depth=d, source_cameras=cams)

    def render(self, cameras: Cameras, frames: Tensor | None = None, per_view: bool = False,
               conservative: bool = False, rel_eps: float = 0.01, max_footprint: float = 4.0
               ) -> CacheRender:
        """Render the cache into ``B`` target cameras.

        Args:
            cameras: ``[B]`` targets (GEN3C pairs target frame ``t`` with cache frame ``t``).
            frames: cache frame per target ``[B]`` (long). Default: frame 0 when ``L = 1``,
                else target ``b`` uses cache frame ``b`` (needs ``B == L``).
            per_view: render each cache view separately (GEN3C's ``V`` videos): outputs get a
                ``V`` axis, ``rgb [B, V, 3, H, W]``, ``depth``/``mask [B, V, H, W]``.
            conservative: refine the mask with Lyra's mesh-based conservative test.
            rel_eps: Lyra's tolerance, relative to depth.
            max_footprint: largest splat side in pixels (limits close-up blow-up).
        """
        cams = cameras.reshape(-1).to(dtype=torch.float64)
        B = len(cams)
        frames = self._frames_for(B, frames)
        groups = [None] if not per_view else list(range(self.num_views))
        outs = []
        for view in groups:
            per_target = []
            for b in range(B):
                sel = self.frame == frames[b]
                if view is not None:
                    sel &= self.view == view
                per_target.append(self._splat(sel, cams[b], max_footprint))
            rgb, depth, mask = (torch.stack(t) for t in zip(*per_target))
            if conservative:
                mask = self._conservative(mask, depth, cams, frames, view, rel_eps)
            outs.append(CacheRender(rgb, depth, mask))
        if not per_view:
            return outs[0]
        return CacheRender(*(torch.stack(t, dim=1) for t in zip(*outs)))

    # ---------------------------------------------------------------- internals
    def _frames_for(self, B: int, frames: Tensor | None) -> Tensor:
        if frames is not None:
            frames = torch.as_tensor(frames).long().reshape(-1)
            if frames.shape[0] != B or (frames < 0).any() or (frames >= self.num_frames).any():
                raise ValueError(f"PointCache.render: frames must be [B={B}] in [0, {self.num_frames})")
            return frames
        if self.num_frames == 1:
            return torch.zeros(B, dtype=torch.long)
        if B != self.num_frames:
            raise ValueError(f"PointCache.render: {B} targets for {self.num_frames} cache frames; pass frames=")
        return torch.arange(B)  # on the CPU: per-target loop indices

    def _splat(self, sel: Tensor, cam: Cameras, max_footprint: float) -> tuple[Tensor, Tensor, Tensor]:
        """Z-buffered square splats of the selected points: rgb [3, H, W], depth [H, W], mask [H, W]."""
        H, W = cam.height, cam.width
        index = torch.nonzero(sel).squeeze(-1)
        uv, z = project(self.points[index], cam.to(device=self.points.device))  # [n, 2], [n]
        front = z > 1e-6
        index, uv, z = index[front], uv[front], z[front]
        if index.numel() == 0:  # nothing of this frame/view in front of the camera
            dev = self.points.device
            return (torch.zeros(3, H, W, device=dev), torch.zeros(H, W, dtype=z.dtype, device=dev),
                    torch.ones(H, W, dtype=torch.bool, device=dev))
        f_tgt = math.sqrt(float(cam.fx) * float(cam.fy))
        side = (self.footprint[index] * f_tgt / z).clamp(1.0, max_footprint)
        k = int(math.ceil(max_footprint)) + 1
        lo_col = torch.ceil(uv[:, 0] - side / 2 - 0.5).long()
        hi_col = torch.ceil(uv[:, 0] + side / 2 - 0.5).long() - 1
        lo_row = torch.ceil(uv[:, 1] - side / 2 - 0.5).long()
        hi_row = torch.ceil(uv[:, 1] + side / 2 - 0.5).long() - 1
        device = self.points.device
        off = torch.arange(k, device=device)
        col = lo_col[:, None, None] + off[None, None, :]  # [n, k, k]
        row = lo_row[:, None, None] + off[None, :, None]
        inside = ((col <= hi_col[:, None, None]) & (row <= hi_row[:, None, None])
                  & (col >= 0) & (col < W) & (row >= 0) & (row < H))
        pix = (row * W + col)[inside]
        order = torch.arange(len(index), device=device)[:, None, None].expand_as(inside)[inside]
        # Positive float32 bit patterns sort like the floats: pack (depth, point) into one key.
        zbits = z.to(torch.float32).view(torch.int32).to(torch.int64)
        keys = (zbits[order] << 32) | order
        empty = torch.iinfo(torch.int64).max
        zkey = torch.full((H * W,), empty, dtype=torch.int64, device=device)
        zkey.scatter_reduce_(0, pix, keys, reduce="amin")
        hole = zkey == empty
        winner = torch.where(hole, 0, zkey & 0xFFFFFFFF)
        rgb = torch.where(hole[:, None], 0.0, self.colors[index[winner]].to(torch.float32))
        depth = torch.where(hole, 0.0, z[winner])
        return rgb.T.reshape(3, H, W), depth.reshape(H, W), hole.reshape(H, W)

    def _conservative(self, mask: Tensor, depth: Tensor, cams: Cameras, frames: Tensor,
                      view: int | None, rel_eps: float) -> Tensor:
        out = []
        for b in range(len(cams)):
            l = int(frames[b])
            views = range(self.num_views) if view is None else [view]
            src_depth = self.source_depth[l, list(views)]
            src_cams = self.source_cameras[l][list(views)]
            mesh_d = grid_mesh_depth(src_depth, src_cams, cams[b:b + 1])  # [1, V', H, W]
            out.append(conservative_disocclusion(mask[b:b + 1], depth[b:b + 1], mesh_d, rel_eps)[0])
        return torch.stack(out)
