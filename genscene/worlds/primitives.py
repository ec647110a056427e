"""Analytic primitives of the procedural worlds and their batched ray-intersection kernels.

Every shape lives in its own object frame (a rigid object-to-world pose moves it). Kernels take
rays already expressed in each object's frame, ``o, d [..., N, 3]`` (``N`` objects of one kind,
``d`` unit length) and return the ray parameter of the nearest hit ``t [..., N]`` (``inf`` = miss).
Normals and part ids are computed afterwards, only for the winning object of each ray, from the
object-space hit point (:func:`surface_normal`), so the kernels stay small and fully vectorised.

World axes are z-up (gravity along -z); object frames follow the same habit (cylinders, cones and
prisms have their axis along object z).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genscene.errors import InputError

EPS_T = 1e-4  # hits closer than this along a ray are ignored (self-intersection of shadow rays)
INF = float("inf")


class Kind(IntEnum):
    """Primitive kinds; each has one kernel below."""

    BOX = 0
    SPHERE = 1
    FRUSTUM = 2  # capped truncated cone: cylinders (r0 == r1) and cones (r1 == 0)
    PLANE = 3  # rectangle in the object xy-plane (half sizes may be inf for a ground plane)
    PRISM = 4  # 2D polygon in the object xy-plane extruded along z
    MESH = 5  # triangles, intersected in world space


@dataclass(frozen=True)
class Box:
    """Axis-aligned box centred at the object origin."""

    half: tuple[float, float, float]
    """Half extents along object x, y, z (m)."""

    kind = Kind.BOX


@dataclass(frozen=True)
class Sphere:
    """Sphere centred at the object origin."""

    radius: float
    """Radius (m)."""

    kind = Kind.SPHERE


@dataclass(frozen=True)
class Frustum:
    """Capped truncated cone along object z, from ``z = -half_height`` (radius ``r_bottom``) to ``+half_height``."""

    r_bottom: float
    """Radius of the bottom cap (m)."""
    r_top: float
    """Radius of the top cap (m); 0 gives a cone, ``r_bottom`` a cylinder."""
    half_height: float
    """Half of the height along object z (m)."""

    kind = Kind.FRUSTUM


def Cylinder(radius: float, half_height: float) -> Frustum:
    """A capped cylinder along object z."""
    return Frustum(radius, radius, half_height)


def Cone(radius: float, half_height: float) -> Frustum:
    """A cone along object z, base at ``z = -half_height``, apex at ``+half_height``."""
    return Frustum(radius, 0.0, half_height)


@dataclass(frozen=True)
class Plane:
    """Rectangle ``|x| <= half_x, |y| <= half_y`` in the object plane ``z = 0`` (two-sided)."""

    half_x: float
    """Half size along object x (m); inf for an unbounded plane."""
    half_y: float
    """Half size along object y (m); inf for an unbounded plane."""

    kind = Kind.PLANE


@dataclass(frozen=True)
class Prism:
    """A simple 2D polygon in the object xy-plane extruded from ``z = -half_height`` to ``+half_height``."""

    polygon: tuple[tuple[float, float], ...]
    """Vertices ``(x, y)`` of a simple polygon, counter-clockwise (normalised on construction)."""
    half_height: float
    """Half of the extrusion height (m)."""

    kind = Kind.PRISM

    def __post_init__(self) -> None:
        poly = np.asarray(self.polygon, dtype=np.float64)
        if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 3:
            raise ValueError(f"Prism.polygon: expected >= 3 (x, y) vertices, got shape {poly.shape}")
        if _signed_area(poly) < 0:
            object.__setattr__(self, "polygon", tuple(map(tuple, poly[::-1].tolist())))


@dataclass(frozen=True)
class TriMesh:
    """A triangle mesh in object coordinates (a loaded or generated mesh)."""

    vertices: tuple[tuple[float, float, float], ...]
    """Vertex positions ``[V, 3]`` (m)."""
    faces: tuple[tuple[int, int, int], ...]
    """Triangles ``[F, 3]`` as vertex indices, counter-clockwise seen from outside."""

    kind = Kind.MESH

    @classmethod
    def from_arrays(cls, vertices: np.ndarray, faces: np.ndarray) -> "TriMesh":
        return cls(tuple(map(tuple, np.asarray(vertices, float).tolist())),
                   tuple(map(tuple, np.asarray(faces, int).tolist())))

    @classmethod
    def from_file(cls, path: str | Path, size: float | None = None) -> "TriMesh":
        """Load a mesh file (.obj/.ply/.glb/.stl via trimesh), optionally rescaled to ``size`` m across."""
        import trimesh

        try:
            mesh = trimesh.load(str(path), force="mesh")
        except Exception as err:  # trimesh raises many types for unreadable files
            raise InputError(path, f"cannot read mesh: {err}") from err
        if len(mesh.faces) == 0:
            raise InputError(path, "mesh has no triangles")
        verts = np.asarray(mesh.vertices, dtype=np.float64)
        verts = verts - 0.5 * (verts.min(0) + verts.max(0))
        if size is not None:
            verts = verts * (size / max(np.ptp(verts, axis=0).max(), 1e-12))
        return cls.from_arrays(verts, np.asarray(mesh.faces))


Shape = Box | Sphere | Frustum | Plane | Prism | TriMesh


def _signed_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


# ------------------------------------------------------------------------------ kernels
def _first_positive(*candidates: Tensor) -> Tensor:
    """Smallest candidate ``> EPS_T`` per element (inf if none); candidates are NaN/inf for misses."""
    best = torch.full_like(candidates[0], INF)
    for c in candidates:
        ok = c > EPS_T
        best = torch.where(ok & (c < best), c, best)
    return best


def intersect_box(o: Tensor, d: Tensor, half: Tensor) -> Tensor:
    """Slab test. ``o, d [..., N, 3]``, ``half [N, 3]`` -> ``t [..., N]``."""
    inv = 1.0 / torch.where(d.abs() < 1e-12, torch.full_like(d, 1e-12), d)
    t1 = (-half - o) * inv
    t2 = (half - o) * inv
    t_near = torch.minimum(t1, t2).amax(-1)
    t_far = torch.maximum(t1, t2).amin(-1)
    hit = t_far >= t_near
    t = torch.where(t_near > EPS_T, t_near, t_far)  # from inside a box: its far side
    return torch.where(hit & (t > EPS_T), t, torch.full_like(t, INF))


def intersect_sphere(o: Tensor, d: Tensor, radius: Tensor) -> Tensor:
    """``o, d [..., N, 3]``, ``radius [N]`` -> ``t [..., N]``."""
    b = (o * d).sum(-1)
    c = (o * o).sum(-1) - radius**2
    disc = b * b - c
    root = disc.clamp_min(0).sqrt()
    t = _first_positive(-b - root, -b + root)
    return torch.where(disc >= 0, t, torch.full_like(t, INF))


def intersect_frustum(o: Tensor, d: Tensor, r0: Tensor, r1: Tensor, hh: Tensor) -> Tensor:
    """Capped truncated cone. ``o, d [..., N, 3]``, ``r0, r1, hh [N]`` -> ``t [..., N]``.

    Side: ``x^2 + y^2 = (a + k z)^2`` with ``k = (r1 - r0) / 2hh`` and ``a`` the radius at ``z = 0``;
    only the nappe with ``a + k z >= 0`` and ``|z| <= hh`` counts.
    """
    k = (r1 - r0) / (2 * hh)
    a = r0 + k * hh
    ox, oy, oz = o.unbind(-1)
    dx, dy, dz = d.unbind(-1)
    rz = a + k * oz
    A = dx * dx + dy * dy - (k * dz) ** 2
    B = 2 * (ox * dx + oy * dy - k * dz * rz)
    C = ox * ox + oy * oy - rz * rz
    disc = B * B - 4 * A * C
    root = disc.clamp_min(0).sqrt()
    safe_A = torch.where(A.abs() < 1e-9, torch.ones_like(A), A)
    linear = A.abs() < 1e-9
    s1 = torch.where(linear, -C / torch.where(B.abs() < 1e-12, torch.ones_like(B), B), (-B - root) / (2 * safe_A))
    s2 = torch.where(linear, torch.full_like(A, INF), (-B + root) / (2 * safe_A))
    bad = (disc < 0) & ~linear

    def side_ok(s: Tensor) -> Tensor:
        z = oz + s * dz
        return torch.where(~bad & (z.abs() <= hh) & (a + k * z >= 0), s, torch.full_like(s, INF))

    def cap(z0: Tensor, r: Tensor) -> Tensor:
        s = (z0 - oz) / torch.where(dz.abs() < 1e-12, torch.full_like(dz, 1e-12), dz)
        x, y = ox + s * dx, oy + s * dy
        return torch.where(x * x + y * y <= r * r, s, torch.full_like(s, INF))

    return _first_positive(side_ok(s1), side_ok(s2), cap(-hh, r0), cap(hh, r1))


def intersect_plane(o: Tensor, d: Tensor, hx: Tensor, hy: Tensor) -> Tensor:
    """Rectangle in ``z = 0``. ``o, d [..., N, 3]``, ``hx, hy [N]`` -> ``t [..., N]``."""
    dz = d[..., 2]
    t = -o[..., 2] / torch.where(dz.abs() < 1e-12, torch.full_like(dz, 1e-12), dz)
    x = o[..., 0] + t * d[..., 0]
    y = o[..., 1] + t * d[..., 1]
    ok = (t > EPS_T) & (x.abs() <= hx) & (y.abs() <= hy)
    return torch.where(ok, t, torch.full_like(t, INF))


def intersect_prism(o: Tensor, d: Tensor, poly: Tensor, hh: Tensor) -> Tensor:
    """Extruded polygon. ``o, d [..., N, 3]``, ``poly [N, V, 2]`` (padded by repeating the last
    vertex, which adds only zero-length edges), ``hh [N]`` -> ``t [..., N]``."""
    a = poly  # [N, V, 2]
    e = torch.roll(poly, -1, dims=-2) - poly  # edge vectors [N, V, 2]
    o2, d2 = o[..., None, :2], d[..., None, :2]  # [..., N, 1, 2]
    oz, dz = o[..., 2], d[..., 2]
    denom = d2[..., 0] * e[..., 1] - d2[..., 1] * e[..., 0]
    safe = torch.where(denom.abs() < 1e-12, torch.full_like(denom, 1e-12), denom)
    ao = a - o2
    s = (ao[..., 0] * e[..., 1] - ao[..., 1] * e[..., 0]) / safe  # ray parameter
    u = (ao[..., 0] * d2[..., 1] - ao[..., 1] * d2[..., 0]) / safe  # edge parameter
    z = oz[..., None] + s * dz[..., None]
    side_ok = (denom.abs() >= 1e-12) & (u >= 0) & (u <= 1) & (z.abs() <= hh[:, None]) & (s > EPS_T)
    t_side = torch.where(side_ok, s, torch.full_like(s, INF)).amin(-1)

    def cap(z0: Tensor) -> Tensor:
        sc = (z0 - oz) / torch.where(dz.abs() < 1e-12, torch.full_like(dz, 1e-12), dz)
        p = o[..., :2] + sc[..., None] * d[..., :2]
        inside = point_in_polygon(p, poly)
        return torch.where(inside & (sc > EPS_T), sc, torch.full_like(sc, INF))

    return torch.minimum(t_side, torch.minimum(cap(-hh), cap(hh)))


def point_in_polygon(p: Tensor, poly: Tensor) -> Tensor:
    """Even-odd test. ``p [..., N, 2]``, ``poly [N, V, 2]`` -> bool ``[..., N]``."""
    a = poly
    b = torch.roll(poly, -1, dims=-2)
    px, py = p[..., None, 0], p[..., None, 1]
    crosses = (a[..., 1] > py) != (b[..., 1] > py)
    dy = b[..., 1] - a[..., 1]
    x_at = a[..., 0] + (py - a[..., 1]) * (b[..., 0] - a[..., 0]) / torch.where(dy == 0, torch.ones_like(dy), dy)
    return ((crosses & (px < x_at)).sum(-1) % 2) == 1


def intersect_triangles(o: Tensor, d: Tensor, tri: Tensor) -> Tensor:
    """Möller-Trumbore. ``o, d [F, P, 3]`` world rays, ``tri [F, T, 3, 3]`` world triangles -> ``t [F, P, T]``."""
    v0, v1, v2 = tri[..., 0, :], tri[..., 1, :], tri[..., 2, :]  # [F, T, 3]
    e1, e2 = (v1 - v0)[:, None], (v2 - v0)[:, None]  # [F, 1, T, 3]
    dd = d[:, :, None, :]
    pvec = torch.cross(dd, e2.expand(*dd.shape[:2], *e2.shape[2:]), dim=-1)
    det = (e1 * pvec).sum(-1)
    inv = 1.0 / torch.where(det.abs() < 1e-12, torch.full_like(det, 1e-12), det)
    tvec = o[:, :, None, :] - v0[:, None]
    u = (tvec * pvec).sum(-1) * inv
    qvec = torch.cross(tvec, e1.expand_as(tvec), dim=-1)
    v = (dd * qvec).sum(-1) * inv
    t = (e2 * qvec).sum(-1) * inv
    ok = (det.abs() >= 1e-12) & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > EPS_T)
    return torch.where(ok, t, torch.full_like(t, INF))


# ------------------------------------------------------------------------------ normals
def box_normal(p: Tensor, half: Tensor) -> tuple[Tensor, Tensor]:
    """Outward normal and face id (0..5: -x, +x, -y, +y, -z, +z) at box surface points ``p [M, 3]``."""
    axis = (p.abs() / half).argmax(-1)
    sign = torch.gather(p, -1, axis[:, None]).squeeze(-1) >= 0
    n = torch.zeros_like(p)
    n.scatter_(-1, axis[:, None], torch.where(sign, 1.0, -1.0).to(p.dtype)[:, None])
    return n, axis * 2 + sign.long()


def frustum_normal(p: Tensor, r0: Tensor, r1: Tensor, hh: Tensor) -> tuple[Tensor, Tensor]:
    """Normal and part (0 side, 1 bottom cap, 2 top cap) at frustum surface points ``p [M, 3]``."""
    k = (r1 - r0) / (2 * hh)
    rho = p[:, :2].norm(dim=-1).clamp_min(1e-9)
    r_at = r0 + k * (p[:, 2] + hh)
    side_dist = (rho - r_at).abs() / torch.sqrt(1 + k * k)
    bottom, top = (p[:, 2] + hh).abs(), (p[:, 2] - hh).abs()
    side = torch.stack([p[:, 0] / rho, p[:, 1] / rho, -k], -1)
    side = torch.nn.functional.normalize(side, dim=-1)
    part = torch.stack([side_dist, bottom, top], -1).argmin(-1)
    n = side.clone()
    n[part == 1] = torch.tensor([0.0, 0.0, -1.0], dtype=p.dtype, device=p.device)
    n[part == 2] = torch.tensor([0.0, 0.0, 1.0], dtype=p.dtype, device=p.device)
    return n, part


def prism_normal(p: Tensor, poly: Tensor, hh: Tensor) -> tuple[Tensor, Tensor]:
    """Normal and part (0 bottom, 1 top, 2 + edge index) at prism surface points.

    ``p [M, 3]``, ``poly [M, V, 2]`` (the winning prism's polygon per point), ``hh [M]``.
    """
    a = poly
    e = torch.roll(poly, -1, dims=-2) - poly
    len2 = (e * e).sum(-1).clamp_min(1e-18)
    u = (((p[:, None, :2] - a) * e).sum(-1) / len2).clamp(0, 1)
    closest = a + u[..., None] * e
    edge_dist = (p[:, None, :2] - closest).norm(dim=-1)
    edge_dist = torch.where((e * e).sum(-1) < 1e-18, torch.full_like(edge_dist, INF), edge_dist)
    best_edge_dist, edge = edge_dist.min(-1)
    cap_dist = hh - p[:, 2].abs()
    on_cap = cap_dist < best_edge_dist
    ev = torch.gather(e, 1, edge[:, None, None].expand(-1, 1, 2)).squeeze(1)
    side = torch.nn.functional.normalize(torch.stack([ev[:, 1], -ev[:, 0], torch.zeros_like(ev[:, 0])], -1), dim=-1)
    cap_n = torch.zeros_like(p)
    cap_n[:, 2] = torch.where(p[:, 2] >= 0, 1.0, -1.0)
    n = torch.where(on_cap[:, None], cap_n, side)
    part = torch.where(on_cap, (p[:, 2] >= 0).long(), edge + 2)
    return n, part


def sphere_normal(p: Tensor) -> tuple[Tensor, Tensor]:
    return torch.nn.functional.normalize(p, dim=-1), torch.zeros(p.shape[0], dtype=torch.long, device=p.device)


def plane_normal(p: Tensor) -> tuple[Tensor, Tensor]:
    n = torch.zeros_like(p)
    n[:, 2] = 1
    return n, torch.zeros(p.shape[0], dtype=torch.long, device=p.device)


# ------------------------------------------------------------------------------ occupancy
def inside_shape(shape: Shape, p: np.ndarray, margin: float) -> np.ndarray:
    """Whether object-space points ``p [M, 3]`` lie inside ``shape`` grown by ``margin`` (bool ``[M]``).

    Used to keep cameras in free space; conservative (grows the bounding volume) where exact is costly.
    """
    if isinstance(shape, Box):
        return np.all(np.abs(p) <= np.asarray(shape.half) + margin, axis=-1)
    if isinstance(shape, Sphere):
        return np.linalg.norm(p, axis=-1) <= shape.radius + margin
    if isinstance(shape, Frustum):
        r = max(shape.r_bottom, shape.r_top) + margin
        return (np.linalg.norm(p[:, :2], axis=-1) <= r) & (np.abs(p[:, 2]) <= shape.half_height + margin)
    if isinstance(shape, Plane):
        return (np.abs(p[:, 2]) <= margin) & (np.abs(p[:, 0]) <= shape.half_x + margin) & (
            np.abs(p[:, 1]) <= shape.half_y + margin)
    if isinstance(shape, Prism):
        poly = np.asarray(shape.polygon)
        lo, hi = poly.min(0) - margin, poly.max(0) + margin
        in_xy = np.all((p[:, :2] >= lo) & (p[:, :2] <= hi), axis=-1)
        return in_xy & (np.abs(p[:, 2]) <= shape.half_height + margin)
    verts = np.asarray(shape.vertices)
    return np.all((p >= verts.min(0) - margin) & (p <= verts.max(0) + margin), axis=-1)
