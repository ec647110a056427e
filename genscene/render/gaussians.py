"""``render_gaussians``: one entry point for Gaussian splatting, gsplat on CUDA or the torch reference.

Both backends implement the same math (see ``gaussians_torch``); ``backend="auto"`` picks gsplat
when the Gaussians live on a CUDA device and gsplat is importable, else the torch reference. A
backend asked for by name that cannot run raises ``InputError`` instead of silently swapping.
"""

from __future__ import annotations

import importlib.util
from typing import Sequence

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.errors import InputError
from genscene.geometry.gaussians import Gaussians

BACKENDS = ("auto", "torch", "gsplat")

# Real spherical-harmonics constants (degrees 1-3) in the INRIA 3DGS / gsplat basis order.
_C1 = 0.4886025119029199
_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
_C3 = (-0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154,
       -0.4570457994644658, 1.445305721320277, -0.5900435899266435)


def gsplat_available() -> bool:
    """True when gsplat is importable and a CUDA device exists (its extension builds on first use)."""
    return torch.cuda.is_available() and importlib.util.find_spec("gsplat") is not None


def resolve_backend(backend: str, device: torch.device) -> str:
    """The concrete backend ("torch" or "gsplat") for ``backend`` on ``device``; raises if unavailable."""
    if backend not in BACKENDS:
        raise InputError("render_gaussians", f"unknown backend {backend!r}; choose one of {BACKENDS}", "backend")
    on_cuda = device.type == "cuda"
    if backend == "auto":
        return "gsplat" if on_cuda and gsplat_available() else "torch"
    if backend == "gsplat":
        if importlib.util.find_spec("gsplat") is None:
            raise InputError("render_gaussians", "gsplat is not installed (pip install gsplat)", "backend")
        if not on_cuda:
            raise InputError("render_gaussians", f"gsplat needs CUDA tensors, got device {device}", "backend")
    return backend


def sh_basis(dirs: Tensor, degree: int) -> Tensor:
    """Real SH basis values ``[..., (degree+1)^2 - 1]`` without the DC term, for unit ``dirs [..., 3]``."""
    x, y, z = dirs.unbind(-1)
    out = [-_C1 * y, _C1 * z, -_C1 * x]
    if degree >= 2:
        xx, yy, zz, xy, yz, xz = x * x, y * y, z * z, x * y, y * z, x * z
        out += [_C2[0] * xy, _C2[1] * yz, _C2[2] * (2 * zz - xx - yy), _C2[3] * xz, _C2[4] * (xx - yy)]
    if degree >= 3:
        out += [
            _C3[0] * y * (3 * xx - yy),
            _C3[1] * xy * z,
            _C3[2] * y * (4 * zz - xx - yy),
            _C3[3] * z * (2 * zz - 3 * xx - 3 * yy),
            _C3[4] * x * (4 * zz - xx - yy),
            _C3[5] * z * (xx - yy),
            _C3[6] * x * (xx - 3 * yy),
        ]
    return torch.stack(out, -1)


def view_colors(gaussians: Gaussians, centers: Tensor) -> Tensor:
    """Per-camera RGB ``[B, N, 3]`` seen from camera centres ``[B, 3]``.

    Without higher SH the colours are view-independent. With them, as in gsplat and INRIA 3DGS,
    ``rgb = max(colors + sum_k Y_k(d) sh_rest_k, 0)`` where ``colors`` already holds the DC term + 0.5.
    """
    B = centers.shape[0]
    if gaussians.sh_rest is None or gaussians.sh_degree == 0:
        return gaussians.colors.expand(B, -1, -1)
    if gaussians.sh_degree > 3:
        raise ValueError(f"view_colors: SH degree {gaussians.sh_degree} > 3 is not supported")
    dirs = torch.nn.functional.normalize(gaussians.means[None] - centers[:, None], dim=-1)  # [B, N, 3]
    basis = sh_basis(dirs, gaussians.sh_degree)  # [B, N, K]
    rest = torch.einsum("bnk,nkc->bnc", basis, gaussians.sh_rest[:, : basis.shape[-1]])
    return (gaussians.colors[None] + rest).clamp_min(0.0)


def render_gaussians(
    gaussians: Gaussians,
    cameras: Cameras,
    background: Sequence[float] | Tensor = (0.0, 0.0, 0.0),
    backend: str = "auto",
    near: float = 0.01,
    far: float = 1e10,
    eps2d: float = 0.3,
) -> dict[str, Tensor]:
    """Splat ``gaussians`` into every camera of a batch.

    Args:
        gaussians: N activated Gaussians; their device and dtype set the render's (half types and autocast are
            rendered in float32; gsplat: float32).
        cameras: pinhole cameras of batch shape ``[B]`` (or ``[]`` for one camera, rendered as B=1).
        background: RGB ``[3]`` or per-camera ``[B, 3]`` blended where alpha < 1.
        backend: "auto", "torch" or "gsplat".
        near, far: Gaussians whose centre's camera z is outside ``(near, far)`` are dropped.
        eps2d: low-pass dilation added to the 2D covariance's diagonal, in pixels^2.

    Returns:
        ``rgb [B, 3, H, W]`` (background blended in), ``depth [B, H, W]``: the expected z-depth
        ``sum_i w_i z_i / max(alpha, 1e-10)`` (gsplat's "ED" mode: normalised by alpha, 0 where empty),
        and ``alpha [B, H, W]`` = ``1 - final transmittance``.
    """
    device, dtype = gaussians.means.device, gaussians.means.dtype
    if dtype in (torch.float16, torch.bfloat16):  # compositing sums thousands of small terms: half types lose them
        gaussians, dtype = gaussians.to(dtype=torch.float32), torch.float32
    name = resolve_backend(backend, device)
    if cameras.K.dim() == 2:
        cameras = cameras.reshape(1)
    if cameras.K.dim() != 3:
        raise InputError("render_gaussians", f"cameras must have batch shape [B], got {tuple(cameras.batch_shape)}",
                         "cameras")
    cameras = cameras.to(device=device, dtype=dtype)
    B = cameras.K.shape[0]
    bg = torch.as_tensor(background, dtype=dtype, device=device)
    if bg.shape not in ((3,), (B, 3)):
        raise InputError("render_gaussians", f"background must be [3] or [{B}, 3], got {tuple(bg.shape)}",
                         "background")
    bg = bg.expand(B, 3)
    colors = view_colors(gaussians, cameras.centers)  # [B, N, 3]
    args = dict(means=gaussians.means, quats=gaussians.quats, scales=gaussians.scales,
                opacities=gaussians.opacities, colors=colors, viewmats=cameras.w2c, Ks=cameras.K,
                width=cameras.width, height=cameras.height, background=bg, near=near, far=far, eps2d=eps2d)
    with torch.autocast(device.type, enabled=False):  # a training step's autocast would cast the matmuls to bf16
        if name == "gsplat":
            from genscene.render.gaussians_gsplat import rasterize_gsplat

            return rasterize_gsplat(**args)
        from genscene.render.gaussians_torch import rasterize_torch

        return rasterize_torch(**args)
