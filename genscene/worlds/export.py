"""Export a world as triangle meshes (.glb / .obj) for the mesh-to-video pipeline.

Each primitive is tessellated in its object frame, posed at the requested time, and given the
same planar texture coordinates the renderer uses (faces do not share vertices, so every triangle
keeps its own projection axis). Colours go out either as UV-mapped textures (one image per
texture, repeat wrapping) or as vertex colours sampled from the texture.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from genscene.worlds.materials import TEXTURE_SIZE, texture_image
from genscene.worlds.primitives import Box, Frustum, Plane, Prism, Sphere, TriMesh
from genscene.worlds.world import World

INFINITE_PLANE_HALF = 200.0  # metres: unbounded planes are cut to this half size


def _triangulate_polygon(poly: np.ndarray) -> list[tuple[int, int, int]]:
    """Ear clipping of a simple counter-clockwise polygon ``[V, 2]``."""
    idx = list(range(len(poly)))
    tris = []

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    guard = 0
    while len(idx) > 3 and guard < 10 * len(poly):
        guard += 1
        for k in range(len(idx)):
            i0, i1, i2 = idx[k - 1], idx[k], idx[(k + 1) % len(idx)]
            a, b, c = poly[i0], poly[i1], poly[i2]
            if cross(a, b, c) <= 1e-12:
                continue
            inside = any(cross(a, b, poly[j]) >= 0 and cross(b, c, poly[j]) >= 0 and cross(c, a, poly[j]) >= 0
                         for j in idx if j not in (i0, i1, i2))
            if not inside:
                tris.append((i0, i1, i2))
                idx.pop(k)
                break
    tris.append(tuple(idx[:3]))
    return tris


def _revolve(r0: float, r1: float, hh: float, segments: int) -> tuple[np.ndarray, np.ndarray]:
    ang = np.arange(segments) * 2 * math.pi / segments
    ring = np.stack([np.cos(ang), np.sin(ang)], -1)
    bottom = np.concatenate([ring * r0, np.full((segments, 1), -hh)], -1)
    top = np.concatenate([ring * r1, np.full((segments, 1), hh)], -1)
    verts = np.concatenate([bottom, top, [[0, 0, -hh], [0, 0, hh]]])
    faces = []
    for j in range(segments):
        a, b = j, (j + 1) % segments
        faces += [(a, b, b + segments), (a, b + segments, a + segments)]
        faces += [(2 * segments, b, a), (2 * segments + 1, a + segments, b + segments)]
    return verts, np.asarray(faces)


def tessellate(shape, detail: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """Object-space triangles of ``shape``: vertices ``[V, 3]``, faces ``[F, 3]`` (outward, CCW)."""
    import trimesh

    if isinstance(shape, Box):
        m = trimesh.creation.box(extents=2 * np.asarray(shape.half))
        return np.asarray(m.vertices), np.asarray(m.faces)
    if isinstance(shape, Sphere):
        m = trimesh.creation.icosphere(subdivisions=3 if detail >= 32 else 2, radius=shape.radius)
        return np.asarray(m.vertices), np.asarray(m.faces)
    if isinstance(shape, Frustum):
        return _revolve(shape.r_bottom, shape.r_top, shape.half_height, detail)
    if isinstance(shape, Plane):
        hx = min(shape.half_x, INFINITE_PLANE_HALF)
        hy = min(shape.half_y, INFINITE_PLANE_HALF)
        v = np.array([[-hx, -hy, 0], [hx, -hy, 0], [hx, hy, 0], [-hx, hy, 0]], dtype=np.float64)
        return v, np.array([[0, 1, 2], [0, 2, 3]])
    if isinstance(shape, Prism):
        poly = np.asarray(shape.polygon, dtype=np.float64)
        n, hh = len(poly), shape.half_height
        verts = np.concatenate([np.c_[poly, np.full(n, -hh)], np.c_[poly, np.full(n, hh)]])
        cap = _triangulate_polygon(poly)
        faces = [(c, b, a) for a, b, c in cap] + [(a + n, b + n, c + n) for a, b, c in cap]
        for j in range(n):
            a, b = j, (j + 1) % n
            faces += [(a, b, b + n), (a, b + n, a + n)]
        return verts, np.asarray(faces)
    if isinstance(shape, TriMesh):
        return np.asarray(shape.vertices, dtype=np.float64), np.asarray(shape.faces)
    raise TypeError(f"tessellate: unsupported shape {type(shape).__name__}")


def _planar_uv(p: np.ndarray, n: np.ndarray) -> np.ndarray:
    """NumPy twin of :func:`genscene.worlds.render.planar_uv` (metres in the texture plane)."""
    from genscene.worlds.render import planar_uv

    return planar_uv(torch.from_numpy(p), torch.from_numpy(n)).numpy()


def world_meshes(world: World, time: float = 0.0, detail: int = 48) -> list[dict]:
    """Per object: world ``vertices [3F, 3]`` (unshared), ``faces [F, 3]``, texture ``uv [3F, 2]``
    (texture units, repeating), ``material`` index and ``instance`` id, posed at ``time`` seconds."""
    from genscene.worlds.compiled import compile_world

    poses = compile_world(world).poses(torch.tensor([time])).double()[0].numpy()  # [N, 4, 4]
    out = []
    for i, obj in enumerate(world.objects):
        v, f = tessellate(obj.shape, detail)
        tri = v[f]  # [F, 3, 3] object space
        n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        n /= np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
        p = tri.reshape(-1, 3)
        nn = np.repeat(n, 3, axis=0)
        mat = world.materials[obj.material]
        uv = _planar_uv(p, nn) / np.asarray(mat.scale) + np.asarray(mat.offset)
        world_p = p @ poses[i, :3, :3].T + poses[i, :3, 3]
        out.append({"vertices": world_p, "faces": np.arange(len(p)).reshape(-1, 3), "uv": uv,
                    "material": obj.material, "instance": obj.instance, "name": f"{i:04d}_{obj.name or 'object'}"})
    return out


def _vertex_colors(world: World, mesh: dict) -> np.ndarray:
    mat = world.materials[mesh["material"]]
    img = texture_image(mat.texture, TEXTURE_SIZE).astype(np.float64) / 255
    S = img.shape[0]
    px = np.floor(mesh["uv"] * S).astype(int) % S
    return np.clip(img[px[:, 1], px[:, 0]] * np.asarray(mat.tint), 0, 1)


def to_trimesh_scene(world: World, colors: str = "texture", time: float = 0.0, detail: int = 48):
    """A ``trimesh.Scene`` with one geometry per primitive."""
    import trimesh
    from PIL import Image

    scene = trimesh.Scene()
    materials = {}
    for mesh in world_meshes(world, time, detail):
        if colors == "vertex":
            rgba = np.c_[_vertex_colors(world, mesh), np.ones(len(mesh["vertices"]))]
            visual = trimesh.visual.ColorVisuals(vertex_colors=(rgba * 255).astype(np.uint8))
        else:
            mid = mesh["material"]
            if mid not in materials:
                mat = world.materials[mid]
                img = texture_image(mat.texture, TEXTURE_SIZE).astype(np.float64) * np.asarray(mat.tint)
                materials[mid] = trimesh.visual.material.PBRMaterial(
                    name=f"material_{mid}", baseColorTexture=Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)),
                    metallicFactor=0.0, roughnessFactor=1.0)
            uv = mesh["uv"].copy()
            uv[:, 1] = 1.0 - uv[:, 1]  # trimesh UVs have v up; ours have v down (row 0 at v = 0)
            visual = trimesh.visual.TextureVisuals(uv=uv, material=materials[mid])
        geom = trimesh.Trimesh(mesh["vertices"], mesh["faces"], visual=visual, process=False)
        scene.add_geometry(geom, geom_name=mesh["name"], node_name=mesh["name"])
    return scene


def export_world(world: World, path: str | Path, colors: str = "texture", time: float = 0.0, detail: int = 48,
                 overwrite: bool = True) -> Path:
    """Write ``world`` posed at ``time`` to ``path`` (.glb, or .obj + .mtl + textures), atomically per file.

    Every file it would write is checked first (:func:`genscene.atomic.check_output`): a folder is
    never replaced, and with ``overwrite=False`` no existing file is (the final renames check again).
    """
    from genscene.atomic import atomic_write_many, check_output

    path = Path(path)
    files = _export_files(to_trimesh_scene(world, colors, time, detail), path, colors)
    for file in files:
        check_output(file, overwrite)
    atomic_write_many(files, replace=overwrite)
    return path


def _export_files(scene, path: Path, colors: str) -> dict[Path, bytes]:
    """``{file: bytes}`` of a trimesh scene exported to ``path``; the mesh file first (it is renamed last)."""
    suffix = path.suffix.lower()
    if suffix == ".glb":
        return {path: scene.export(file_type="glb")}
    if suffix != ".obj":
        raise ValueError(f"export_world: expected .glb or .obj, got {path.name}")
    from trimesh.exchange.obj import export_obj

    text, extra = export_obj(scene, include_texture=colors == "texture", return_texture=True,
                             mtl_name=f"{path.stem}.mtl")
    return {path: text.encode("utf-8"), **{path.parent / name: blob for name, blob in extra.items()}}
