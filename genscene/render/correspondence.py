"""Dense correspondences between cameras: optical flow and visibility from known geometry.

VideoFrom3D renders each surface point's 3D coordinate in view A ("coordinate-encoded
projection") and projects it into view B. :func:`mesh_flow` does exactly that with
:func:`render_mesh`'s ``points`` buffer; :func:`reprojection_flow` is the same from a z-depth
map (unprojected through A's pixel centres), for caches and worlds that have depth but no mesh.
A pixel is *visible* in B when its point lands inside B's image, in front of B, and B's own
depth at the landing pixel agrees with the point's depth in B (relative tolerance), i.e. nothing
in B occludes it.

Flow convention: ``flow[:, 0] = u_B - u_A`` and ``flow[:, 1] = v_B - v_A`` in B's pixels, on A's
pixel grid (forward flow A -> B); 0 where A is empty.
"""

from __future__ import annotations

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.geometry.projection import project, unproject_depth
from genscene.render.mesh import render_mesh


def points_flow(points_a: Tensor, valid_a: Tensor, cameras_a: Cameras, cameras_b: Cameras,
                depth_b: Tensor | None = None, rel_tol: float = 0.01) -> tuple[Tensor, Tensor]:
    """Flow and visibility from world points seen at A's pixels.

    Args:
        points_a: world point per pixel of A ``[B, H, W, 3]``.
        valid_a: which pixels of A hold a point ``[B, H, W]`` (bool).
        cameras_a, cameras_b: ``[B]`` cameras (A's image size must match ``points_a``).
        depth_b: B's own z-depth ``[B, H_b, W_b]`` (0 = empty) for the occlusion test; without it
            visibility only checks that the point lands in B's image in front of B.
        rel_tol: relative depth agreement for visibility.

    Returns:
        ``flow [B, 2, H, W]`` in pixels and ``visible [B, H, W]`` (bool).
    """
    Bn, H, W = points_a.shape[:3]
    cams_a, cams_b = cameras_a.reshape(-1), cameras_b.reshape(-1)
    dtype = points_a.dtype
    uv_b, z_b = project(points_a.reshape(Bn, -1, 3), cams_b.to(dtype=dtype))  # [B, H*W, 2], [B, H*W]
    uv_a = cams_a.pixel_grid(H, W).to(points_a).reshape(1, -1, 2)
    flow = (uv_b - uv_a) * valid_a.reshape(Bn, -1, 1)

    Wb, Hb = cams_b.width, cams_b.height
    col = torch.floor(uv_b[..., 0]).long()
    row = torch.floor(uv_b[..., 1]).long()
    visible = valid_a.reshape(Bn, -1) & (z_b > 0) & (col >= 0) & (col < Wb) & (row >= 0) & (row < Hb)
    if depth_b is not None:
        idx = (row.clamp(0, Hb - 1) * Wb + col.clamp(0, Wb - 1))
        d_there = torch.gather(depth_b.reshape(Bn, -1).to(dtype), 1, idx)
        visible &= (d_there > 0) & ((d_there - z_b).abs() <= rel_tol * z_b)
    flow = flow.reshape(Bn, H, W, 2).permute(0, 3, 1, 2).contiguous()
    return flow, visible.reshape(Bn, H, W)


def reprojection_flow(depth_a: Tensor, cameras_a: Cameras, cameras_b: Cameras,
                      depth_b: Tensor | None = None, rel_tol: float = 0.01) -> tuple[Tensor, Tensor]:
    """Flow A -> B ``[B, 2, H, W]`` and visibility ``[B, H, W]`` from A's z-depth ``[B, H, W]``."""
    points = unproject_depth(depth_a, cameras_a.reshape(-1).to(dtype=depth_a.dtype))
    return points_flow(points, depth_a > 0, cameras_a, cameras_b, depth_b, rel_tol)


def mesh_flow(vertices: Tensor, faces: Tensor, cameras_a: Cameras, cameras_b: Cameras,
              rel_tol: float = 0.01) -> tuple[Tensor, Tensor]:
    """Coordinate-encoded flow A -> B ``[B, 2, H, W]`` and visibility ``[B, H, W]`` of a mesh.

    ``cameras_a`` and ``cameras_b`` are ``[B]`` pairs; B is rendered for the occlusion test.
    """
    vertices = vertices.to(torch.float64)
    ga = render_mesh(vertices, faces, cameras_a)
    gb = render_mesh(vertices, faces, cameras_b)
    return points_flow(ga["points"], ga["mask"], cameras_a, cameras_b, gb["depth"], rel_tol)


def trajectory_flows(vertices: Tensor, faces: Tensor, cameras: Cameras, direction: str = "forward",
                     rel_tol: float = 0.01) -> tuple[Tensor, Tensor]:
    """Flows between consecutive cameras of a trajectory of ``T`` cameras.

    Args:
        direction: ``"forward"``: frame t -> t+1 on frame t's grid; ``"backward"``: frame
            t+1 -> t on frame t+1's grid (what :mod:`genscene.diffusion.noise_warp` pulls along).

    Returns:
        ``flow [T-1, 2, H, W]`` and ``visible [T-1, H, W]``.
    """
    if direction not in ("forward", "backward"):
        raise ValueError(f"trajectory_flows: direction must be 'forward' or 'backward', got {direction!r}")
    cams = cameras.reshape(-1)
    vertices = vertices.to(torch.float64)
    g = render_mesh(vertices, faces, cams)
    src, dst = (slice(None, -1), slice(1, None)) if direction == "forward" else (slice(1, None), slice(None, -1))
    return points_flow(g["points"][src], g["mask"][src], cams[src], cams[dst], g["depth"][dst], rel_tol)
