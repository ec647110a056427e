"""Depth maps on disk: 16-bit PNG with one linear scale, and float32 ``.npz`` (exact).

PNG quantisation (documented here, stored beside the files in a ``scale.json`` of a scene)::

    depth = png_value * scale        png_value 0 = invalid

with ``scale = max_depth / 65535`` for a folder's largest valid depth (:func:`depth_scale`), so the
error of a valid depth is at most ``scale / 2``. One scale per folder (not per frame) so that tools
with a single depth unit factor (nerfstudio's ``depth_unit_scale_factor``) read every frame right.
A valid depth that would round to 0 is stored as 1 so it stays valid.

Invalid depth — 0, negative, NaN or inf — is stored as 0 in both formats and read back as 0.

Previews for people (:func:`write_depth_preview`): 8-bit RGB, the ``turbo`` colour map over inverse
depth between the folder's ``near`` and ``far`` (robust percentiles of its valid depths), near red
(warm), far blue, invalid black. They live in their own folder (``depth_preview/`` of a scene), so
nothing that reads depth ever mistakes one for data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genscene.atomic import atomic_path
from genscene.errors import InputError, existing_file

PNG_MAX = 65535
SCALE_FILE = "scale.json"
ENCODING = "depth = png_value * scale; png_value 0 = invalid"
PREVIEW_COLORMAP = "turbo"
PREVIEW_PERCENTILES = (2.0, 98.0)
"""Percentiles of the valid depths that set a preview's ``near`` and ``far``: a few stray pixels do not
wash out the rest."""
PREVIEW_MAPPING = ("turbo(t), t = (1/depth - 1/far) / (1/near - 1/far) clipped to [0, 1]: near red, far blue; "
                   "invalid black")


def _as_numpy(depth) -> np.ndarray:
    if isinstance(depth, Tensor):
        depth = depth.detach().cpu().numpy()
    return np.asarray(depth)


def sanitize_depth(depth) -> np.ndarray:
    """Float32 copy of ``depth [..., H, W]`` with every invalid value (<= 0, NaN, inf) set to 0."""
    d = _as_numpy(depth).astype(np.float32)
    return np.where(np.isfinite(d) & (d > 0), d, np.float32(0))


def depth_scale(depths) -> float:
    """The PNG scale for ``depths [..., H, W]``: largest valid depth / 65535 (1 / 65535 if none valid)."""
    d = sanitize_depth(depths)
    max_depth = float(d.max()) if d.size else 0.0
    return (max_depth if max_depth > 0 else 1.0) / PNG_MAX


def write_depth_png(path: str | Path, depth, scale: float) -> None:
    """Write ``depth [H, W]`` as a 16-bit grey PNG of ``round(depth / scale)`` (0 = invalid), atomically.

    Raises:
        ValueError: a valid depth above ``65535 * scale`` (pick ``scale`` with :func:`depth_scale`).
    """
    from PIL import Image

    d = sanitize_depth(depth).astype(np.float64)
    if d.ndim != 2:
        raise ValueError(f"depth: expected [H, W], got {d.shape}")
    if not scale > 0:
        raise ValueError(f"scale: must be positive, got {scale}")
    q = np.round(d / scale)
    if q.max(initial=0) > PNG_MAX:
        raise ValueError(f"depth: max {d.max():g} exceeds 65535 * scale = {PNG_MAX * scale:g}")
    q = np.where(d > 0, np.maximum(q, 1), 0).astype(np.uint16)
    with atomic_path(path) as tmp:
        Image.fromarray(q).save(tmp, format="PNG")


def read_depth_png(path: str | Path, scale: float) -> Tensor:
    """Read a 16-bit depth PNG as float32 ``[H, W]`` = ``value * scale`` (0 = invalid)."""
    from PIL import Image

    path = existing_file(path)
    try:
        with Image.open(path) as im:
            mode = im.mode
            q = np.asarray(im)
    except Exception as err:  # PIL raises several types for broken files
        raise InputError(path, f"not a readable PNG ({type(err).__name__}: {err})") from err
    if q.ndim != 2 or mode not in ("I;16", "I;16B", "I", "L"):
        raise InputError(path, f"expected a single-channel 16-bit PNG, got mode {mode} with shape {q.shape}")
    return torch.from_numpy((q.astype(np.float64) * scale).astype(np.float32))


def preview_range(depths) -> tuple[float, float]:
    """``(near, far)`` of a preview: the :data:`PREVIEW_PERCENTILES` of the valid values of ``depths [..., H, W]``
    (``(1, 1)`` when none is valid)."""
    d = sanitize_depth(depths)
    valid = d[d > 0]
    if valid.size == 0:
        return 1.0, 1.0
    near, far = np.percentile(valid.astype(np.float64), PREVIEW_PERCENTILES)
    return float(near), float(far)


def depth_preview_rgb(depth, near: float, far: float) -> np.ndarray:
    """``uint8 [H, W, 3]`` colour image of ``depth [H, W]`` (see :data:`PREVIEW_MAPPING`)."""
    from matplotlib import colormaps

    d = sanitize_depth(depth).astype(np.float64)
    if d.ndim != 2:
        raise ValueError(f"depth: expected [H, W], got {d.shape}")
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    inv_near, inv_far = 1.0 / near, 1.0 / far
    span = inv_near - inv_far
    t = np.clip((inv - inv_far) / span, 0.0, 1.0) if span > 0 else np.ones_like(d)
    rgb = np.round(colormaps[PREVIEW_COLORMAP](t)[..., :3] * 255).astype(np.uint8)
    rgb[d <= 0] = 0
    return rgb


def write_depth_preview(path: str | Path, depth, near: float, far: float) -> None:
    """Write :func:`depth_preview_rgb` of ``depth [H, W]`` as an 8-bit RGB PNG, atomically."""
    from PIL import Image

    rgb = depth_preview_rgb(depth, near, far)
    with atomic_path(path) as tmp:
        Image.fromarray(rgb).save(tmp, format="PNG")


def write_depth_npz(path: str | Path, depth, confidence=None) -> None:
    """Write ``depth [H, W]`` (invalid -> 0) and optional ``confidence [H, W]`` as float32 npz, atomically."""
    arrays = {"depth": sanitize_depth(depth)}
    if arrays["depth"].ndim != 2:
        raise ValueError(f"depth: expected [H, W], got {arrays['depth'].shape}")
    if confidence is not None:
        arrays["confidence"] = _as_numpy(confidence).astype(np.float32)
        if arrays["confidence"].shape != arrays["depth"].shape:
            raise ValueError(f"confidence: expected {arrays['depth'].shape}, got {arrays['confidence'].shape}")
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)


def read_depth_npz(path: str | Path) -> tuple[Tensor, Tensor | None]:
    """Read ``(depth [H, W], confidence [H, W] | None)`` float32 from an npz written by :func:`write_depth_npz`."""
    path = existing_file(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k]) for k in npz.files}
    except Exception as err:  # zipfile / numpy format errors
        raise InputError(path, f"not a readable npz ({type(err).__name__}: {err})") from err
    if "depth" not in arrays:
        raise InputError(path, "missing array", field="depth")
    depth = arrays["depth"]
    if depth.ndim != 2 or not np.issubdtype(depth.dtype, np.floating):
        raise InputError(path, f"expected a float [H, W] array, got {depth.dtype} {depth.shape}", field="depth")
    conf = arrays.get("confidence")
    if conf is not None and conf.shape != depth.shape:
        raise InputError(path, f"shape {conf.shape} differs from depth {depth.shape}", field="confidence")
    return (torch.from_numpy(sanitize_depth(depth)),
            None if conf is None else torch.from_numpy(conf.astype(np.float32)))


def write_depth_scale(folder: str | Path, scale: float) -> None:
    """Write ``<folder>/scale.json`` describing the PNG encoding of the depth PNGs in ``folder``."""
    text = json.dumps({"encoding": ENCODING, "scale": float(scale), "max_value": PNG_MAX}, indent=2)
    with atomic_path(Path(folder) / SCALE_FILE) as tmp:
        tmp.write_text(text + "\n")


def read_depth_scale(folder: str | Path) -> float:
    """The PNG depth scale stored in ``<folder>/scale.json``."""
    path = Path(folder) / SCALE_FILE
    existing_file(path)
    try:
        scale = json.loads(path.read_text())["scale"]
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise InputError(path, f"invalid JSON ({err})") from err
    except (KeyError, TypeError) as err:
        raise InputError(path, "missing", field="scale") from err
    if not isinstance(scale, (int, float)) or not scale > 0:
        raise InputError(path, f"must be a positive number, got {scale!r}", field="scale")
    return float(scale)
