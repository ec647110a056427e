"""Mesh loading and the pure-PyTorch rasterizer against analytic geometry and trimesh ray casting."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import trimesh

from genscene.cameras.cameras import Cameras, rigid_matrix
from genscene.errors import InputError
from genscene.render.mesh import load_mesh, load_mesh_parts, render_mesh


def _look_at(eye, target, up=(0.0, -1.0, 0.0)) -> torch.Tensor:
    """w2c [4, 4] of an OpenCV camera at ``eye`` looking at ``target`` (+y down)."""
    eye, target, up = (torch.tensor(x, dtype=torch.float64) for x in (eye, target, up))
    z = torch.nn.functional.normalize(target - eye, dim=0)
    x = torch.nn.functional.normalize(torch.linalg.cross(up, z), dim=0)
    y = torch.linalg.cross(z, x)
    R = torch.stack([x, y, z])  # rows: camera axes in world
    return rigid_matrix(R, -R @ eye)


def _quad(z: float, half: float = 5.0):
    v = torch.tensor([[-half, -half, z], [half, -half, z], [half, half, z], [-half, half, z]],
                     dtype=torch.float64)
    f = torch.tensor([[0, 1, 2], [0, 2, 3]])
    return v, f


def test_fronto_parallel_plane_has_its_depth_everywhere():
    v, f = _quad(2.0)
    cam = Cameras.from_fov(60, 20, 16)
    out = render_mesh(v, f, cam)
    assert out["mask"].all()
    torch.testing.assert_close(out["depth"], torch.full((1, 16, 20), 2.0, dtype=torch.float64))
    torch.testing.assert_close(out["normals"][0, 5, 7], torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64))
    assert set(out["face_ids"].unique().tolist()) == {0, 1}
    assert not any(m.any() for m in out["edges"].values())


def test_tilted_plane_depth_and_colours_are_perspective_correct():
    # Plane n . X = d, tilted 50 degrees about the x axis, crossing the axis at z = 3.
    a = math.radians(50)
    n = torch.tensor([0.0, math.sin(a), -math.cos(a)], dtype=torch.float64)
    d = float(n @ torch.tensor([0.0, 0.0, 3.0], dtype=torch.float64))
    e1 = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    e2 = torch.linalg.cross(n, e1)
    c = torch.tensor([0.0, 0.0, 3.0], dtype=torch.float64)
    v = torch.stack([c + 4 * (sx * e1 + sy * e2) for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))])
    f = torch.tensor([[0, 1, 2], [0, 2, 3]])
    colors = (v[:, 1:2] + 4) / 8 * torch.ones(1, 3, dtype=torch.float64)  # linear in world y
    cam = Cameras.from_fov(50, 24, 20)
    out = render_mesh(v, f, cam, vertex_colors=colors)
    rays = torch.cat([cam.pixel_grid(), torch.ones(20, 24, 1, dtype=torch.float64)], -1) @ cam.K.inverse().T
    z_true = d / (rays @ n)  # z-depth along each pixel ray (ray z component is 1)
    m = out["mask"][0]
    assert m.float().mean() > 0.9
    torch.testing.assert_close(out["depth"][0][m], z_true[m], rtol=1e-9, atol=1e-9)
    # Colour is linear in world y, so it must equal the y of the unprojected hit (affine screen
    # interpolation would be off by several percent on this tilt).
    y_hit = (rays * z_true.unsqueeze(-1))[..., 1]
    torch.testing.assert_close(out["rgb"][0, 0][m], ((y_hit + 4) / 8)[m], rtol=1e-9, atol=1e-9)
    facing = -n if (n @ torch.tensor([0.0, 0, -3.0], dtype=torch.float64)) < 0 else n
    torch.testing.assert_close(out["normals"][0][m], facing.expand(int(m.sum()), 3))


def test_cube_shows_three_faces_from_a_corner_view():
    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    v = torch.tensor(box.vertices)
    f = torch.tensor(box.faces)
    cam = Cameras(Cameras.from_fov(45, 48, 48).K, _look_at((2.5, -2.0, -3.0), (0, 0, 0)), 48, 48)
    out = render_mesh(v, f, cam)
    normals = out["normals"][0][out["mask"][0]].round(decimals=6)
    seen = {tuple(x) for x in normals.unique(dim=0).tolist()}
    assert seen == {(1.0, 0.0, 0.0), (0.0, -1.0, 0.0), (0.0, 0.0, -1.0)}
    # Every visible point lies on the cube's surface.
    pts = out["points"][0][out["mask"][0]]
    assert torch.allclose(pts.abs().amax(-1), torch.tensor(0.5, dtype=torch.float64), atol=1e-9)
    # The three visible faces meet in three crease lines: every crease pixel sits on the cube and
    # has a 4-neighbour of another face normal.
    crease = out["edges"]["crease"][0]
    assert crease.sum() > 20 and not (crease & ~out["mask"][0]).any()
    n = out["normals"][0]
    differs = torch.zeros_like(crease)
    differs[:, :-1] |= (n[:, :-1] - n[:, 1:]).abs().sum(-1) > 0.5
    differs[:, 1:] |= (n[:, 1:] - n[:, :-1]).abs().sum(-1) > 0.5
    differs[:-1] |= (n[:-1] - n[1:]).abs().sum(-1) > 0.5
    differs[1:] |= (n[1:] - n[:-1]).abs().sum(-1) > 0.5
    assert not (crease & ~differs).any()


def _ray_cast(origins: np.ndarray, dirs: np.ndarray, triangles: np.ndarray):
    """Brute-force Moller-Trumbore (float64): nearest hit distance and triangle per ray."""
    v0, v1, v2 = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    e1, e2 = v1 - v0, v2 - v0
    p = np.cross(dirs[:, None], e2[None])  # [R, F, 3]
    det = (e1[None] * p).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / det
        s = origins[:, None] - v0[None]
        u = (s * p).sum(-1) * inv
        q = np.cross(s, e1[None])
        v = (dirs[:, None] * q).sum(-1) * inv
        t = (e2[None] * q).sum(-1) * inv
    hit = (np.abs(det) > 1e-12) & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
    t = np.where(hit, t, np.inf)
    face = t.argmin(1)
    dist = t[np.arange(len(t)), face]
    return dist, np.where(np.isfinite(dist), face, -1)


def test_matches_independent_ray_casting():
    """Against Moller-Trumbore ray casting (trimesh's own caster needs rtree, not installed)."""
    scene = [trimesh.creation.icosphere(subdivisions=2, radius=0.8),
             trimesh.creation.box(extents=(3.0, 0.2, 3.0)).apply_translation((0, 0.9, 0.5))]
    mesh = trimesh.util.concatenate(scene)
    w2c = _look_at((0.7, -1.2, -3.0), (0, 0.2, 0))
    cam = Cameras(Cameras.from_fov(55, 32, 24).K, w2c, 32, 24)
    out = render_mesh(torch.tensor(mesh.vertices), torch.tensor(mesh.faces), cam)

    origins, dirs = cam.rays()
    dirs = dirs.reshape(-1, 3).numpy()
    dist, face_ref = _ray_cast(origins.reshape(-1, 3).numpy(), dirs, np.asarray(mesh.triangles))
    mask_ref = face_ref >= 0
    z_axis = w2c[2, :3].numpy()  # the camera's optical axis in world
    depth_ref = np.where(mask_ref, dist * (dirs @ z_axis), 0.0)
    mask = out["mask"][0].reshape(-1).numpy()
    assert mask_ref.sum() > 200
    assert (mask == mask_ref).mean() > 0.99  # pixel centres grazing an outline may differ
    both = mask & mask_ref
    np.testing.assert_allclose(out["depth"][0].reshape(-1).numpy()[both], depth_ref[both], rtol=1e-6)
    assert (out["face_ids"][0].reshape(-1).numpy()[both] == face_ref[both]).mean() > 0.98


def test_triangle_crossing_the_near_plane_is_clipped_per_pixel():
    """A floor under a camera standing on it extends behind the camera: no face is dropped."""
    v = torch.tensor([[-50.0, 1.0, -50.0], [50.0, 1.0, -50.0], [0.0, 1.0, 100.0]], dtype=torch.float64)
    f = torch.tensor([[0, 1, 2]])
    cam = Cameras.from_fov(60, 16, 16)
    out = render_mesh(v, f, cam)
    rows = torch.arange(16, dtype=torch.float64) + 0.5
    y_ray = (rows - cam.cy) / cam.fy  # camera-space ray y per row (z = 1)
    below = y_ray > 0
    assert out["mask"][0][below].all() and not out["mask"][0][~below].any()
    z_true = (1.0 / y_ray[below])[:, None].expand(-1, 16)
    torch.testing.assert_close(out["depth"][0][below], z_true)


def test_load_formats_and_instances(tmp_path):
    box = trimesh.creation.box(extents=(1, 1, 1))
    box.visual.vertex_colors = np.tile([255, 0, 0, 255], (len(box.vertices), 1))
    sphere = trimesh.creation.icosphere(subdivisions=1).apply_translation((3, 0, 0))
    for suffix in ("obj", "ply", "glb"):
        path = tmp_path / f"box.{suffix}"
        box.export(path)
        v, f, c = load_mesh(path)
        assert f.shape[1] == 3 and len(f) == 12
        assert v.shape[1] == 3 and torch.allclose(v.abs().amax(), torch.tensor(0.5))
        assert c is not None and torch.allclose(c[:, 0], torch.ones(len(c)))
    path = tmp_path / "two.glb"
    trimesh.Scene([box, sphere]).export(path)
    parts = load_mesh_parts(path)
    assert len(parts.faces) == 12 + 80
    counts = sorted(torch.bincount(parts.instance_ids).tolist())
    assert counts == [12, 80]
    # The sphere geometry keeps its translation (scene graph applied).
    sphere_id = int(torch.bincount(parts.instance_ids).argmax())
    sphere_vertices = parts.vertices[parts.faces[parts.instance_ids == sphere_id].flatten()]
    assert abs(sphere_vertices.mean(0)[0].item() - 3.0) < 0.05


@pytest.mark.parametrize("content", [b"", b"\x00\x01garbage"])
def test_bad_files_raise_input_error(tmp_path, content):
    path = tmp_path / "bad.ply"
    path.write_bytes(content)
    with pytest.raises(InputError, match="bad.ply: "):
        load_mesh(path)


def test_point_clouds_and_missing_files_raise_input_error(tmp_path):
    cloud = tmp_path / "cloud.ply"
    trimesh.PointCloud(np.random.default_rng(0).random((10, 3))).export(cloud)
    with pytest.raises(InputError, match="cloud.ply: faces: no triangles"):
        load_mesh(cloud)
    with pytest.raises(InputError, match="file not found"):
        load_mesh(tmp_path / "missing.obj")
    (tmp_path / "mesh.xyz").write_text("1 2 3\n")
    with pytest.raises(InputError, match="unsupported mesh format"):
        load_mesh(tmp_path / "mesh.xyz")


# ------------------------------------------------------------------ correspondences between cameras
def _plane_and_square():
    """Textured plane at z = 4 (instance 0) and a 1x1 square at z = 2 (instance 1)."""
    n = 30
    g = torch.linspace(-4, 4, n, dtype=torch.float64)
    yy, xx = torch.meshgrid(g, g, indexing="ij")
    pv = torch.stack([xx, yy, torch.full_like(xx, 4.0)], -1).reshape(-1, 3)
    idx = torch.arange(n * n).reshape(n, n)
    pf = torch.cat([torch.stack([idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1]], -1).reshape(-1, 3),
                    torch.stack([idx[:-1, 1:], idx[1:, 1:], idx[1:, :-1]], -1).reshape(-1, 3)])
    sv, sf = _quad(2.0, half=0.5)
    v = torch.cat([pv, sv])
    f = torch.cat([pf, sf + len(pv)])
    colors = torch.stack([0.5 + 0.4 * torch.sin(1.3 * v[:, 0]), 0.5 + 0.4 * torch.cos(v[:, 1]),
                          (v[:, 2] - 2) / 2], -1)
    return v, f, colors


