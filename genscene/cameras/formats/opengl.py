"""OpenGL / Blender camera-to-world poses <-> :class:`Cameras`.

OpenGL / Blender camera axes: +x right, +y up, the camera looks down -z. Our OpenCV axes are
+x right, +y down, +z forward, so the two camera frames differ by a flip of y and z:
``c2w_opencv = c2w_opengl @ diag(1, -1, -1, 1)`` (the flip is its own inverse).
"""

from __future__ import annotations

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras, homogeneous, intrinsics_matrix

# Right-multiplying a c2w by this swaps between OpenGL and OpenCV camera axes (both directions).
GL_CV_FLIP = torch.diag(torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=torch.float64))


def opengl_to_opencv_c2w(c2w: Tensor) -> Tensor:
    """OpenGL c2w ``[*B, 4, 4]`` (or ``[*B, 3, 4]``) -> OpenCV c2w ``[*B, 4, 4]``."""
    c2w = homogeneous(torch.as_tensor(c2w))
    if not c2w.is_floating_point():
        c2w = c2w.to(torch.float64)
    return c2w @ GL_CV_FLIP.to(c2w)


def cameras_from_opengl(
    c2w: Tensor,
    K: Tensor | float | tuple[float, float],
    width: int,
    height: int,
) -> Cameras:
    """Cameras from OpenGL/Blender camera-to-world poses.

    Args:
        c2w: ``[*B, 4, 4]`` or ``[*B, 3, 4]`` camera-to-world, OpenGL axes.
        K: pixel intrinsics ``[3, 3]`` or ``[*B, 3, 3]`` (OpenCV form, pixel centres at +0.5), or a
            focal length in pixels (one number, or ``(fx, fy)``) with the principal point at the
            image centre ``(width / 2, height / 2)``.
        width, height: image size in pixels.
    """
    c2w_cv = opengl_to_opencv_c2w(c2w)
    if isinstance(K, (int, float)) or (isinstance(K, Tensor) and K.ndim == 0):
        K = intrinsics_matrix(float(K), float(K), width / 2, height / 2, dtype=c2w_cv.dtype)
    elif isinstance(K, tuple):
        K = intrinsics_matrix(float(K[0]), float(K[1]), width / 2, height / 2, dtype=c2w_cv.dtype)
    K = torch.as_tensor(K).to(c2w_cv)
    K = K.expand(*c2w_cv.shape[:-2], 3, 3).clone()
    return Cameras.from_c2w(K, c2w_cv, width, height)


def cameras_to_opengl(cameras: Cameras) -> Tensor:
    """OpenGL/Blender camera-to-world ``[*B, 4, 4]`` of ``cameras`` (intrinsics are ``cameras.K``)."""
    return cameras.c2w @ GL_CV_FLIP.to(cameras.w2c)
