"""COLMAP sparse models (``cameras``, ``images``, ``points3D``; text ``.txt`` or binary ``.bin``).

Our own reader and writer of COLMAP's documented formats. COLMAP's camera frame and pixel
convention are ours (OpenCV axes, pixel centres at +0.5), and ``images`` store world-to-camera
``qvec`` (w, x, y, z) and ``tvec``, so the conversion is a repacking.

Writing always uses the ``PINHOLE`` model (fx, fy, cx, cy), one COLMAP camera per distinct K.
Reading accepts ``SIMPLE_PINHOLE``, ``PINHOLE``, ``SIMPLE_RADIAL``, ``RADIAL``, ``OPENCV`` and
``FULL_OPENCV``; **distortion coefficients are ignored** (a warning says so when they are not zero):
undistort the images with COLMAP first when they matter. Fisheye models are refused. Points are
written with an empty track (we have no 2D observations to record).
"""

from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path

import numpy as np

from genscene.atomic import atomic_write_many
from genscene.cameras.cameras import Cameras
from genscene.cameras.formats._common import (
    check_intrinsics,
    flat_numpy,
    make_cameras,
    require_representable,
)
from genscene.errors import InputError, existing_file
from genscene.rotations import quat_wxyz_to_rotmat_np, rotmat_to_quat_wxyz_np

# name -> (model id, number of parameters), from COLMAP's camera model list.
CAMERA_MODELS: dict[str, tuple[int, int]] = {
    "SIMPLE_PINHOLE": (0, 3), "PINHOLE": (1, 4), "SIMPLE_RADIAL": (2, 4), "RADIAL": (3, 5),
    "OPENCV": (4, 8), "OPENCV_FISHEYE": (5, 8), "FULL_OPENCV": (6, 12), "FOV": (7, 5),
    "SIMPLE_RADIAL_FISHEYE": (8, 4), "RADIAL_FISHEYE": (9, 5), "THIN_PRISM_FISHEYE": (10, 12),
}
_MODEL_BY_ID = {mid: (name, n) for name, (mid, n) in CAMERA_MODELS.items()}
# Perspective models we read: where fx, fy, cx, cy sit among the parameters (f shared when fx == fy).
_PINHOLE_PARAMS = {
    "SIMPLE_PINHOLE": (0, 0, 1, 2), "PINHOLE": (0, 1, 2, 3), "SIMPLE_RADIAL": (0, 0, 1, 2),
    "RADIAL": (0, 0, 1, 2), "OPENCV": (0, 1, 2, 3), "FULL_OPENCV": (0, 1, 2, 3),
}
_N_FOCAL = {"SIMPLE_PINHOLE": 3, "PINHOLE": 4, "SIMPLE_RADIAL": 3, "RADIAL": 3, "OPENCV": 4, "FULL_OPENCV": 4}


# ==================================================================== public API
def save_colmap(
    dir: Path,
    cameras: Cameras,
    image_names: list[str],
    binary: bool = False,
    points: tuple[np.ndarray, np.ndarray] | None = None,
) -> None:
    """Write a COLMAP sparse model to folder ``dir`` (created if needed; the three files atomically).

    Args:
        cameras: ``[N]`` cameras (float64 recommended).
        image_names: ``N`` image file names, as COLMAP's ``NAME`` (relative to the image folder).
        binary: write ``.bin`` files instead of ``.txt``.
        points: optional ``(xyz [P, 3] float, rgb [P, 3] uint8)`` written to ``points3D``.
    """
    require_representable(cameras, "COLMAP PINHOLE")
    K, w2c = flat_numpy(cameras)
    if len(image_names) != K.shape[0]:
        raise ValueError(f"save_colmap: {K.shape[0]} cameras but {len(image_names)} image names")
    if not binary and any(len(name.split()) != 1 for name in image_names):
        raise ValueError("save_colmap: text models cannot hold image names with whitespace")
    xyz, rgb = _check_points(points)

    cam_ids: list[int] = []
    intrinsics: dict[tuple[float, ...], int] = {}
    for Ki in K:
        key = (Ki[0, 0], Ki[1, 1], Ki[0, 2], Ki[1, 2])
        cam_ids.append(intrinsics.setdefault(key, len(intrinsics) + 1))
    quats = rotmat_to_quat_wxyz_np(w2c[:, :3, :3])
    images = [(i + 1, quats[i], w2c[i, :3, 3], cam_ids[i], image_names[i]) for i in range(K.shape[0])]
    size = (cameras.width, cameras.height)
    cams = [(cid, size, params) for params, cid in intrinsics.items()]

    dir = Path(dir)
    write = _write_binary if binary else _write_text
    ext = ".bin" if binary else ".txt"
    files = write(cams, images, xyz, rgb)
    atomic_write_many({dir / f"{name}{ext}": data for name, data in files.items()})