def _pair_cameras():
    base = Cameras.from_fov(60, 40, 32)
    w2c = torch.eye(4, dtype=torch.float64).repeat(2, 1, 1)
    w2c[1, 0, 3] = -1.0  # camera B at x = 1
    w2c[1, 1, 3] = -0.2  # and y = 0.2
    cams = Cameras(base.K.expand(2, 3, 3), w2c, 40, 32)
    return cams[:1], cams[1:]


def test_mesh_flow_equals_reprojection_of_mesh_depth_and_visibility_is_analytic():
    from genscene.render.correspondence import mesh_flow, reprojection_flow

    v, f, colors = _plane_and_square()
    cam_a, cam_b = _pair_cameras()
    flow, visible = mesh_flow(v, f, cam_a, cam_b)
    ga = render_mesh(v, f, cam_a, vertex_colors=colors)
    gb = render_mesh(v, f, cam_b, vertex_colors=colors)
    flow_ref, visible_ref = reprojection_flow(ga["depth"], cam_a, cam_b, gb["depth"])
    torch.testing.assert_close(flow, flow_ref, rtol=0, atol=1e-8)
    assert torch.equal(visible, visible_ref)
    # Translation only in x and y: flow is -f * t / z, i.e. -fx/4 px on the plane, -fx/2 on the square.
    on_square = ga["depth"][0] < 3
    torch.testing.assert_close(flow[0, 0][on_square], (-cam_a.fx / 2).expand(int(on_square.sum())))
    torch.testing.assert_close(flow[0, 1][~on_square], (-0.2 * cam_a.fy / 4).expand(int((~on_square).sum())))

    # Analytic occlusion: a plane point P is hidden from B when the segment B -> P crosses the square.
    P = ga["points"][0]
    c_b = cam_b.centers[0]
    s = (2.0 - c_b[2]) / (P[..., 2] - c_b[2])
    cross = c_b + s.unsqueeze(-1) * (P - c_b)
    hidden = (~on_square) & (cross[..., 0].abs() < 0.5) & (cross[..., 1].abs() < 0.5)
    uv = cam_a.pixel_grid() + flow[0].permute(1, 2, 0)
    in_image = (uv[..., 0] >= 0) & (uv[..., 0] < 40) & (uv[..., 1] >= 0) & (uv[..., 1] < 32)
    visible_true = in_image & ~hidden
    assert hidden.sum() > 20
    assert (visible[0] == visible_true).float().mean() > 0.98  # outline pixels may round either way

    # Visible pixels look the same from both cameras (colours sampled where the flow lands).
    col = uv[..., 0].floor().long().clamp(0, 39)
    row = uv[..., 1].floor().long().clamp(0, 31)
    rgb_b_there = gb["rgb"][0][:, row, col]
    err = (rgb_b_there - ga["rgb"][0]).abs().amax(0)[visible[0]]
    assert err.mean() < 0.03
    assert (rgb_b_there - ga["rgb"][0]).abs().amax(0)[hidden].mean() > 0.2  # control: occluded differ


