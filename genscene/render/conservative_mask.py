"""Lyra's conservative disocclusion mask (Lyra, appendix A).

Forward-warped points leak background into regions that an unseen foreground part would cover
in the target view (the side of an object, revealed by the camera motion). Lyra closes this gap
by assuming every region hidden in the source view is occupied: the source pixel grid is
triangulated (two triangles per pixel quad, Lyra eq. 2), so the surface stretches across depth
discontinuities like a curtain from the foreground edge back to the background. Rendered into
the target, wherever that surface is closer than the rendered points (eq. 3,
``D_mesh < D_points - eps``) the pixel is marked unknown.

Mask convention here: ``True`` = unknown / disoccluded (to be generated).
"""

from __future__ import annotations

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.geometry.projection import unproject_depth
from genscene.render.rasterize import rasterize


def grid_mesh(depth: Tensor, camera: Cameras) -> tuple[Tensor, Tensor]:
    """Triangulate one depth map's pixel grid (Lyra eq. 2).

    Args:
        depth: z-depth ``[H, W]`` (<= 0 or non-finite = no point).
        camera: one unbatched camera of that image.

    Returns:
        world vertices ``[H*W, 3]`` (float64) and faces ``[F, 3]``: two triangles per pixel quad,
        kept only where all three corners have a valid depth.
    """
    H, W = depth.shape
    d = depth.to(torch.float64)
    valid = (torch.isfinite(d) & (d > 0)).reshape(-1)
    vertices = unproject_depth(torch.where(valid.reshape(H, W), d, torch.ones_like(d)),
                               camera.to(dtype=torch.float64)).reshape(-1, 3)
    idx = torch.arange(H * W, device=depth.device).reshape(H, W)
    p00, p01 = idx[:-1, :-1], idx[:-1, 1:]  # (row, col), (row, col + 1)
    p10, p11 = idx[1:, :-1], idx[1:, 1:]
    faces = torch.cat([
        torch.stack([p00, p01, p10], -1).reshape(-1, 3),
        torch.stack([p01, p11, p10], -1).reshape(-1, 3),
    ])
    faces = faces[valid[faces].all(-1)]
    return vertices, faces


def grid_mesh_depth(depth_src: Tensor, cameras_src: Cameras, cameras_tgt: Cameras) -> Tensor:
    """z-depth of each source view's grid mesh in each target camera.

    Args:
        depth_src: ``[V, H, W]`` source depths; cameras_src: ``[V]``; cameras_tgt: ``[B]``.

    Returns:
        ``[B, V, H_t, W_t]`` (0 where that view's mesh does not cover the pixel).
    """
    cams_src = cameras_src.reshape(-1)
    per_view = []
    for v in range(depth_src.shape[0]):
        vertices, faces = grid_mesh(depth_src[v], cams_src[v])
        per_view.append(rasterize(vertices, faces, cameras_tgt).depth)  # [B, H_t, W_t]
    return torch.stack(per_view, dim=1)


def conservative_disocclusion(mask: Tensor, point_depth: Tensor, mesh_depth: Tensor,
                              rel_eps: float = 0.01) -> Tensor:
    """Refine a forward-warping disocclusion mask (Lyra eq. 3).

    Args:
        mask: ``[B, H, W]`` bool, True where point rendering left a hole.
        point_depth: ``[B, H, W]`` z-depth of the rendered points (ignored under ``mask``).
        mesh_depth: ``[B, V, H, W]`` from :func:`grid_mesh_depth` (0 = not covered).
        rel_eps: tolerance ``eps`` relative to the point depth.

    Returns:
        ``[B, H, W]`` bool. With one view: ``mask | (D_mesh < D - eps)``. With several views
        rendered together, a pixel is marked only when every view whose mesh covers it puts its
        surface in front of the point (a view whose surface passes through the point saw it).
    """
    D = point_depth.unsqueeze(1).to(mesh_depth.dtype)
    covering = mesh_depth > 0
    closer = covering & (mesh_depth < D * (1 - rel_eps))
    hidden = closer.any(1) & (closer | ~covering).all(1)
    return mask | hidden