def load_colmap(dir: Path) -> tuple[Cameras, list[str]]:
    """Read the cameras of a COLMAP sparse model in ``dir`` (``.bin`` preferred over ``.txt``).

    Returns:
        cameras ``[N]`` (float64, in COLMAP's image-id order) and the image names.
    """
    dir = Path(dir)
    fmt = _detect(dir)
    cams = (_read_cameras_bin if fmt == "bin" else _read_cameras_txt)(dir / f"cameras.{fmt}")
    images = (_read_images_bin if fmt == "bin" else _read_images_txt)(dir / f"images.{fmt}")
    src_images = dir / f"images.{fmt}"
    if not images:
        raise InputError(src_images, "the model has no images")
    images.sort(key=lambda im: im[0])
    K, w2c, names, sizes = [], [], [], set()
    for image_id, q, t, cam_id, name in images:
        if cam_id not in cams:
            raise InputError(src_images, f"image {image_id} refers to missing camera {cam_id}", "CAMERA_ID")
        Kc, size = cams[cam_id]
        sizes.add(size)
        K.append(Kc)
        M = np.eye(4)
        M[:3, :3] = quat_wxyz_to_rotmat_np(q)
        M[:3, 3] = t
        w2c.append(M)
        names.append(name)
    if len(sizes) != 1:
        raise InputError(dir / f"cameras.{fmt}", f"cameras have different image sizes {sorted(sizes)}; "
                         "one Cameras needs one size", "WIDTH/HEIGHT")
    (width, height), = sizes
    return make_cameras(np.stack(K), np.stack(w2c), width, height), names


def load_colmap_points(dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """The 3D points of a COLMAP model in ``dir``: ``xyz [P, 3]`` float64 and ``rgb [P, 3]`` uint8."""
    dir = Path(dir)
    fmt = _detect(dir)
    return (_read_points_bin if fmt == "bin" else _read_points_txt)(dir / f"points3D.{fmt}")


# ==================================================================== helpers
def _detect(dir: Path) -> str:
    for fmt in ("bin", "txt"):
        if (dir / f"cameras.{fmt}").is_file() and (dir / f"images.{fmt}").is_file():
            return fmt
    raise InputError(dir, "no COLMAP model here (need cameras and images as .bin or .txt)")


def _check_points(points) -> tuple[np.ndarray, np.ndarray]:
    if points is None:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.uint8)
    xyz, rgb = (np.asarray(p) for p in points)
    if xyz.ndim != 2 or xyz.shape[1] != 3 or rgb.shape != xyz.shape:
        raise ValueError(f"save_colmap: points need xyz [P,3] and rgb [P,3], got {xyz.shape} and {rgb.shape}")
    return xyz.astype(np.float64), rgb.astype(np.uint8)


def _intrinsics(model: str, params: np.ndarray, source: Path, field: str) -> np.ndarray:
    """K ``[3, 3]`` from a COLMAP model's parameters (distortion ignored, with a warning)."""
    if model not in _PINHOLE_PARAMS:
        raise InputError(source, f"camera model {model} is not a perspective model we read "
                         f"({', '.join(_PINHOLE_PARAMS)})", field)
    if not np.all(np.isfinite(params)):
        raise InputError(source, "contains NaN or infinite values", field)
    ifx, ify, icx, icy = _PINHOLE_PARAMS[model]
    K = np.array([[params[ifx], 0, params[icx]], [0, params[ify], params[icy]], [0, 0, 1.0]])
    check_intrinsics(K, source, field)
    if np.any(params[_N_FOCAL[model]:] != 0):
        warnings.warn(f"{source}: {field}: {model} distortion ignored (cameras read as pinholes)", stacklevel=3)
    return K


