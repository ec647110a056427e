"""Where the real evaluation photos are (``../shared/data`` beside a checkout), and loaders for them."""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

ENV_VAR = "GENSCENE_SHARED_DATA"


def shared_data_dir() -> Path | None:
    """``$GENSCENE_SHARED_DATA``, else ``../shared/data`` beside the repository; ``None`` if absent."""
    candidates = [Path(os.environ[ENV_VAR])] if os.environ.get(ENV_VAR) else []
    candidates.append(Path(__file__).resolve().parents[3] / "shared" / "data")
    return next((p for p in candidates if p.is_dir()), None)


def square_crop(image: Tensor, size: int) -> Tensor:
    """Centre square crop of ``[3, H, W]`` resized to ``[3, size, size]`` (antialiased)."""
    h, w = image.shape[-2:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    crop = image[:, top:top + s, left:left + s]
    return F.interpolate(crop[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0].clamp(0, 1)


def real_photos(size: int, limit: int = 16) -> Tensor | None:
    """Up to ``limit`` real photos (single images, then unposed room) as ``[N, 3, size, size]``, or ``None``."""
    from genscene.io.images import read_image

    root = shared_data_dir()
    if root is None:
        return None
    files = sorted((root / "single_images").glob("*.jpg")) + sorted((root / "unposed" / "room").glob("*.jpg"))
    if not files:
        return None
    return torch.stack([square_crop(read_image(p), size) for p in files[:limit]])
