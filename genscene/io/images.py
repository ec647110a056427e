"""RGB images on disk (8-bit PNG/JPEG via Pillow) as ``[3, H, W]`` float in [0, 1].

Writing rounds to 8 bits, so ``read_image(write_image(x))`` returns ``round(x * 255) / 255``
exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from genscene.atomic import atomic_path
from genscene.errors import InputError, existing_file
from genscene.limits import check_image_pixels


def image_to_uint8(image: Tensor) -> np.ndarray:
    """``[3, H, W]`` float in [0, 1] -> ``[H, W, 3]`` uint8 (clipped, rounded)."""
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"image: expected [3, H, W], got {tuple(image.shape)}")
    x = image.detach().cpu().to(torch.float32).clamp(0, 1).mul(255).round().to(torch.uint8)
    return x.permute(1, 2, 0).contiguous().numpy()


def write_image(path: str | Path, image: Tensor) -> None:
    """Write ``image [3, H, W]`` (float in [0, 1]) as 8-bit RGB, atomically; format from the suffix."""
    write_rgb8(path, image_to_uint8(image))


def write_rgb8(path: str | Path, pixels: np.ndarray) -> None:
    """Write ``pixels [H, W, 3]`` uint8 atomically; format from the suffix (batch conversions use this)."""
    from PIL import Image

    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        raise ValueError(f"pixels: expected [H, W, 3] uint8, got {pixels.dtype} {pixels.shape}")
    with atomic_path(path) as tmp:
        Image.fromarray(pixels).save(tmp)  # the temporary name keeps the suffix


def read_image(path: str | Path, background: float = 1.0) -> Tensor:
    """Read an image file as RGB ``[3, H, W]`` float32 in [0, 1].

    EXIF orientation is applied (phone photos). Grey images are repeated to RGB; an alpha channel
    is composited over a grey ``background`` (1.0 = white). 16-bit images are scaled by 1/65535.
    The size in the header is checked (:func:`genscene.limits.check_image_pixels`) before decoding.
    """
    from PIL import ImageOps

    path = existing_file(path)
    with _opened(path) as im:
        check_image_pixels(path, *im.size)
        try:
            im = ImageOps.exif_transpose(im)
            if im.mode not in _DIRECT_MODES:  # palette, CMYK, bilevel, ...
                im = im.convert("RGBA")
            pixels = np.asarray(im)
        except MemoryError:
            raise InputError(path, f"out of memory decoding {im.size[0]}x{im.size[1]} pixels") from None
        except Exception as err:  # PIL raises several types for broken or unknown files
            raise InputError(path, f"not a readable image ({type(err).__name__}: {err})") from err
    return _to_rgb(pixels, background)


def image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` from an image file's header, without decoding its pixels."""
    with _opened(existing_file(path)) as im:
        return im.size


@contextmanager
def _opened(path: Path) -> Iterator:
    """``PIL.Image.open(path)`` (lazy: the header only); PIL's own size limit is left to
    :func:`check_image_pixels`, which names the file and the override in one line."""
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None  # our check replaces PIL's warning (a stray stderr line) and error
    try:
        try:
            im = Image.open(path)
        except Exception as err:  # PIL raises several types for broken or unknown files
            raise InputError(path, f"not a readable image ({type(err).__name__}: {err})") from err
        with im:
            yield im
    finally:
        Image.MAX_IMAGE_PIXELS = limit


_DIRECT_MODES = ("L", "LA", "RGB", "RGBA", "I;16", "I;16B", "I", "F")


def _to_rgb(pixels: np.ndarray, background: float) -> Tensor:
    """``[H, W]`` or ``[H, W, C]`` pixels (C = 1..4) -> ``[3, H, W]`` float32 in [0, 1]."""
    if pixels.dtype == np.uint8:
        x = pixels.astype(np.float32) / 255.0
    elif pixels.dtype in (np.uint16, np.int32, np.dtype(">u2")):
        x = pixels.astype(np.float32) / 65535.0
    else:
        x = pixels.astype(np.float32)
    if x.ndim == 2:
        x = x[..., None]
    alpha = None
    if x.shape[-1] in (2, 4):
        x, alpha = x[..., :-1], x[..., -1:]
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    if alpha is not None:
        x = x * alpha + background * (1.0 - alpha)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))
