"""gsplat path of ``render_gaussians`` (CUDA only). gsplat is imported here, lazily; its CUDA
extension is JIT-built on first use (about a minute) and cached by torch."""

from __future__ import annotations

from torch import Tensor


def rasterize_gsplat(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4]
    scales: Tensor,  # [N, 3]
    opacities: Tensor,  # [N]
    colors: Tensor,  # [B, N, 3] per-camera colours
    viewmats: Tensor,  # [B, 4, 4]
    Ks: Tensor,  # [B, 3, 3]
    width: int,
    height: int,
    background: Tensor,  # [B, 3]
    near: float = 0.01,
    far: float = 1e10,
    eps2d: float = 0.3,
) -> dict[str, Tensor]:
    """Same contract as ``gaussians_torch.rasterize_torch``; computes in float32 (gsplat's kernels)."""
    from gsplat import rasterization

    f32 = [t.float().contiguous() for t in (means, quats, scales, opacities, colors, viewmats, Ks, background)]
    means, quats, scales, opacities, colors, viewmats, Ks, background = f32
    render, alpha, _ = rasterization(
        means, quats, scales, opacities, colors, viewmats, Ks, width, height,
        near_plane=near, far_plane=far, eps2d=eps2d, backgrounds=background,
        render_mode="RGB+ED", packed=False, rasterize_mode="classic",
    )  # [B, H, W, 4], [B, H, W, 1]
    return {"rgb": render[..., :3].permute(0, 3, 1, 2), "depth": render[..., 3], "alpha": alpha[..., 0]}

