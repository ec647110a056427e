"""The ground-truth renderer: RGB, z-depth, normals, instance/face ids, edges, optical flow.

Batched analytic ray casting in torch (same code on CPU and CUDA). Frames are chunked so that
``frames x pixels x objects`` stays under ``max_elements`` (memory bound on CPU).

Outputs of :func:`render` for cameras of batch shape ``[*B]`` at ``H x W``:

* ``rgb`` ``[*B, 3, H, W]`` float in [0, 1]
* ``depth`` ``[*B, H, W]`` z-depth along the optical axis, 0 where nothing is hit
* ``mask`` ``[*B, H, W]`` bool: a surface was hit (depth valid)
* ``normals`` ``[*B, H, W, 3]`` world-space unit normals facing the camera (0 on background)
* ``instance`` ``[*B, H, W]`` long instance id (-1 background); ``object`` primitive id (-1)
* ``face`` ``[*B, H, W]`` long global face id (-1 background)
* ``points_obj`` ``[*B, H, W, 3]`` object-space hit points (what :func:`optical_flow` moves)
* ``edges`` dict of bool ``[*B, H, W]``: silhouette, crease, boundary, intersection
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.geometry.projection import project
from genscene.worlds.compiled import CompiledWorld, compile_world
from genscene.worlds.trace import rotate, surface, trace
from genscene.worlds.world import World

SHADOW_BIAS = 2e-3  # metres along the normal before casting a shadow ray


def _as_compiled(world: World | CompiledWorld, device) -> CompiledWorld:
    return world if isinstance(world, CompiledWorld) else compile_world(world, device)


def sky_color(cw: CompiledWorld, d: Tensor) -> Tensor:
    """Background colour for ray directions ``d [..., 3]``."""
    s = cw.sky
    up = d[..., 2:3]
    above = torch.lerp(s["horizon"], s["zenith"], up.clamp(0, 1).sqrt())
    below = torch.lerp(s["horizon"], s["ground"], (-up * 6).clamp(0, 1))
    col = torch.where(up >= 0, above, below)
    cos_sun = (d * cw.sun_direction).sum(-1, keepdim=True).clamp_min(0)
    glow = s["sun_glow"] * (0.25 * cos_sun**8 + 0.75 * cos_sun**256)
    return col + glow * cw.sun_color / cw.sun_color.max().clamp_min(1e-6)


def sample_texture(cw: CompiledWorld, mat: Tensor, uv: Tensor) -> Tensor:
    """Bilinear, wrapping lookup: material ids ``[M]``, texture coords ``uv [M, 2]`` (repeats) -> ``[M, 3]``."""
    S = cw.atlas.shape[1]
    flat = cw.atlas.reshape(-1, 3)
    base = cw.mat_texture[mat] * (S * S)
    x = uv[:, 0] * S - 0.5
    y = uv[:, 1] * S - 0.5
    x0, y0 = torch.floor(x), torch.floor(y)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    x0, y0 = x0.long() % S, y0.long() % S
    x1, y1 = (x0 + 1) % S, (y0 + 1) % S

    def tap(yy, xx):
        return flat[base + yy * S + xx].to(uv.dtype)

    top = tap(y0, x0) * (1 - fx) + tap(y0, x1) * fx
    bottom = tap(y1, x0) * (1 - fx) + tap(y1, x1) * fx
    return (top * (1 - fy) + bottom * fy) / 255.0


def planar_uv(p: Tensor, n: Tensor) -> Tensor:
    """Texture-plane coordinates (metres) of object-space points ``p [M, 3]`` by the dominant axis of ``n``.

    Vertical faces map up (+z) to texture top and the viewer's right to +u, so photos stand upright.
    """
    axis = n.abs().argmax(-1)
    sx, sy = torch.sign(n[:, 0]), torch.sign(n[:, 1])
    u = torch.where(axis == 0, p[:, 1] * sx, torch.where(axis == 1, -p[:, 0] * sy, p[:, 0]))
    v = torch.where(axis == 2, -p[:, 1], -p[:, 2])
    return torch.stack([u, v], -1)


def _shade(cw, o, d, hit_t, s, mat, poses, frame_of_hit, pixel_of_hit, chunk_shape) -> Tensor:
    """Colour of hit points: ambient + shadowed sun + point lights + highlight + emission ``[M, 3]``."""
    uv = planar_uv(s.p_obj, s.n_obj) / cw.mat_scale[mat] + cw.mat_offset[mat]
    albedo = sample_texture(cw, mat, uv) * cw.mat_tint[mat]
    n = s.n_world
    x = o + hit_t[:, None] * d
    light = torch.lerp(cw.ambient_ground, cw.ambient_sky, (0.5 + 0.5 * n[:, 2:3]))
    origin = x + SHADOW_BIAS * n

    def visible(direction: Tensor, max_t: Tensor | None, active: Tensor) -> Tensor:
        """1 where the ray toward a light is unblocked. Shadow rays are traced in the dense
        ``[F, P]`` layout of the chunk (one call for all frames); slots without an active ray get
        a NaN origin, which the culling step never pairs with any object."""
        F, P = chunk_shape
        origins = x.new_full((F, P, 3), float("nan"))
        dirs = torch.zeros_like(origins)
        sel = active.nonzero().squeeze(-1)
        origins[frame_of_hit[sel], pixel_of_hit[sel]] = origin[sel]
        dirs[frame_of_hit[sel], pixel_of_hit[sel]] = direction[sel]
        t = trace(cw, origins, dirs, poses, shadow=True).t[frame_of_hit, pixel_of_hit]
        blocked = t < (max_t if max_t is not None else math.inf)
        return (active & ~blocked).to(x.dtype)

    L = cw.sun_direction.expand_as(n)
    ndl = (n * L).sum(-1).clamp_min(0)
    sun_vis = visible(L, None, ndl > 0)
    direct = (ndl * sun_vis)[:, None] * cw.sun_color
    half = torch.nn.functional.normalize(L - d, dim=-1)
    spec = (cw.mat_shiny[mat] * sun_vis * (n * half).sum(-1).clamp_min(0) ** 40)[:, None] * cw.sun_color
    for pos, color, falloff, shadows in cw.point_lights:
        to_l = pos - x
        dist = to_l.norm(dim=-1).clamp_min(1e-6)
        ldir = to_l / dist[:, None]
        ndl_p = (n * ldir).sum(-1).clamp_min(0)
        vis = visible(ldir, dist, ndl_p > 0) if shadows else torch.ones_like(ndl_p)
        direct = direct + (ndl_p * vis / (1 + (dist / falloff) ** 2))[:, None] * color
    emission = cw.mat_emissive[mat][:, None]
    return albedo * (light + direct + emission) + spec


def _frame_chunks(F: int, P: int, N: int, max_elements: int) -> list[tuple[int, int, int, int]]:
    """(frame0, frame1, pix0, pix1) chunks with ``frames * pixels * N <= max_elements``."""
    per_frame = P * max(N, 1)
    if per_frame <= max_elements:
        step = max(1, max_elements // per_frame)
        return [(f, min(F, f + step), 0, P) for f in range(0, F, step)]
    pstep = max(1, max_elements // max(N, 1))
    return [(f, f + 1, p, min(P, p + pstep)) for f in range(F) for p in range(0, P, pstep)]


def render(
    world: World | CompiledWorld,
    cameras: Cameras,
    times: Tensor | None = None,
    edges: bool = True,
    max_elements: int | None = None,
    shading: bool = True,
    supersample: int = 1,
) -> dict[str, Tensor]:
    """Render ``world`` for ``cameras`` (batch ``[*B]``) at ``times [*B]`` seconds (default 0).

    Args:
        edges: also compute the structural edge maps.
        max_elements: bound on ``frames x pixels x objects`` per chunk (memory).
        shading: compute ``rgb`` (textures, lights, shadow rays); without it only geometry
            buffers are filled and ``rgb`` is the sky colour.
        supersample: ``s > 1`` averages ``rgb`` over an ``s x s`` grid of sub-pixel samples
            (anti-aliasing, ``s^2`` the shading cost); geometry buffers stay exact at pixel centres.

    Returns the buffers listed in the module docstring, on the cameras' device.
    """
    device = cameras.device
    cw = _as_compiled(world, device)
    if supersample > 1 and shading:
        out = render(cw, cameras, times, edges, max_elements, shading=False)
        fine = render(cw, cameras.resize(cameras.height * supersample, cameras.width * supersample), times,
                      edges=False, max_elements=max_elements)["rgb"]
        H, W = cameras.height, cameras.width
        pooled = torch.nn.functional.avg_pool2d(fine.reshape(-1, 3, H * supersample, W * supersample), supersample)
        out["rgb"] = pooled.reshape(*fine.shape[:-2], H, W)
        return out
    batch = cameras.batch_shape
    cams = cameras.reshape(-1).to(device=device, dtype=torch.float32) if batch else cameras.reshape(1).to(dtype=torch.float32)
    F, H, W = cams.batch_shape[0], cams.height, cams.width
    times = torch.zeros(F, device=device) if times is None else times.reshape(-1).to(device=device, dtype=torch.float32)
    o_all, d_all = cams.rays()
    o_all, d_all = o_all.reshape(F, H * W, 3), d_all.reshape(F, H * W, 3)
    forward = cams.c2w[:, :3, 2]  # [F, 3] optical axis in world
    poses_all = cw.poses(times)  # [F, N, 4, 4]

    N = cw.num_objects
    if max_elements is None:
        max_elements = 2**26 if device.type == "cuda" else 2**21
    out = {
        "rgb": torch.zeros(F, H * W, 3, device=device),
        "depth": torch.zeros(F, H * W, device=device),
        "normals": torch.zeros(F, H * W, 3, device=device),
        "object": torch.full((F, H * W), -1, dtype=torch.long, device=device),
        "face": torch.full((F, H * W), -1, dtype=torch.long, device=device),
        "points_obj": torch.zeros(F, H * W, 3, device=device),
    }
    for f0, f1, p0, p1 in _frame_chunks(F, H * W, N, max_elements):
        o, d = o_all[f0:f1, p0:p1], d_all[f0:f1, p0:p1]
        poses = poses_all[f0:f1]
        hits = trace(cw, o, d, poses)
        hit = hits.obj >= 0
        fi, pi = hit.nonzero(as_tuple=True)
        rgb = sky_color(cw, d)
        if fi.numel():
            obj, t = hits.obj[fi, pi], hits.t[fi, pi]
            oh, dh = o[fi, pi], d[fi, pi]
            s = surface(cw, oh, dh, t, obj, hits.tri[fi, pi], poses[fi, obj])
            if shading:
                color = _shade(cw, oh, dh, t, s, cw.material[obj], poses, fi, pi, o.shape[:2])
                fog = 1 - torch.exp(-t / cw.sky["fog"])
                rgb[fi, pi] = torch.lerp(color, cw.sky["horizon"].expand_as(color), fog[:, None])
            sl = (slice(f0, f1), slice(p0, p1))
            out["depth"][sl][fi, pi] = t * (dh * forward[f0:f1][fi]).sum(-1)
            out["normals"][sl][fi, pi] = s.n_world
            out["object"][sl][fi, pi] = obj
            out["face"][sl][fi, pi] = cw.part_base[obj] + s.part
            out["points_obj"][sl][fi, pi] = s.p_obj
        out["rgb"][f0:f1, p0:p1] = rgb.clamp(0, 1)

    obj = out["object"]
    out["mask"] = obj >= 0
    out["instance"] = torch.where(obj >= 0, cw.instance[obj.clamp_min(0)], obj)
    shaped = {}
    for k, v in out.items():
        v = v.reshape(F, H, W, *v.shape[2:])
        if k == "rgb":
            v = v.permute(0, 3, 1, 2)
        shaped[k] = v.reshape(*batch, *v.shape[1:])
    if edges:
        from genscene.render.edges import structural_edges

        shaped["edges"] = structural_edges(shaped["depth"], shaped["normals"], shaped["instance"], shaped["face"])
    return shaped


def optical_flow(
    world: World | CompiledWorld,
    src: dict[str, Tensor],
    cameras_dst: Cameras,
    times_dst: Tensor | None = None,
    depth_dst: Tensor | None = None,
    rel_tol: float = 0.02,
) -> tuple[Tensor, Tensor]:
    """Forward flow from the frames of ``src`` (a :func:`render` output) to cameras ``cameras_dst``.

    Each source pixel's object-space hit point is moved by its object's pose at ``times_dst`` and
    projected into the destination camera, so object motion is included.

    Args:
        src: render output of batch ``[*B]`` (uses ``points_obj``, ``object``).
        cameras_dst: destination cameras of batch ``[*B]`` (same image size as ``src``).
        times_dst: destination times ``[*B]`` (seconds; default 0).
        depth_dst: destination z-depth ``[*B, H, W]`` for the occlusion test; without it only
            the in-image test applies.
        rel_tol: relative depth tolerance of the visibility test.

    Returns:
        flow ``[*B, H, W, 2]`` in pixels (``uv_dst - uv_src``) and valid ``[*B, H, W]`` bool.
    """
    device = cameras_dst.device
    cw = _as_compiled(world, device)
    batch = cameras_dst.batch_shape
    H, W = src["object"].shape[-2:]
    cams_b = cameras_dst.reshape(-1).to(dtype=torch.float32)
    F = cams_b.batch_shape[0]
    times = torch.zeros(F, device=device) if times_dst is None else times_dst.reshape(-1).to(device=device, dtype=torch.float32)
    obj = src["object"].reshape(F, H * W)
    p_obj = src["points_obj"].reshape(F, H * W, 3)
    poses = cw.poses(times)  # [F, N, 4, 4]
    P = torch.gather(poses, 1, obj.clamp_min(0)[..., None, None].expand(-1, -1, 4, 4))
    x = rotate(P[..., :3, :3], p_obj) + P[..., :3, 3]
    uv_b, z_b = project(x, cams_b)
    uv_a = cams_b.pixel_grid(H, W).reshape(1, H * W, 2).to(uv_b)
    flow = uv_b - uv_a
    valid = (obj >= 0) & (z_b > 1e-6) & (uv_b[..., 0] >= 0) & (uv_b[..., 0] < W) & (uv_b[..., 1] >= 0) & (uv_b[..., 1] < H)
    if depth_dst is not None:
        db = depth_dst.reshape(F, H, W)
        col = uv_b[..., 0].floor().long().clamp(0, W - 1)
        row = uv_b[..., 1].floor().long().clamp(0, H - 1)
        seen = torch.gather(db.reshape(F, H * W), 1, row * W + col)
        valid &= (seen > 0) & ((seen - z_b).abs() <= rel_tol * z_b)
    return flow.reshape(*batch, H, W, 2), valid.reshape(*batch, H, W)