def test_trajectory_flows_directions():
    from genscene.render.correspondence import mesh_flow, trajectory_flows

    v, f, _ = _plane_and_square()
    cam_a, cam_b = _pair_cameras()
    cams = Cameras.cat([cam_a, cam_b, cam_a])
    fwd, vis_f = trajectory_flows(v, f, cams)
    bwd, vis_b = trajectory_flows(v, f, cams, direction="backward")
    assert fwd.shape == (2, 2, 32, 40) and vis_b.shape == (2, 32, 40)
    ab, _ = mesh_flow(v, f, cam_a, cam_b)
    ba, _ = mesh_flow(v, f, cam_b, cam_a)
    torch.testing.assert_close(fwd[0], ab[0])  # frame 0 -> 1 of (A, B, A): A -> B
    torch.testing.assert_close(fwd[1], ba[0])
    torch.testing.assert_close(bwd[0], ba[0])  # frame 1 -> 0: B -> A on B's grid
    torch.testing.assert_close(bwd[1], ab[0])
    assert torch.equal(vis_f[0], vis_b[1])


def test_rendered_box_on_floor_has_an_intersection_line_at_the_contact():
    """A box standing on a floor: the edge where they meet is an intersection (ids change at
    continuous depth), drawn on the row where the box's front bottom edge projects."""
    floor_v = torch.tensor([[-6.0, 1.0, 0.5], [6.0, 1.0, 0.5], [6.0, 1.0, 12.0], [-6.0, 1.0, 12.0]],
                           dtype=torch.float64)
    floor_f = torch.tensor([[0, 1, 2], [0, 2, 3]])
    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    box_v = torch.tensor(box.vertices) + torch.tensor([0.0, 0.5, 3.5])  # y from 0 to 1, z 3 to 4
    v = torch.cat([floor_v, box_v])
    f = torch.cat([floor_f, torch.tensor(box.faces) + 4])
    inst = torch.tensor([0, 0] + [1] * len(box.faces))
    cam = Cameras.from_fov(60, 64, 64)
    out = render_mesh(v, f, cam, instance_ids_per_face=inst)
    e = out["edges"]
    rows, cols = torch.nonzero(e["intersection"][0], as_tuple=True)
    contact_row = float(cam.cy + cam.fy * 1.0 / 3.0)  # v of the front bottom edge (y = 1, z = 3)
    left, right = float(cam.cx - cam.fx * 0.5 / 3), float(cam.cx + cam.fx * 0.5 / 3)
    assert len(rows) >= 0.8 * (right - left)
    assert ((rows.double() + 0.5 - contact_row).abs() <= 1.0).all()
    assert ((cols.double() + 0.5 >= left - 1) & (cols.double() + 0.5 <= right + 1)).all()
    # The box's top and sides stand out from the far floor / empty space: silhouettes, not intersections.
    top_row = int(cam.cy)  # the box top (y = 0) projects onto the horizon row
    assert e["silhouette"][0, top_row - 1: top_row + 2].any()
    assert not e["intersection"][0, : int(contact_row) - 2].any()


def test_empty_mesh_renders_empty_buffers():
    out = render_mesh(torch.zeros(0, 3), torch.zeros(0, 3, dtype=torch.long), Cameras.from_fov(60, 8, 6))
    assert out["depth"].shape == (1, 6, 8) and not out["mask"].any()
    assert (out["face_ids"] == -1).all()
