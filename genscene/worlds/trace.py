"""Batched ray casting against a :class:`CompiledWorld`: nearest hit, then surface attributes.

Rays are grouped per frame, ``[F, P, 3]``, because all rays of a frame share the object poses of
that frame's time. Analytic kinds are intersected in each object's frame; mesh triangles are moved
to world space once per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from genscene.worlds.compiled import CompiledWorld
from genscene.worlds.primitives import (
    INF, Kind, box_normal, frustum_normal, intersect_box, intersect_frustum, intersect_plane,
    intersect_prism, intersect_sphere, intersect_triangles, plane_normal, prism_normal, sphere_normal,
)


@dataclass
class Hits:
    """Nearest hits of rays ``[F, P]``."""

    t: Tensor  # [F, P] ray parameter (inf = miss)
    obj: Tensor  # [F, P] long object id (-1 = miss)
    tri: Tensor  # [F, P] long global triangle index for mesh hits (-1 otherwise)


def rotate(R: Tensor, v: Tensor) -> Tensor:
    """``R @ v`` for ``R [..., 3, 3]``, ``v [..., 3]``, written out elementwise: batched 3x3
    products as matrix calls become one tiny GEMV per row on the GPU, far slower."""
    return R[..., 0] * v[..., 0:1] + R[..., 1] * v[..., 1:2] + R[..., 2] * v[..., 2:3]


def rotate_transposed(R: Tensor, v: Tensor) -> Tensor:
    """``R^T @ v`` elementwise (world -> object for an object-to-world rotation ``R``)."""
    return R[..., 0, :] * v[..., 0:1] + R[..., 1, :] * v[..., 1:2] + R[..., 2, :] * v[..., 2:3]


def _kernel(kind: Kind, o: Tensor, d: Tensor, p: dict[str, Tensor]) -> Tensor:
    if kind == Kind.BOX:
        return intersect_box(o, d, p["half"])
    if kind == Kind.SPHERE:
        return intersect_sphere(o, d, p["radius"])
    if kind == Kind.FRUSTUM:
        return intersect_frustum(o, d, p["r0"], p["r1"], p["hh"])
    if kind == Kind.PLANE:
        return intersect_plane(o, d, p["hx"], p["hy"])
    return intersect_prism(o, d, p["poly"], p["hh"])


def trace(cw: CompiledWorld, o: Tensor, d: Tensor, poses: Tensor, shadow: bool = False) -> Hits:
    """Nearest hit of rays ``o, d [F, P, 3]`` given object poses ``[F, N, 4, 4]``.

    Rays are first paired with the objects whose bounding spheres they meet (:func:`_candidates`);
    exact kernels then run on those pairs in object space (meshes too, triangle by triangle).

    With ``shadow`` only objects that cast shadows count.
    """
    F, P = o.shape[:2]
    best_t = o.new_full((F * P,), INF)
    best_obj = torch.full((F * P,), -1, dtype=torch.long, device=o.device)
    best_tri = torch.full((F * P,), -1, dtype=torch.long, device=o.device)
    fi, pi, ni = _candidates(cw, o, d, poses, shadow)
    if fi.numel():
        # Rays into the frames of their candidate objects: x_obj = R^T (x - t).
        pose = poses[0, ni, :3] if not cw.dynamic else poses[fi, ni, :3]  # [K, 3, 4]; static: one pose per object
        R = pose[:, :, :3]
        oo = rotate_transposed(R, o[fi, pi] - pose[:, :, 3])
        dd = rotate_transposed(R, d[fi, pi])
        t = torch.full_like(oo[:, 0], INF)
        tri = torch.full_like(ni, -1)
        kinds = cw.kind[ni]
        for kind, group in cw.groups.items():
            sel = (kinds == kind).nonzero().squeeze(-1)
            if sel.numel() == 0:
                continue
            gi = cw.group_index[ni[sel]]
            t[sel] = _kernel(kind, oo[sel], dd[sel], {k: v[gi] for k, v in group.params.items()})
        for obj_id, t0, t1 in cw.meshes:
            sel = (ni == obj_id).nonzero().squeeze(-1)
            if sel.numel() == 0:
                continue
            tm = intersect_triangles(oo[sel][None], dd[sel][None], cw.tri_vertices[t0:t1][None])[0]  # [K_m, T_m]
            t[sel], local = tm.min(-1)
            tri[sel] = t0 + local
        ray = fi * P + pi
        best_t.scatter_reduce_(0, ray, t, reduce="amin")
        win = (t == best_t[ray]) & torch.isfinite(t)
        best_obj[ray[win]] = ni[win]
        best_tri[ray[win]] = tri[win]
    return Hits(best_t.view(F, P), best_obj.view(F, P), best_tri.view(F, P))


def _candidates(cw: CompiledWorld, o: Tensor, d: Tensor, poses: Tensor, shadow: bool) -> tuple[Tensor, Tensor, Tensor]:
    """(frame, pixel, object) index triples whose ray meets the object's bounding sphere ahead.

    Uses only ``[F, P, N]`` tensors built by matrix products, so culling is cheap compared with the
    exact kernels, which then run on the candidate pairs alone.
    """
    centres = torch.einsum("fnij,nj->fni", poses[..., :3, :3], cw.bound_centre) + poses[..., :3, 3]  # [F, N, 3]
    b = torch.einsum("fpc,fnc->fpn", d, centres) - (o * d).sum(-1, keepdim=True)  # (c - o) . d
    dist2 = ((centres * centres).sum(-1)[:, None, :] - 2 * torch.einsum("fpc,fnc->fpn", o, centres)
             + (o * o).sum(-1, keepdim=True))
    r2 = cw.bound_radius**2
    # Meets the sphere (disc >= 0) ahead of the origin: centre ahead (b > 0) or origin inside.
    near = (b * b - dist2 + r2 >= 0) & ((b > 0) | (dist2 < r2))
    if shadow:
        near &= cw.casts_shadow
    return near.nonzero(as_tuple=True)


@dataclass
class Surface:
    """Attributes of the hit points of the ``M`` rays that hit something."""

    p_obj: Tensor  # [M, 3] object-space hit point
    n_obj: Tensor  # [M, 3] object-space outward normal
    n_world: Tensor  # [M, 3] world normal, facing the ray
    part: Tensor  # [M] long: part (face) index within the object


def surface(cw: CompiledWorld, o: Tensor, d: Tensor, t: Tensor, obj: Tensor, tri: Tensor, pose: Tensor) -> Surface:
    """Surface attributes for hit rays ``o, d [M, 3]``, ``t, obj, tri [M]``, object poses ``pose [M, 4, 4]``."""
    R, tr = pose[:, :3, :3], pose[:, :3, 3]
    x = o + t[:, None] * d
    p = rotate_transposed(R, x - tr)
    n = torch.zeros_like(p)
    part = torch.zeros_like(obj)
    kind = cw.kind[obj]
    for k, group in cw.groups.items():
        sel = kind == k
        if not sel.any():
            continue
        gi = cw.group_index[obj[sel]]  # position within the kind group, to gather parameters
        ps = p[sel]
        g = group.params
        if k == Kind.BOX:
            n_k, part_k = box_normal(ps, g["half"][gi])
        elif k == Kind.SPHERE:
            n_k, part_k = sphere_normal(ps)
        elif k == Kind.FRUSTUM:
            n_k, part_k = frustum_normal(ps, g["r0"][gi], g["r1"][gi], g["hh"][gi])
        elif k == Kind.PLANE:
            n_k, part_k = plane_normal(ps)
        else:
            n_k, part_k = prism_normal(ps, g["poly"][gi], g["hh"][gi])
        n[sel], part[sel] = n_k, part_k
    mesh = tri >= 0
    if mesh.any():
        v = cw.tri_vertices[tri[mesh]]
        n[mesh] = torch.nn.functional.normalize(torch.linalg.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]), dim=-1)
        part[mesh] = cw.tri_local[tri[mesh]]
    nw = rotate(R, n)
    facing = (nw * d).sum(-1) > 0
    nw = torch.where(facing[:, None], -nw, nw)
    return Surface(p, n, nw, part)
