"""PLY files: coloured point clouds and 3D Gaussians in the INRIA 3DGS layout (DESIGN §3).

Both are binary little-endian PLY with one ``vertex`` element of float32 properties (colours of
point clouds as uchar). Writing goes through :func:`genscene.atomic.atomic_path`; reading
validates and raises :class:`~genscene.errors.InputError` naming the file and the property.

Gaussians on disk hold pre-activation values, exactly as the INRIA code writes them::

    x y z nx ny nz f_dc_0..2 f_rest_0..(3K-1) opacity scale_0..2 rot_0..3

with ``colour = f_dc * C0 + 0.5``, ``opacity = sigmoid(opacity)``, ``scale = exp(scale_i)``,
``rot = (w, x, y, z)`` and ``f_rest`` channel-major (all K coefficients of red, then green, then
blue), i.e. ``f_rest = sh_rest.transpose(1, 2).reshape(N, 3K)`` for ``sh_rest [N, K, 3]``.
Activations and their inverses are computed in float64 so that a file read with
``dtype=torch.float64`` and written again reproduces its bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genscene.atomic import atomic_path
from genscene.errors import InputError, existing_file
from genscene.geometry.gaussians import Gaussians

SH_C0 = 0.28209479177387814
"""Degree-0 real spherical harmonic, ``1 / (2 sqrt(pi))``."""

OPACITY_EPS = 1e-15
"""Opacities are clamped to ``[eps, 1 - eps]`` before the logit so the file holds no infinities."""

MIN_SCALE = 1e-30
"""Scales are clamped to at least this before the log for the same reason."""


def _to_numpy(x, dtype=None) -> np.ndarray:
    if isinstance(x, Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    return arr.astype(dtype, copy=False) if dtype is not None else arr


def _check_rows(name: str, arr: np.ndarray, n: int, width: int | None) -> None:
    expect = (n,) if width is None else (n, width)
    if arr.shape != expect:
        raise ValueError(f"{name}: expected shape {expect}, got {arr.shape}")


def _write_vertices(path: str | Path, vertices: np.ndarray) -> None:
    from plyfile import PlyData, PlyElement

    element = PlyElement.describe(vertices, "vertex")
    with atomic_path(path) as tmp:
        PlyData([element], text=False, byte_order="<").write(str(tmp))


def _read_vertices(path: str | Path) -> tuple[np.ndarray, set[str]]:
    """The raw structured ``vertex`` array of a PLY file and its property names."""
    from plyfile import PlyData

    path = existing_file(path)
    try:
        ply = PlyData.read(str(path))
    except Exception as err:  # plyfile raises several types for malformed headers and bodies
        raise InputError(path, f"not a readable PLY file ({type(err).__name__}: {err})") from err
    if "vertex" not in [el.name for el in ply.elements]:
        raise InputError(path, "no vertex element", field="vertex")
    vertex = ply["vertex"]
    return vertex.data, {p.name for p in vertex.properties}


def _require(path: str | Path, names: set[str], wanted: list[str]) -> None:
    for name in wanted:
        if name not in names:
            raise InputError(path, "missing property", field=f"vertex.{name}")


def _finite_columns(path: str | Path, data: np.ndarray, names: list[str]) -> np.ndarray:
    """Columns ``names`` of ``data`` stacked as float ``[N, len(names)]``; non-finite values are an error."""
    cols = np.stack([np.asarray(data[n]) for n in names], axis=-1)
    bad = ~np.isfinite(cols)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(path, f"non-finite value at vertex {row}", field=f"vertex.{names[col]}")
    return cols


# ---------------------------------------------------------------------------- point clouds
def write_points_ply(path: str | Path, xyz, rgb=None, normals=None, confidence=None) -> None:
    """Write a point cloud as binary PLY.

    Args:
        path: the ``.ply`` file (written atomically).
        xyz: positions ``[N, 3]`` (stored as float32).
        rgb: colours ``[N, 3]``, uint8 or float in [0, 1] (stored as uchar ``red green blue``,
            floats rounded to the nearest of 256 levels), or None.
        normals: ``[N, 3]`` stored as float32 ``nx ny nz``, or None.
        confidence: ``[N]`` stored as float32 ``confidence``, or None.
    """
    xyz = _to_numpy(xyz, np.float32)
    n = xyz.shape[0]
    _check_rows("xyz", xyz, n, 3)
    fields: list[tuple[str, str]] = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    columns: dict[str, np.ndarray] = {"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]}
    if normals is not None:
        normals = _to_numpy(normals, np.float32)
        _check_rows("normals", normals, n, 3)
        fields += [("nx", "<f4"), ("ny", "<f4"), ("nz", "<f4")]
        columns.update(nx=normals[:, 0], ny=normals[:, 1], nz=normals[:, 2])
    if rgb is not None:
        rgb = colors_to_uint8(rgb)
        _check_rows("rgb", rgb, n, 3)
        fields += [("red", "u1"), ("green", "u1"), ("blue", "u1")]
        columns.update(red=rgb[:, 0], green=rgb[:, 1], blue=rgb[:, 2])
    if confidence is not None:
        confidence = _to_numpy(confidence, np.float32).reshape(-1)
        _check_rows("confidence", confidence, n, None)
        fields.append(("confidence", "<f4"))
        columns["confidence"] = confidence
    vertices = np.empty(n, dtype=fields)
    for name, col in columns.items():
        vertices[name] = col
    _write_vertices(path, vertices)


def colors_to_uint8(rgb) -> np.ndarray:
    """Colours ``[..., 3]`` (uint8, or float in [0, 1]) as uint8 (floats clipped and rounded)."""
    arr = _to_numpy(rgb)
    if arr.dtype == np.uint8:
        return arr
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"rgb: expected uint8 or float colours, got {arr.dtype}")
    return np.round(np.clip(arr.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)


def read_points_ply(path: str | Path) -> dict[str, Tensor | None]:
    """Read a point cloud PLY.

    Returns:
        ``{"xyz": float32 [N, 3], "rgb": float32 [N, 3] in [0, 1] (uchar / 255) | None,
        "normals": float32 [N, 3] | None, "confidence": float32 [N] | None}``.
        Colours stored as floats are taken as [0, 1]; 16-bit colours are divided by 65535.
    """
    data, names = _read_vertices(path)
    _require(path, names, ["x", "y", "z"])
    out: dict[str, Tensor | None] = {
        "xyz": torch.from_numpy(_finite_columns(path, data, ["x", "y", "z"]).astype(np.float32)),
        "rgb": None, "normals": None, "confidence": None,
    }
    if names & {"red", "green", "blue"}:
        _require(path, names, ["red", "green", "blue"])
        out["rgb"] = torch.from_numpy(_colors_to_float(path, data))
    if names & {"nx", "ny", "nz"}:
        _require(path, names, ["nx", "ny", "nz"])
        out["normals"] = torch.from_numpy(np.stack([data[n] for n in ("nx", "ny", "nz")], -1).astype(np.float32))
    if "confidence" in names:
        out["confidence"] = torch.from_numpy(np.asarray(data["confidence"]).astype(np.float32))
    return out


def _colors_to_float(path: str | Path, data: np.ndarray) -> np.ndarray:
    cols = np.stack([data[n] for n in ("red", "green", "blue")], -1)  # [N, 3]
    if cols.dtype == np.uint8:
        return cols.astype(np.float32) / np.float32(255)
    if cols.dtype == np.uint16:
        return cols.astype(np.float32) / np.float32(65535)
    if np.issubdtype(cols.dtype, np.floating):
        return cols.astype(np.float32)
    raise InputError(path, f"unsupported colour type {cols.dtype}", field="vertex.red")


# ---------------------------------------------------------------------------- 3D Gaussians
def _gaussian_fields(num_rest: int) -> list[str]:
    return (["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
            + [f"f_rest_{i}" for i in range(num_rest)]
            + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"])


def write_gaussians_ply(path: str | Path, gaussians: Gaussians) -> None:
    """Write Gaussians (activated values) as an INRIA 3DGS PLY (pre-activation values, float32).

    Normals are written as zeros, as the INRIA code does. Opacities are clamped to
    ``[OPACITY_EPS, 1 - OPACITY_EPS]`` and scales to at least ``MIN_SCALE`` so the file stays finite.
    """
    g = gaussians.to(device="cpu", dtype=torch.float64)
    n = len(g)
    p = g.opacities.clamp(OPACITY_EPS, 1.0 - OPACITY_EPS)
    raw: dict[str, Tensor] = {
        "xyz": g.means,  # [N, 3]
        "normals": torch.zeros(n, 3, dtype=torch.float64),
        "f_dc": (g.colors - 0.5) / SH_C0,  # [N, 3]
        "f_rest": (g.sh_rest.transpose(1, 2).reshape(n, -1) if g.sh_rest is not None
                   else torch.zeros(n, 0, dtype=torch.float64)),  # [N, 3K]
        "opacity": torch.log(p / (1.0 - p)).unsqueeze(-1),  # [N, 1]
        "scale": torch.log(g.scales.clamp_min(MIN_SCALE)),  # [N, 3]
        "rot": g.quats,  # [N, 4] w, x, y, z
    }
    table = torch.cat(list(raw.values()), dim=-1).detach().numpy().astype(np.float32)  # [N, 17 + 3K]
    names = _gaussian_fields(raw["f_rest"].shape[1])
    vertices = np.empty(n, dtype=[(name, "<f4") for name in names])
    for i, name in enumerate(names):
        vertices[name] = table[:, i]
    _write_vertices(path, vertices)


def read_gaussians_ply(path: str | Path, dtype: torch.dtype = torch.float32,
                       normalize_quats: bool = True) -> Gaussians:
    """Read an INRIA 3DGS PLY into activated :class:`Gaussians` of ``dtype``.

    Args:
        path: the ``.ply`` file.
        dtype: dtype of the returned tensors. Activations run in float64 first; use float64 to
            keep every stored value recoverable (sigmoid saturates in float32 for large logits).
        normalize_quats: return unit quaternions (the Gaussians contract); False keeps the stored
            ``rot_*`` values (INRIA files hold unnormalised ones).

    Raises:
        InputError: missing file or property, a ``f_rest`` count that is not ``3 * ((d+1)^2 - 1)``,
            or non-finite values.
    """
    data, names = _read_vertices(path)
    num_rest = sum(1 for name in names if name.startswith("f_rest_"))
    _require(path, names, [n for n in _gaussian_fields(num_rest) if n not in ("nx", "ny", "nz")])
    k = num_rest // 3
    degree = int(round((k + 1) ** 0.5)) - 1
    if num_rest % 3 or (degree + 1) ** 2 - 1 != k:
        raise InputError(path, f"{num_rest} f_rest properties is not 3 * ((d+1)^2 - 1) for an SH degree d",
                         field="vertex.f_rest")

    def cols(*wanted: str) -> Tensor:
        return torch.from_numpy(_finite_columns(path, data, list(wanted)).astype(np.float64))

    quats = cols("rot_0", "rot_1", "rot_2", "rot_3")  # [N, 4]
    if normalize_quats:
        if (quats.norm(dim=-1) == 0).any():
            raise InputError(path, "zero quaternion", field="vertex.rot_0")
        quats = torch.nn.functional.normalize(quats, dim=-1)
    sh_rest = None
    if k:
        sh_rest = cols(*(f"f_rest_{i}" for i in range(num_rest))).reshape(-1, 3, k).transpose(1, 2)
    g = Gaussians(
        means=cols("x", "y", "z"),
        quats=quats,
        scales=torch.exp(cols("scale_0", "scale_1", "scale_2")),
        opacities=torch.sigmoid(cols("opacity")[:, 0]),
        colors=cols("f_dc_0", "f_dc_1", "f_dc_2") * SH_C0 + 0.5,
        sh_rest=None if sh_rest is None else sh_rest.contiguous(),
    )
    return g.to(dtype=dtype)
