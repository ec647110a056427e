"""A :class:`World` packed into tensors on one device, grouped by primitive kind, for the renderer."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from genscene.worlds.materials import TEXTURE_SIZE, texture_image
from genscene.worlds.motion import MotionTable, object_poses
from genscene.worlds.primitives import Box, Frustum, Kind, Plane, Prism, Sphere, TriMesh
from genscene.worlds.world import World


@dataclass
class KindGroup:
    """The objects of one analytic kind."""

    objects: Tensor  # [Nk] long: object ids
    params: dict[str, Tensor]  # kind-specific, leading dim Nk


@dataclass
class CompiledWorld:
    """Tensors of a world on one device (float32)."""

    rest: Tensor  # [N, 4, 4] object-to-world at t = 0
    motion: MotionTable
    dynamic: bool
    kind: Tensor  # [N] long (Kind)
    group_index: Tensor  # [N] long: position of each object within its kind group
    bound_centre: Tensor  # [N, 3] object-space bounding-sphere centre
    bound_radius: Tensor  # [N] bounding-sphere radius (inf for unbounded planes)
    instance: Tensor  # [N] long
    material: Tensor  # [N] long
    casts_shadow: Tensor  # [N] bool
    part_base: Tensor  # [N] long: first global face id of each object
    groups: dict[Kind, KindGroup]
    tri_vertices: Tensor  # [T, 3, 3] object-space triangles of all meshes
    tri_owner: Tensor  # [T] long: object id of each triangle
    tri_local: Tensor  # [T] long: triangle index within its mesh
    meshes: list[tuple[int, int, int]]  # (object id, first triangle, end triangle) per mesh
    mat_texture: Tensor  # [M] long: atlas index
    mat_tint: Tensor  # [M, 3]
    mat_scale: Tensor  # [M, 2]
    mat_offset: Tensor  # [M, 2]
    mat_emissive: Tensor  # [M]
    mat_shiny: Tensor  # [M]
    atlas: Tensor  # [A, S, S, 3] uint8
    sun_direction: Tensor  # [3]
    sun_color: Tensor  # [3]
    ambient_sky: Tensor  # [3]
    ambient_ground: Tensor  # [3]
    point_lights: list[tuple[Tensor, Tensor, float, bool]]  # (position [3], colour [3], falloff, shadows)
    sky: dict[str, Tensor]  # zenith, horizon, ground [3]; sun_glow, fog [] scalars

    @property
    def device(self) -> torch.device:
        return self.rest.device

    @property
    def num_objects(self) -> int:
        return self.rest.shape[0]

    def to(self, device: str | torch.device) -> "CompiledWorld":
        """The same world on ``device`` (compiling is CPU-bound texture synthesis; moving is cheap)."""
        return _move(self, torch.device(device))

    def poses(self, times: Tensor) -> Tensor:
        """Object-to-world poses ``[F, N, 4, 4]`` at ``times [F]`` (seconds)."""
        times = times.to(self.rest)
        if not self.dynamic:
            return self.rest[None].expand(times.shape[0], -1, -1, -1)
        return object_poses(self.rest, self.motion, times)


def _move(obj, device: torch.device):
    """``obj`` with every tensor inside (dataclasses, dicts, lists, tuples) moved to ``device``."""
    if isinstance(obj, Tensor):
        return obj.to(device)
    if dataclasses.is_dataclass(obj):
        return dataclasses.replace(obj, **{f.name: _move(getattr(obj, f.name), device) for f in dataclasses.fields(obj)})
    if isinstance(obj, dict):
        return {k: _move(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_move(v, device) for v in obj)
    return obj


def _num_parts(shape) -> int:
    if isinstance(shape, Box):
        return 6
    if isinstance(shape, Frustum):
        return 3
    if isinstance(shape, Prism):
        return 2 + len(shape.polygon)
    if isinstance(shape, TriMesh):
        return len(shape.faces)
    return 1


def _bounding_sphere(shape) -> tuple[tuple[float, float, float], float]:
    """Object-space bounding sphere (centre, radius), slightly padded for float32 culling."""
    if isinstance(shape, Box):
        r = float(np.linalg.norm(shape.half))
    elif isinstance(shape, Sphere):
        r = shape.radius
    elif isinstance(shape, Frustum):
        r = float(np.hypot(max(shape.r_bottom, shape.r_top), shape.half_height))
    elif isinstance(shape, Plane):
        r = float(np.hypot(shape.half_x, shape.half_y))
    elif isinstance(shape, Prism):
        r = float(np.hypot(np.linalg.norm(np.asarray(shape.polygon), axis=-1).max(), shape.half_height))
    else:
        verts = np.asarray(shape.vertices)
        centre = 0.5 * (verts.min(0) + verts.max(0))
        r = float(np.linalg.norm(verts - centre, axis=-1).max())
        return tuple(centre.tolist()), r * 1.01 + 1e-3
    return (0.0, 0.0, 0.0), r * 1.01 + 1e-3


def compile_world(world: World, device: str | torch.device = "cpu") -> CompiledWorld:
    """Pack ``world`` into tensors on ``device``."""
    dev = torch.device(device)
    f32 = dict(dtype=torch.float32, device=dev)
    objs = world.objects
    rest = torch.tensor(np.stack([o.pose() for o in objs]), **f32)
    kinds = [o.shape.kind for o in objs]
    parts = torch.tensor([_num_parts(o.shape) for o in objs], dtype=torch.long)
    part_base = torch.cumsum(parts, 0) - parts

    groups: dict[Kind, KindGroup] = {}
    group_index = torch.zeros(len(objs), dtype=torch.long)
    for kind in (Kind.BOX, Kind.SPHERE, Kind.FRUSTUM, Kind.PLANE, Kind.PRISM):
        ids = [i for i, k in enumerate(kinds) if k == kind]
        if not ids:
            continue
        shapes = [objs[i].shape for i in ids]
        if kind == Kind.BOX:
            params = {"half": torch.tensor([s.half for s in shapes], **f32)}
        elif kind == Kind.SPHERE:
            params = {"radius": torch.tensor([s.radius for s in shapes], **f32)}
        elif kind == Kind.FRUSTUM:
            params = {"r0": torch.tensor([s.r_bottom for s in shapes], **f32),
                      "r1": torch.tensor([s.r_top for s in shapes], **f32),
                      "hh": torch.tensor([s.half_height for s in shapes], **f32)}
        elif kind == Kind.PLANE:
            params = {"hx": torch.tensor([s.half_x for s in shapes], **f32),
                      "hy": torch.tensor([s.half_y for s in shapes], **f32)}
        else:
            vmax = max(len(s.polygon) for s in shapes)
            poly = [list(s.polygon) + [s.polygon[-1]] * (vmax - len(s.polygon)) for s in shapes]
            params = {"poly": torch.tensor(poly, **f32), "hh": torch.tensor([s.half_height for s in shapes], **f32)}
        groups[kind] = KindGroup(torch.tensor(ids, dtype=torch.long, device=dev), params)
        group_index[ids] = torch.arange(len(ids))
    bounds = [_bounding_sphere(o.shape) for o in objs]

    tris, owner, local, meshes = [], [], [], []
    for i, o in enumerate(objs):
        if isinstance(o.shape, TriMesh):
            v = np.asarray(o.shape.vertices)[np.asarray(o.shape.faces)]
            meshes.append((i, len(owner), len(owner) + len(v)))
            tris.append(v)
            owner += [i] * len(v)
            local += list(range(len(v)))
    tri_vertices = torch.tensor(np.concatenate(tris) if tris else np.zeros((0, 3, 3)), **f32)

    specs = sorted({m.texture for m in world.materials}, key=repr)
    spec_index = {s: i for i, s in enumerate(specs)}
    atlas = torch.tensor(np.stack([texture_image(s, TEXTURE_SIZE) for s in specs]), dtype=torch.uint8, device=dev)
    mats = world.materials
    L, S = world.lighting, world.sky
    return CompiledWorld(
        rest=rest,
        motion=MotionTable.from_motions([o.motion for o in objs], dtype=torch.float32, device=dev),
        dynamic=world.is_dynamic,
        kind=torch.tensor([int(k) for k in kinds], dtype=torch.long, device=dev),
        group_index=group_index.to(dev),
        bound_centre=torch.tensor([b[0] for b in bounds], **f32),
        bound_radius=torch.tensor([b[1] for b in bounds], **f32),
        instance=torch.tensor([o.instance for o in objs], dtype=torch.long, device=dev),
        material=torch.tensor([o.material for o in objs], dtype=torch.long, device=dev),
        casts_shadow=torch.tensor([o.casts_shadow for o in objs], dtype=torch.bool, device=dev),
        part_base=part_base.to(dev),
        groups=groups,
        tri_vertices=tri_vertices,
        tri_owner=torch.tensor(owner, dtype=torch.long, device=dev),
        tri_local=torch.tensor(local, dtype=torch.long, device=dev),
        meshes=meshes,
        mat_texture=torch.tensor([spec_index[m.texture] for m in mats], dtype=torch.long, device=dev),
        mat_tint=torch.tensor([m.tint for m in mats], **f32),
        mat_scale=torch.tensor([m.scale for m in mats], **f32),
        mat_offset=torch.tensor([m.offset for m in mats], **f32),
        mat_emissive=torch.tensor([m.emissive for m in mats], **f32),
        mat_shiny=torch.tensor([m.shiny for m in mats], **f32),
        atlas=atlas,
        sun_direction=torch.nn.functional.normalize(torch.tensor(L.sun_direction, **f32), dim=0),
        sun_color=torch.tensor(L.sun_color, **f32),
        ambient_sky=torch.tensor(L.ambient_sky, **f32),
        ambient_ground=torch.tensor(L.ambient_ground, **f32),
        point_lights=[(torch.tensor(p.position, **f32), torch.tensor(p.color, **f32), float(p.falloff), p.shadows)
                      for p in L.point_lights],
        sky={"zenith": torch.tensor(S.zenith, **f32), "horizon": torch.tensor(S.horizon, **f32),
             "ground": torch.tensor(S.ground, **f32), "sun_glow": torch.tensor(S.sun_glow, **f32),
             "fog": torch.tensor(float(world.meta.get("fog_distance", float("inf"))), **f32)},
    )
