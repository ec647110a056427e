"""Known camera intrinsics: a user's ``--intrinsics`` JSON file, or the focal length in a photo's EXIF.

The JSON file is either one camera shared by every view, or one per image name::

    {"fx": 1200.0, "fy": 1200.0, "cx": 640.0, "cy": 360.0, "width": 1280, "height": 720}
    {"images": {"a.jpg": {"fx": 1200.0}, "b.jpg": {"fx": 1210.0, "cx": 641.5}}}

``fx`` is required; ``fy`` defaults to ``fx``; ``cx``, ``cy`` default to the image centre. Values
are in pixels (pixel centres at +0.5, COLMAP's and OpenCV's continuous convention) of an image of
``width x height`` when given, else of the image as read (EXIF orientation applied); values for
another size are scaled to each view's size.

EXIF: ``FocalLengthIn35mmFilm`` (the focal a 36x24 mm frame would need for the same diagonal field
of view) gives ``f = f35 / 43.27 mm * image diagonal in pixels``; without it, ``FocalLength`` with
``FocalPlaneXResolution`` (pixels per unit on the sensor, for the camera's full-size image).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import Tensor

from genscene.cameras.cameras import intrinsics_matrix
from genscene.errors import InputError

FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)
"""Diagonal of the 35 mm film frame that ``FocalLengthIn35mmFilm`` refers to."""
_EXIF_IFD = 0x8769
_FOCAL_35MM = 0xA405
_FOCAL_MM = 0x920A
_PLANE_X_RES = 0xA20E
_PLANE_UNIT = 0xA210
_PIXEL_X = 0xA002
_PIXEL_Y = 0xA003
_UNIT_MM = {2: 25.4, 3: 10.0, 4: 1.0, 5: 0.001}
"""FocalPlaneResolutionUnit -> millimetres per unit (2 = inch, 3 = cm, 4 = mm, 5 = um)."""


def _number(path: Path, where: str, value, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(path, f"{where}: expected a finite number, got {value!r}")
    if positive and value <= 0:
        raise InputError(path, f"{where}: must be positive, got {value}")
    return float(value)


def _camera(path: Path, where: str, entry, width: int, height: int) -> Tensor:
    """``[3, 3]`` K of one JSON entry for an image of ``width x height``."""
    if not isinstance(entry, dict):
        raise InputError(path, f"{where}: expected an object with fx (fy, cx, cy, width, height optional)")
    unknown = set(entry) - {"fx", "fy", "cx", "cy", "width", "height"}
    if unknown:
        raise InputError(path, f"{where}: unknown key(s) {sorted(unknown)} (fx, fy, cx, cy, width, height)")
    if "fx" not in entry:
        raise InputError(path, f"{where}: 'fx' is required")
    w0 = _number(path, f"{where}.width", entry.get("width", width))
    h0 = _number(path, f"{where}.height", entry.get("height", height))
    if abs(w0 / h0 - width / height) > 0.01 * width / height:
        raise InputError(path, f"{where}: given for {w0:g}x{h0:g}, but the image is {width}x{height} "
                               "(another aspect ratio: a crop, not a resize)")
    fx = _number(path, f"{where}.fx", entry["fx"])
    fy = _number(path, f"{where}.fy", entry.get("fy", fx))
    cx = _number(path, f"{where}.cx", entry.get("cx", w0 / 2), positive=False)
    cy = _number(path, f"{where}.cy", entry.get("cy", h0 / 2), positive=False)
    sx, sy = width / w0, height / h0
    return intrinsics_matrix(fx * sx, fy * sy, cx * sx, cy * sy)


def read_intrinsics_file(path: str | Path, names: list[str], sizes: list[tuple[int, int]]) -> Tensor:
    """Intrinsics ``[N, 3, 3]`` float64 for views ``names`` of ``sizes`` (width, height) from a JSON file.

    Raises:
        InputError: the file is unreadable, malformed, or misses one of ``names`` (per-image form).
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise InputError(path, f"cannot read as JSON: {type(err).__name__}") from None
    if not isinstance(doc, dict):
        raise InputError(path, "expected a JSON object ({\"fx\": ...} or {\"images\": {name: {\"fx\": ...}}})")
    if "images" in doc:
        per_image = doc["images"]
        if not isinstance(per_image, dict):
            raise InputError(path, "'images': expected an object {image name: {\"fx\": ...}}")
        missing = [n for n in names if n not in per_image]
        if missing:
            raise InputError(path, f"no intrinsics for {len(missing)} view(s): {', '.join(missing[:5])}")
        return torch.stack([_camera(path, f"images[{n!r}]", per_image[n], w, h) for n, (w, h) in zip(names, sizes)])
    return torch.stack([_camera(path, "intrinsics", doc, w, h) for w, h in sizes])


def exif_focal(path: str | Path, width: int, height: int) -> float | None:
    """Focal length in pixels of an image of ``width x height`` (as read) from its EXIF, or None."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            exif = im.getexif()
            sub = exif.get_ifd(_EXIF_IFD)
    except (OSError, ValueError, SyntaxError):
        return None
    f35 = sub.get(_FOCAL_35MM)
    try:
        if f35 and float(f35) > 0:
            return float(f35) / FULL_FRAME_DIAGONAL_MM * math.hypot(width, height)
        f_mm, res, unit = sub.get(_FOCAL_MM), sub.get(_PLANE_X_RES), sub.get(_PLANE_UNIT, 2)
        if f_mm and res and float(f_mm) > 0 and float(res) > 0 and int(unit) in _UNIT_MM:
            px_per_mm = float(res) / _UNIT_MM[int(unit)]
            full = (sub.get(_PIXEL_X), sub.get(_PIXEL_Y))
            full_long = max(int(v) for v in full) if all(full) else max(width, height)
            return float(f_mm) * px_per_mm * max(width, height) / full_long
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return None


def exif_intrinsics(path: str | Path, width: int, height: int) -> Tensor | None:
    """``[3, 3]`` K from EXIF (principal point at the centre, square pixels), or None without a focal."""
    f = exif_focal(path, width, height)
    if f is None or not math.isfinite(f) or f <= 0:
        return None
    return intrinsics_matrix(f, f, width / 2, height / 2)
