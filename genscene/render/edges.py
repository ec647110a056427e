"""Structural edges from G-buffers: VideoFrom3D's four edge types without Blender.

VideoFrom3D conditions on "silhouette, crease, object boundary and intersection" edges that a
modelling tool draws from the scene geometry. Here they are derived from per-pixel G-buffers
(z-depth, world normals, instance ids, optionally face ids) by comparing each pixel ``p`` with its
4-neighbours ``q``. Definitions (all maps are ``bool [*B, H, W]``):

* *covered*: ``depth > 0`` and finite. Empty pixels count as instance ``-1`` at infinite depth.
* *depth jump* between ``p`` and ``q``: exactly one of them is covered, or both are and the step
  in inverse depth ``s = 1/d_q - 1/d_p`` is (a) larger than ``depth_tol * max(1/d_p, 1/d_q)``
  and (b) differs by more than that from each neighbouring step along the same axis (the steps
  just before ``p`` and just after ``q``, where those pixels are covered; a second difference).
  Inverse depth is affine in pixel coordinates on any plane, so (b) keeps a grazing floor or
  wall from firing while a true occlusion step (flat on both sides) passes both tests.
* **silhouette**: the near side of a depth jump: covered ``p`` with a neighbour ``q`` across a
  depth jump that is empty or farther. Object against sky, object against a farther surface,
  or an object's own contour in front of its farther part.
* **boundary**: change of object id: ``id_p != id_q`` (empty = -1), drawn on the nearer pixel.
* **intersection**: change of object id with *no* depth jump: two objects' surfaces meet
  (a box standing on a floor, two touching objects), drawn on the nearer pixel.
* **crease**: same object id, no depth jump, and normals differ by more than ``crease_deg``
  (and, when ``face_ids`` are given, different faces), drawn on the nearer pixel.

"Drawn on the nearer pixel" keeps lines one pixel wide: an edge between ``p`` and ``q`` marks the
pixel with the smaller depth; exact ties mark the upper/left one.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

EDGE_TYPES = ("silhouette", "crease", "boundary", "intersection")


def structural_edges(
    depth: Tensor,
    normals: Tensor,
    instance_ids: Tensor,
    face_ids: Tensor | None = None,
    crease_deg: float = 30.0,
    depth_tol: float = 0.05,
) -> dict[str, Tensor]:
    """The four structural edge maps of VideoFrom3D from G-buffers (definitions: module docstring).

    Args:
        depth: z-depth ``[*B, H, W]``; ``<= 0`` or non-finite means empty.
        normals: world (or camera) normals ``[*B, H, W, 3]``; need not be unit length.
        instance_ids: object id per pixel ``[*B, H, W]`` (int, -1 = background).
        face_ids: optional triangle id per pixel ``[*B, H, W]`` (int, -1 = empty); when given a
            crease needs two different faces, so smooth shading noise inside a face never fires.
        crease_deg: angle between normals above which a crease is drawn.
        depth_tol: relative inverse-depth step that counts as a depth jump.

    Returns:
        ``{"silhouette", "crease", "boundary", "intersection"}`` -> bool ``[*B, H, W]``.
    """
    batch_shape = depth.shape[:-2]
    H, W = depth.shape[-2:]
    depth = depth.reshape(-1, H, W).to(torch.float64)
    normals = torch.nn.functional.normalize(normals.reshape(-1, H, W, 3).to(torch.float64), dim=-1)
    covered = torch.isfinite(depth) & (depth > 0)
    ids = torch.where(covered, instance_ids.reshape(-1, H, W).long(), torch.full_like(depth, -1).long())
    faces = None if face_ids is None else face_ids.reshape(-1, H, W).long()
    cos_crease = math.cos(math.radians(crease_deg))

    out = {name: torch.zeros_like(covered) for name in EDGE_TYPES}
    for dim in (-1, -2):  # horizontal pairs (j, j+1), then vertical pairs (i, i+1)
        pair = _pair_edges(depth, covered, normals, ids, faces, dim, depth_tol, cos_crease)
        near_first, near_second = _nearer_side(depth, covered, dim)
        for name, flags in pair.items():
            out[name] |= _scatter_to_pixels(flags & near_first, flags & near_second, dim)
    return {name: m.reshape(*batch_shape, H, W) for name, m in out.items()}


def _first(x: Tensor, dim: int) -> Tensor:
    """The first pixel of each neighbour pair along ``dim`` (left / top)."""
    return x.narrow(dim, 0, x.shape[dim] - 1)


def _second(x: Tensor, dim: int) -> Tensor:
    """The second pixel of each neighbour pair along ``dim`` (right / bottom)."""
    return x.narrow(dim, 1, x.shape[dim] - 1)


def _depth_jumps(depth: Tensor, covered: Tensor, dim: int, tol: float) -> Tensor:
    """Depth jump per neighbour pair along ``dim``: ``[N, H, W-1]`` or ``[N, H-1, W]``."""
    inv = torch.where(covered, 1.0 / depth.clamp_min(1e-12), torch.zeros_like(depth))
    step = _second(inv, dim) - _first(inv, dim)  # per pair
    scale = torch.maximum(_first(inv, dim), _second(inv, dim))
    big_step = step.abs() > tol * scale

    # Second difference against the neighbouring steps on either side (same axis).
    n = step.shape[dim]
    pad_shape = list(step.shape)
    pad_shape[dim] = 1
    nan_pad = step.new_full(pad_shape, float("nan"))
    cov_pair = _first(covered, dim) & _second(covered, dim)
    step_ok = torch.where(cov_pair, step, torch.full_like(step, float("nan")))
    before = torch.cat([nan_pad, step_ok.narrow(dim, 0, n - 1)], dim)
    after = torch.cat([step_ok.narrow(dim, 1, n - 1), nan_pad], dim)
    dev = torch.stack([(step - before).abs(), (step - after).abs()]).nan_to_num(float("inf"))
    dev = dev.min(0).values
    dev = torch.where(torch.isinf(dev), step.abs(), dev)  # no usable side: the plain step
    bent = dev > tol * scale

    one_covered = _first(covered, dim) ^ _second(covered, dim)
    return one_covered | (cov_pair & big_step & bent)


def _pair_edges(depth, covered, normals, ids, faces, dim, tol, cos_crease) -> dict[str, Tensor]:
    """Edge flags per neighbour pair along ``dim`` (before assigning them to a pixel)."""
    jump = _depth_jumps(depth, covered, dim, tol)
    any_cov = _first(covered, dim) | _second(covered, dim)
    both_cov = _first(covered, dim) & _second(covered, dim)
    id_change = (_first(ids, dim) != _second(ids, dim)) & any_cov
    ndim_normals = dim - 1  # normals carry a trailing channel axis
    cos = (_first(normals, ndim_normals) * _second(normals, ndim_normals)).sum(-1)
    crease = both_cov & ~jump & ~id_change & (cos < cos_crease)
    if faces is not None:
        crease &= _first(faces, dim) != _second(faces, dim)
    return {
        "silhouette": jump,
        "boundary": id_change,
        "intersection": id_change & both_cov & ~jump,
        "crease": crease,
    }


def _nearer_side(depth: Tensor, covered: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """Which pixel of each pair is nearer (empty = infinitely far; ties -> the first pixel)."""
    d = torch.where(covered, depth, torch.full_like(depth, float("inf")))
    a, b = _first(d, dim), _second(d, dim)
    first = (a <= b) & _first(covered, dim)
    second = (b < a) & _second(covered, dim)
    return first, second


def _scatter_to_pixels(on_first: Tensor, on_second: Tensor, dim: int) -> Tensor:
    """Pair flags -> pixel map ``[N, H, W]``: mark the first and/or second pixel of each pair."""
    pad_shape = list(on_first.shape)
    pad_shape[dim] = 1
    pad = on_first.new_zeros(pad_shape)
    return torch.cat([on_first, pad], dim) | torch.cat([pad, on_second], dim)


def depth_discontinuities(depth: Tensor, depth_tol: float = 0.05) -> Tensor:
    """Pixels on either side of a depth jump (definition above) ``bool [*B, H, W]``.

    Both sides are marked: with estimated depth the pixels straddling an occlusion edge are
    the unreliable ones ("flying pixels" interpolated between foreground and background).
    Empty pixels are never marked.
    """
    batch_shape = depth.shape[:-2]
    H, W = depth.shape[-2:]
    d = depth.reshape(-1, H, W).to(torch.float64)
    covered = torch.isfinite(d) & (d > 0)
    out = torch.zeros_like(covered)
    for dim in (-1, -2):
        jump = _depth_jumps(d, covered, dim, depth_tol)
        out |= _scatter_to_pixels(jump, jump, dim)
    return (out & covered).reshape(*batch_shape, H, W)
