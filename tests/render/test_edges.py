"""Structural edges on tiny hand-made G-buffers whose edge pixels are known exactly."""

from __future__ import annotations

import math

import torch

from genscene.render.edges import structural_edges

H, W = 10, 12


def _box_in_front_of_wall():
    """Wall (id 0) at depth 4; box (id 1) rows 3..6: front face cols 3..6 at depth 2, side face
    cols 7..8 receding slowly (continuous depth) with a normal 45 degrees away."""
    depth = torch.full((H, W), 4.0)
    normals = torch.zeros(H, W, 3)
    normals[..., 2] = -1.0
    ids = torch.zeros(H, W, dtype=torch.long)
    depth[3:7, 3:7] = 2.0
    depth[3:7, 7] = 2.02
    depth[3:7, 8] = 2.04
    normals[3:7, 7:9] = torch.tensor([1.0, 0.0, -1.0]) / math.sqrt(2)
    ids[3:7, 3:9] = 1
    return depth, normals, ids


def _mask(cells) -> torch.Tensor:
    m = torch.zeros(H, W, dtype=torch.bool)
    for i, j in cells:
        m[i, j] = True
    return m


def test_box_in_front_of_wall():
    depth, normals, ids = _box_in_front_of_wall()
    e = structural_edges(depth, normals, ids)
    outline = _mask([(i, j) for i in range(3, 7) for j in range(3, 9) if i in (3, 6) or j in (3, 8)])
    assert torch.equal(e["silhouette"], outline)
    assert torch.equal(e["boundary"], outline)  # box vs wall: an id change drawn on the box
    assert not e["intersection"].any()  # the box floats: no surfaces meet
    # The crease between front and side face, on the nearer (front) pixel column 6.
    assert torch.equal(e["crease"], _mask([(i, 6) for i in range(3, 7)]))


def test_two_touching_objects_meet_in_an_intersection():
    depth = torch.full((H, W), 3.0)
    normals = torch.tensor([0.0, 0.0, -1.0]).expand(H, W, 3)
    ids = torch.ones(H, W, dtype=torch.long)
    ids[:, 6:] = 2
    depth[:, 6:] = 3.0 + 1e-4  # continuous depth: the right object is a hair farther
    e = structural_edges(depth, normals, ids)
    line = _mask([(i, 5) for i in range(H)])
    assert torch.equal(e["intersection"], line)
    assert torch.equal(e["boundary"], line)
    assert not e["silhouette"].any()
    assert not e["crease"].any()


def test_object_against_empty_background():
    depth = torch.zeros(H, W)
    depth[2:5, 4:7] = 1.5
    ids = torch.full((H, W), -1, dtype=torch.long)
    ids[2:5, 4:7] = 7
    normals = torch.zeros(H, W, 3)
    normals[2:5, 4:7, 2] = -1
    e = structural_edges(depth, normals, ids)
    ring = _mask([(i, j) for i in range(2, 5) for j in range(4, 7) if (i, j) != (3, 5)])
    assert torch.equal(e["silhouette"], ring)
    assert torch.equal(e["boundary"], ring)
    assert not (e["silhouette"] & (depth == 0)).any()


def test_grazing_plane_has_no_edges():
    """A floor seen towards the horizon: depth grows 100x over the image, but inverse depth is
    affine in pixel coordinates, so a plain relative-step threshold would fire and ours must not."""
    rows = torch.arange(H, dtype=torch.float64)
    inv = 0.01 + 0.11 * rows  # 1/z affine in v
    depth = (1.0 / inv)[:, None].expand(H, W).clone()
    normals = torch.tensor([0.0, -1.0, 0.0]).expand(H, W, 3)
    ids = torch.zeros(H, W, dtype=torch.long)
    e = structural_edges(depth, normals, ids)
    for name, m in e.items():
        assert not m.any(), name
    # Control: the relative step near the horizon really is large.
    assert (inv[1] - inv[0]) / inv[1] > 0.5


def test_face_ids_gate_creases_and_batch_shape_is_kept():
    depth, normals, ids = _box_in_front_of_wall()
    faces = torch.zeros(H, W, dtype=torch.long)  # one face everywhere: no crease possible
    e = structural_edges(depth[None, None].expand(2, 1, H, W), normals.expand(2, 1, H, W, 3),
                         ids.expand(2, 1, H, W), face_ids=faces.expand(2, 1, H, W))
    assert e["crease"].shape == (2, 1, H, W)
    assert not e["crease"].any()
    assert e["silhouette"][1, 0].sum() == 16
    # A crease angle above 45 degrees also suppresses it.
    assert not structural_edges(depth, normals, ids, crease_deg=50.0)["crease"].any()