# -------------------------------------------------------------------- text
def _write_text(cams, images, xyz, rgb) -> dict[str, bytes]:
    lines = ["# Camera list with one line of data per camera:",
             "#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]", f"# Number of cameras: {len(cams)}"]
    lines += [f"{cid} PINHOLE {w} {h} " + " ".join(repr(float(p)) for p in params) for cid, (w, h), params in cams]
    cameras_txt = "\n".join(lines) + "\n"
    lines = ["# Image list with two lines of data per image:",
             "#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME",
             "#   POINTS2D[] as (X, Y, POINT3D_ID)", f"# Number of images: {len(images)}"]
    for iid, q, t, cid, name in images:
        lines.append(" ".join([str(iid), *(repr(float(v)) for v in (*q, *t)), str(cid), name]))
        lines.append("")
    images_txt = "\n".join(lines) + "\n"
    lines = ["# 3D point list with one line of data per point:",
             "#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)",
             f"# Number of points: {len(xyz)}"]
    lines += [f"{i + 1} {p[0]!r} {p[1]!r} {p[2]!r} {c[0]} {c[1]} {c[2]} 0.0"
              for i, (p, c) in enumerate(zip(xyz.tolist(), rgb.tolist()))]
    points_txt = "\n".join(lines) + "\n"
    return {"cameras": cameras_txt.encode(), "images": images_txt.encode(), "points3D": points_txt.encode()}


