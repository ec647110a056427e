"""User meshes (VideoFrom3D's coarse geometry, without Blender): loading and G-buffer rendering."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.errors import InputError, existing_file
from genscene.render.edges import structural_edges
from genscene.render.rasterize import Fragments, interpolate, rasterize

MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply", ".stl", ".off")


@dataclass
class MeshParts:
    """A mesh file flattened into one triangle list (scene-graph transforms applied).

    Attributes:
        vertices: world positions ``[V, 3]`` (float32, the file's own units and axes).
        faces: vertex indices ``[F, 3]`` (long).
        vertex_colors: RGB in [0, 1] ``[V, 3]`` (float32), or None when the file has none.
        instance_ids: which geometry of the file each face came from ``[F]`` (long, 0..G-1).
    """

    vertices: Tensor
    faces: Tensor
    vertex_colors: Tensor | None
    instance_ids: Tensor


def load_mesh(path: str | Path) -> tuple[Tensor, Tensor, Tensor | None]:
    """Load .obj / .glb / .ply (and .gltf / .stl / .off) through trimesh.

    Returns:
        ``(vertices [V, 3], faces [F, 3], vertex_colors [V, 3] | None)``; a file with several
        geometries is concatenated (see :func:`load_mesh_parts` for the per-geometry ids).

    Raises:
        InputError: missing, unreadable, or without any triangles.
    """
    parts = load_mesh_parts(path)
    return parts.vertices, parts.faces, parts.vertex_colors


def load_mesh_parts(path: str | Path) -> MeshParts:
    """Like :func:`load_mesh`, also returning a per-face instance id per geometry of the file."""
    import trimesh

    path = existing_file(path)
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise InputError(path, f"unsupported mesh format {path.suffix!r}; expected one of {MESH_SUFFIXES}")
    try:
        scene = trimesh.load(str(path), force="scene", process=False)
        geometries = scene.dump(concatenate=False) if len(scene.geometry) else []
    except Exception as err:  # trimesh raises many types on corrupt files
        raise InputError(path, f"cannot read mesh: {type(err).__name__}: {err}") from None
    meshes = [g for g in geometries if isinstance(g, trimesh.Trimesh) and len(g.faces) > 0]
    if not meshes:
        raise InputError(path, "no triangles in the file (empty, or a point cloud)", field="faces")

    verts, faces, colors, ids = [], [], [], []
    offset = 0
    any_color = False
    for i, m in enumerate(meshes):
        verts.append(np.asarray(m.vertices, dtype=np.float32))
        faces.append(np.asarray(m.faces, dtype=np.int64) + offset)
        ids.append(np.full(len(m.faces), i, dtype=np.int64))
        rgb = _vertex_colors(m)
        any_color |= rgb is not None
        colors.append(rgb if rgb is not None else np.full((len(m.vertices), 3), 0.5, np.float32))
        offset += len(m.vertices)
    vertices = torch.from_numpy(np.concatenate(verts))
    if not torch.isfinite(vertices).all():
        raise InputError(path, "non-finite vertex coordinates", field="vertices")
    return MeshParts(
        vertices=vertices,
        faces=torch.from_numpy(np.concatenate(faces)),
        vertex_colors=torch.from_numpy(np.concatenate(colors)) if any_color else None,
        instance_ids=torch.from_numpy(np.concatenate(ids)),
    )


def _vertex_colors(mesh) -> np.ndarray | None:
    """RGB in [0, 1] ``[V, 3]`` from vertex/face colours or a texture sampled at the vertices."""
    visual = mesh.visual
    try:
        if visual.kind == "texture":
            visual = visual.to_color()
        if visual.kind in ("vertex", "face"):
            return np.asarray(visual.vertex_colors, dtype=np.float32)[:, :3] / 255.0
    except Exception:  # a material without an image, etc.: treat as uncoloured
        return None
    return None


def face_normals(vertices: Tensor, faces: Tensor) -> Tensor:
    """Unit geometric normals ``[F, 3]`` (right-hand rule over the face's vertex order)."""
    tri = vertices[faces.long()]
    n = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    return torch.nn.functional.normalize(n, dim=-1)


def _per_pixel(per_face: Tensor, fid: Tensor) -> Tensor:
    """Gather ``per_face [F, ...]`` at face ids ``fid [B, H, W]`` (>= 0); zeros for a mesh without faces."""
    if per_face.shape[0] == 0:
        return per_face.new_zeros(*fid.shape, *per_face.shape[1:])
    return per_face[fid]


def render_mesh(
    vertices: Tensor,
    faces: Tensor,
    cameras: Cameras,
    vertex_colors: Tensor | None = None,
    instance_ids_per_face: Tensor | None = None,
    crease_deg: float = 30.0,
    near: float = 1e-3,
) -> dict:
    """Render G-buffers of a triangle mesh for ``B`` cameras.

    Args:
        vertices: ``[V, 3]`` world positions; faces: ``[F, 3]`` long.
        cameras: ``[B]`` (or unbatched -> ``B = 1``).
        vertex_colors: optional ``[V, 3]`` RGB in [0, 1], interpolated perspective-correctly.
        instance_ids_per_face: optional ``[F]`` object id per face (default: 0 for every face).
        crease_deg: crease threshold handed to :func:`structural_edges`.

    Returns:
        dict (floats in the dtype of ``vertices``) with ``depth [B, H, W]`` (z-depth, 0 where
        empty), ``normals [B, H, W, 3]`` (world, unit, flipped to face the camera; 0 where empty), ``face_ids [B, H, W]`` (-1 empty),
        ``instance_ids [B, H, W]`` (-1 empty), ``mask [B, H, W]`` bool, ``points [B, H, W, 3]``
        (world coordinate of the surface at each pixel: VideoFrom3D's coordinate-encoded
        render; 0 where empty), ``rgb [B, 3, H, W]`` when colours are given (0 where empty), and
        ``edges``: the dict of bool ``[B, H, W]`` maps from :func:`structural_edges`.
    """
    out_dtype = vertices.dtype if vertices.is_floating_point() else torch.float32
    vertices = vertices.to(torch.float64)
    faces = faces.long().to(vertices.device)
    frags: Fragments = rasterize(vertices, faces, cameras, near=near)
    mask = frags.mask
    fid = frags.face_ids.clamp_min(0)
    points = interpolate(vertices, faces, frags)  # [B, H, W, 3]

    cams = cameras if cameras.batch_shape else cameras.reshape(1)
    centers = cams.reshape(-1).centers.to(vertices)  # [B, 3]
    n = _per_pixel(face_normals(vertices, faces), fid)  # [B, H, W, 3]
    to_camera = centers[:, None, None, :] - points
    n = torch.where(((n * to_camera).sum(-1, keepdim=True) < 0), -n, n)
    normals = n * mask.unsqueeze(-1)

    if instance_ids_per_face is None:
        inst = torch.where(mask, 0, -1)
    else:
        inst = torch.where(mask, _per_pixel(instance_ids_per_face.long().to(fid.device), fid), -1)

    out = {
        "depth": frags.depth.to(out_dtype),
        "normals": normals.to(out_dtype),
        "face_ids": frags.face_ids,
        "instance_ids": inst,
        "mask": mask,
        "points": points.to(out_dtype),
    }
    if vertex_colors is not None:
        rgb = interpolate(vertex_colors, faces, frags).permute(0, 3, 1, 2)
        out["rgb"] = rgb.to(out_dtype).contiguous()
    out["edges"] = structural_edges(frags.depth, normals, inst, face_ids=frags.face_ids,
                                    crease_deg=crease_deg)
    return out
