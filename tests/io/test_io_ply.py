"""PLY point clouds and INRIA 3DGS Gaussians: raw values checked with plyfile, exact round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from plyfile import PlyData, PlyElement

from genscene.errors import InputError
from genscene.geometry.gaussians import Gaussians
from genscene.io.ply import SH_C0, read_gaussians_ply, read_points_ply, write_gaussians_ply, write_points_ply

INRIA_BASE = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
INRIA_TAIL = ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]


def _raw(path):
    vertex = PlyData.read(str(path))["vertex"]
    return vertex.data, [p.name for p in vertex.properties]


def _gaussians(n: int, k: int, seed: int = 0) -> Gaussians:
    g = torch.Generator().manual_seed(seed)
    return Gaussians(
        means=torch.randn(n, 3, generator=g),
        quats=torch.nn.functional.normalize(torch.randn(n, 4, generator=g), dim=-1),
        scales=torch.rand(n, 3, generator=g) * 0.5 + 1e-3,
        opacities=torch.rand(n, generator=g) * 0.98 + 0.01,
        colors=torch.rand(n, 3, generator=g),
        sh_rest=torch.randn(n, k, 3, generator=g) * 0.1 if k else None,
    )


# ------------------------------------------------------------------------------ points
def test_points_round_trip_exact_and_raw_layout(tmp_path):
    rng = np.random.default_rng(0)
    xyz = rng.normal(size=(50, 3)).astype(np.float32)
    rgb = rng.integers(0, 256, size=(50, 3), dtype=np.uint8)
    normals = rng.normal(size=(50, 3)).astype(np.float32)
    conf = rng.uniform(size=50).astype(np.float32)
    path = tmp_path / "p.ply"
    write_points_ply(path, torch.from_numpy(xyz), rgb, normals=normals, confidence=conf)

    data, names = _raw(path)
    assert names == ["x", "y", "z", "nx", "ny", "nz", "red", "green", "blue", "confidence"]
    assert data["red"].dtype == np.uint8 and data["x"].dtype == np.float32
    np.testing.assert_array_equal(np.stack([data["red"], data["green"], data["blue"]], -1), rgb)

    back = read_points_ply(path)
    np.testing.assert_array_equal(back["xyz"].numpy(), xyz)
    np.testing.assert_array_equal(back["normals"].numpy(), normals)
    np.testing.assert_array_equal(back["confidence"].numpy(), conf)
    np.testing.assert_array_equal(np.round(back["rgb"].numpy() * 255).astype(np.uint8), rgb)


def test_points_float_colours_round_to_nearest_level(tmp_path):
    path = tmp_path / "p.ply"
    rgb = torch.tensor([[0.0, 1.0, 0.5], [0.2, 1.7, -0.3]])  # out of range is clipped
    write_points_ply(path, torch.zeros(2, 3), rgb)
    data, names = _raw(path)
    assert names == ["x", "y", "z", "red", "green", "blue"]
    got = np.stack([data["red"], data["green"], data["blue"]], -1)
    np.testing.assert_array_equal(got, [[0, 255, 128], [51, 255, 0]])
    back = read_points_ply(path)
    assert back["normals"] is None and back["confidence"] is None
    # k / 255 colours survive exactly
    np.testing.assert_array_equal(back["rgb"].numpy(), got.astype(np.float32) / np.float32(255))


def test_points_without_colour(tmp_path):
    write_points_ply(tmp_path / "p.ply", np.ones((3, 3)))
    back = read_points_ply(tmp_path / "p.ply")
    assert back["rgb"] is None and back["xyz"].shape == (3, 3)


# ------------------------------------------------------------------------------ gaussians
def test_gaussians_raw_values_are_inria_pre_activation(tmp_path):
    n, k = 20, 3  # SH degree 1
    g = _gaussians(n, k)
    path = tmp_path / "g.ply"
    write_gaussians_ply(path, g)
    data, names = _raw(path)
    assert names == INRIA_BASE + [f"f_rest_{i}" for i in range(3 * k)] + INRIA_TAIL
    assert all(data[name].dtype == np.float32 for name in names)

    col = lambda *ns: np.stack([data[x] for x in ns], -1)  # noqa: E731
    p = g.opacities.double().numpy()
    np.testing.assert_array_equal(col("x", "y", "z"), g.means.numpy())
    np.testing.assert_array_equal(col("nx", "ny", "nz"), 0)
    np.testing.assert_array_equal(data["opacity"], np.log(p / (1 - p)).astype(np.float32))
    np.testing.assert_array_equal(col("scale_0", "scale_1", "scale_2"),
                                  np.log(g.scales.double().numpy()).astype(np.float32))
    np.testing.assert_array_equal(col("f_dc_0", "f_dc_1", "f_dc_2"),
                                  ((g.colors.double().numpy() - 0.5) / SH_C0).astype(np.float32))
    np.testing.assert_array_equal(col("rot_0", "rot_1", "rot_2", "rot_3"), g.quats.numpy())
    sh = g.sh_rest.numpy()  # [N, K, 3]; INRIA's f_rest is channel-major: index c * K + k
    for c in range(3):
        for j in range(k):
            np.testing.assert_array_equal(data[f"f_rest_{c * k + j}"], sh[:, j, c])


def test_gaussians_round_trip(tmp_path):
    g = _gaussians(30, 8)  # SH degree 2
    g.scales.requires_grad_(True)  # straight from an optimiser
    write_gaussians_ply(tmp_path / "g.ply", g)
    g.scales = g.scales.detach()
    back = read_gaussians_ply(tmp_path / "g.ply")
    assert back.sh_degree == 2 and back.means.dtype == torch.float32
    torch.testing.assert_close(back.means, g.means, rtol=0, atol=0)
    torch.testing.assert_close(back.sh_rest, g.sh_rest, rtol=0, atol=0)
    for name in ("quats", "scales", "opacities", "colors"):
        torch.testing.assert_close(getattr(back, name), getattr(g, name), rtol=1e-6, atol=1e-7)


def _inria_file(path, n: int, num_rest: int, seed: int = 1, drop: str | None = None) -> np.ndarray:
    """A 3DGS file built with plyfile alone: unnormalised quats, logits in [-8, 8]."""
    rng = np.random.default_rng(seed)
    names = INRIA_BASE + [f"f_rest_{i}" for i in range(num_rest)] + INRIA_TAIL
    names = [x for x in names if x != drop]
    vertices = np.empty(n, dtype=[(x, "<f4") for x in names])
    for x in names:
        vertices[x] = rng.normal(size=n) * (4 if x == "opacity" else 1)
    if "opacity" in names:
        vertices["opacity"] = np.clip(vertices["opacity"], -8, 8)
    PlyData([PlyElement.describe(vertices, "vertex")]).write(str(path))
    return vertices


def test_gaussians_read_activates_an_independent_file(tmp_path):
    raw = _inria_file(tmp_path / "g.ply", 40, 45)  # SH degree 3, as trained INRIA models have
    g = read_gaussians_ply(tmp_path / "g.ply", dtype=torch.float64)
    assert g.sh_degree == 3
    q = np.stack([raw[f"rot_{i}"] for i in range(4)], -1).astype(np.float64)
    np.testing.assert_allclose(g.quats.numpy(), q / np.linalg.norm(q, axis=-1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(g.opacities.numpy(), 1 / (1 + np.exp(-raw["opacity"].astype(np.float64))),
                               rtol=1e-12)
    np.testing.assert_allclose(g.colors[:, 1].numpy(), raw["f_dc_1"].astype(np.float64) * SH_C0 + 0.5, rtol=1e-12)
    np.testing.assert_allclose(g.scales[:, 2].numpy(), np.exp(raw["scale_2"].astype(np.float64)), rtol=1e-12)
    np.testing.assert_array_equal(g.sh_rest[:, 4, 2].numpy(), raw["f_rest_34"])  # c=2, k=4 -> 2*15+4


def test_gaussians_file_to_file_is_bit_exact(tmp_path):
    raw = _inria_file(tmp_path / "a.ply", 40, 9)
    g = read_gaussians_ply(tmp_path / "a.ply", dtype=torch.float64, normalize_quats=False)
    write_gaussians_ply(tmp_path / "b.ply", g)
    again, _ = _raw(tmp_path / "b.ply")
    for name in raw.dtype.names:
        if name in ("nx", "ny", "nz"):
            continue  # INRIA normals are unused; we write zeros
        np.testing.assert_array_equal(again[name], raw[name], err_msg=name)


def test_gaussians_missing_property_names_file_and_property(tmp_path):
    path = tmp_path / "broken.ply"
    _inria_file(path, 5, 0, drop="opacity")
    with pytest.raises(InputError) as err:
        read_gaussians_ply(path)
    assert "broken.ply" in str(err.value) and "vertex.opacity" in str(err.value)


def test_gaussians_bad_sh_count_and_non_ply(tmp_path):
    _inria_file(tmp_path / "sh.ply", 5, 5)
    with pytest.raises(InputError, match="f_rest"):
        read_gaussians_ply(tmp_path / "sh.ply")
    (tmp_path / "text.ply").write_text("hello\n")
    with pytest.raises(InputError, match="text.ply"):
        read_gaussians_ply(tmp_path / "text.ply")
    with pytest.raises(InputError, match="file not found"):
        read_points_ply(tmp_path / "absent.ply")