def _data_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every line that is not a comment; empty lines kept (images.txt pairs)."""
    existing_file(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    return [(n + 1, line.strip()) for n, line in enumerate(text.splitlines()) if not line.startswith("#")]


def _numbers(tokens: list[str], path: Path, field: str) -> np.ndarray:
    try:
        return np.array([float(t) for t in tokens])
    except ValueError:
        raise InputError(path, f"expected numbers, got {' '.join(tokens)!r}", field) from None


def _read_cameras_txt(path: Path) -> dict[int, tuple[np.ndarray, tuple[int, int]]]:
    cams = {}
    for n, line in _data_lines(path):
        if not line:
            continue
        tok = line.split()
        field = f"line {n}"
        if len(tok) < 4 or tok[1] not in CAMERA_MODELS:
            raise InputError(path, f"expected 'CAMERA_ID MODEL WIDTH HEIGHT PARAMS...', got {line!r}", field)
        n_params = CAMERA_MODELS[tok[1]][1]
        if len(tok) != 4 + n_params:
            raise InputError(path, f"{tok[1]} needs {n_params} parameters, got {len(tok) - 4}", field)
        nums = _numbers([tok[0], *tok[2:]], path, field)
        cams[int(nums[0])] = (_intrinsics(tok[1], nums[3:], path, field), (int(nums[1]), int(nums[2])))
    return cams


def _read_images_txt(path: Path) -> list[tuple]:
    lines = _data_lines(path)
    images, k = [], 0
    while k < len(lines):
        n, line = lines[k]
        if not line:
            k += 1
            continue
        tok = line.split()
        if len(tok) < 10:
            raise InputError(path, f"expected 'IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME', got {line!r}",
                             f"line {n}")
        nums = _numbers(tok[:9], path, f"line {n}")
        images.append(_image_entry(nums, " ".join(tok[9:]), path, f"line {n}"))
        k += 2  # the next line holds this image's 2D points (possibly empty)
    return images


def _image_entry(nums: np.ndarray, name: str, path: Path, field: str) -> tuple:
    if not np.all(np.isfinite(nums)):
        raise InputError(path, "contains NaN or infinite values", field)
    q = nums[1:5]
    if abs(np.linalg.norm(q) - 1) > 1e-3:
        raise InputError(path, f"quaternion is not unit length (|q| = {np.linalg.norm(q):.4g})", field)
    return int(nums[0]), q, nums[5:8], int(nums[8]), name


def _read_points_txt(path: Path) -> tuple[np.ndarray, np.ndarray]:
    xyz, rgb = [], []
    for n, line in _data_lines(path):
        if line:
            nums = _numbers(line.split()[:7], path, f"line {n}")
            xyz.append(nums[1:4])
            rgb.append(nums[4:7])
    return np.array(xyz, dtype=np.float64).reshape(-1, 3), np.array(rgb, dtype=np.uint8).reshape(-1, 3)


# -------------------------------------------------------------------- binary (little endian)
def _write_binary(cams, images, xyz, rgb) -> dict[str, bytes]:
    out = io.BytesIO()
    out.write(struct.pack("<Q", len(cams)))
    for cid, (w, h), params in cams:
        out.write(struct.pack("<iiQQ4d", cid, CAMERA_MODELS["PINHOLE"][0], w, h, *params))
    cameras_bin = out.getvalue()
    out = io.BytesIO()
    out.write(struct.pack("<Q", len(images)))
    for iid, q, t, cid, name in images:
        out.write(struct.pack("<i7di", iid, *q, *t, cid))
        out.write(name.encode("utf-8") + b"\x00")
        out.write(struct.pack("<Q", 0))
    images_bin = out.getvalue()
    out = io.BytesIO()
    out.write(struct.pack("<Q", len(xyz)))
    for i, (p, c) in enumerate(zip(xyz, rgb)):
        out.write(struct.pack("<Q3d3BdQ", i + 1, *p, *c, 0.0, 0))
    return {"cameras": cameras_bin, "images": images_bin, "points3D": out.getvalue()}


class _Reader:
    """Sequential little-endian reader that names the file when it runs out of bytes."""

    def __init__(self, path: Path):
        existing_file(path)
        self.path, self.data, self.pos = path, path.read_bytes(), 0

    def read(self, fmt: str, field: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise InputError(self.path, f"file ends early (truncated at byte {len(self.data)})", field)
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def read_name(self, field: str) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise InputError(self.path, "file ends inside an image name", field)
        name = self.data[self.pos:end].decode("utf-8", errors="replace")
        self.pos = end + 1
        return name

    def count(self, item_size: int, field: str) -> int:
        (n,) = self.read("<Q", field)
        if n * item_size > len(self.data) - self.pos:
            raise InputError(self.path, f"claims {n} entries, more than the file can hold", field)
        return n


def _read_cameras_bin(path: Path) -> dict[int, tuple[np.ndarray, tuple[int, int]]]:
    r, cams = _Reader(path), {}
    for k in range(r.count(24, "num_cameras")):
        field = f"camera {k}"
        cid, model_id, w, h = r.read("<iiQQ", field)
        if model_id not in _MODEL_BY_ID:
            raise InputError(path, f"unknown camera model id {model_id}", field)
        name, n_params = _MODEL_BY_ID[model_id]
        params = np.array(r.read(f"<{n_params}d", field))
        cams[cid] = (_intrinsics(name, params, path, f"camera {cid}"), (int(w), int(h)))
    return cams


def _read_images_bin(path: Path) -> list[tuple]:
    r, images = _Reader(path), []
    for k in range(r.count(64, "num_images")):
        field = f"image {k}"
        iid, *pose, cid = r.read("<i7di", field)
        name = r.read_name(field)
        (n_points,) = r.read("<Q", field)
        r.read(f"<{24 * n_points}x", field)  # skip the 2D points (x, y: double; point3D id: int64)
        images.append(_image_entry(np.array([iid, *pose, cid], dtype=np.float64), name, path, field))
    return images


def _read_points_bin(path: Path) -> tuple[np.ndarray, np.ndarray]:
    r, xyz, rgb = _Reader(path), [], []
    for k in range(r.count(43, "num_points3D")):
        field = f"point {k}"
        _, x, y, z, cr, cg, cb, _, track_len = r.read("<Q3d3BdQ", field)
        r.read(f"<{8 * track_len}x", field)  # skip the track (image id, point2D index: int32 each)
        xyz.append((x, y, z))
        rgb.append((cr, cg, cb))
    return np.array(xyz, dtype=np.float64).reshape(-1, 3), np.array(rgb, dtype=np.uint8).reshape(-1, 3)
