"""Gaussian count control for feed-forward decoders (Lyra §3.2 / App. "Subsampling Gaussians").

* ``prune_by_opacity``: keep the most opaque Gaussians (Lyra drops the lowest 80% by opacity) and/or
  those above a threshold.
* ``one_per_neighbourhood``: a decoder that predicts one Gaussian per pixel gives maps of
  ``L x H x W`` Gaussians; keep one per ``k x k`` pixel block (Lyra: 8 x 8), either the most
  opaque of the block or a moment-matched merge of the block.
"""

from __future__ import annotations

import torch
from torch import Tensor

from genscene.geometry.gaussians import Gaussians
from genscene.rotations import rotmat_to_quat


def prune_by_opacity(
    gaussians: Gaussians,
    keep: int | None = None,
    keep_ratio: float | None = None,
    min_opacity: float | None = None,
) -> tuple[Gaussians, Tensor]:
    """Keep Gaussians by opacity; returns the kept ones (original order) and their indices ``[M]``.

    Args:
        keep: keep at most this many, the most opaque (ties: lower index first).
        keep_ratio: keep ``ceil(ratio * N)`` of them, the most opaque (Lyra: 0.2).
        min_opacity: first drop those with opacity below this.
    """
    if keep is not None and keep_ratio is not None:
        raise ValueError("prune_by_opacity: give keep or keep_ratio, not both")
    if keep_ratio is not None and not 0.0 <= keep_ratio <= 1.0:
        raise ValueError(f"prune_by_opacity: keep_ratio must be in [0, 1], got {keep_ratio}")
    if keep is not None and keep < 0:
        raise ValueError(f"prune_by_opacity: keep must be >= 0, got {keep}")
    opac = gaussians.opacities.detach()
    index = torch.arange(len(gaussians), device=opac.device)
    if min_opacity is not None:
        index = index[opac >= min_opacity]
    if keep_ratio is not None:
        keep = int(torch.ceil(torch.tensor(keep_ratio * len(gaussians))).item())
    if keep is not None and keep < index.numel():
        order = torch.argsort(-opac[index], stable=True)[:keep]
        index = torch.sort(index[order]).values
    return gaussians[index], index


def one_per_neighbourhood(gaussians: Gaussians, grid: tuple[int, int], block: int,
                          mode: str = "max_opacity") -> Gaussians:
    """Reduce per-pixel Gaussian maps to one Gaussian per ``block x block`` pixel neighbourhood.

    Args:
        gaussians: ``L * H * W`` Gaussians, maps stored row-major (index ``(l * H + y) * W + x``).
        grid: ``(H, W)``, both divisible by ``block``.
        block: neighbourhood size k.
        mode: "max_opacity" keeps the block's most opaque Gaussian (ties: first in raster order);
            "merge" moment-matches the block as an opacity-weighted mixture: mean and covariance of
            the mixture, opacity-weighted colours (and SH), opacity = the block's maximum.

    Returns:
        ``L * (H / k) * (W / k)`` Gaussians in the same row-major layout.
    """
    H, W = grid
    N = len(gaussians)
    if H % block or W % block or N % (H * W):
        raise ValueError(f"one_per_neighbourhood: {N} Gaussians do not form maps of {H}x{W} in {block}x{block} blocks")
    L, h, w, k2 = N // (H * W), H // block, W // block, block * block

    def blocks(x: Tensor) -> Tensor:  # [N, ...] -> [L*h*w, k*k, ...]
        x = x.reshape(L, h, block, w, block, *x.shape[1:])
        x = x.transpose(2, 3)  # [L, h, w, k, k, ...]
        return x.reshape(L * h * w, k2, *x.shape[5:])

    opac = blocks(gaussians.opacities)  # [M, k2]
    if mode == "max_opacity":
        pick = torch.argmax(opac.detach(), dim=1)  # first maximum in raster order
        rows = torch.arange(opac.shape[0], device=opac.device)
        return gaussians[blocks(torch.arange(N, device=opac.device))[rows, pick]]
    if mode != "merge":
        raise ValueError(f"one_per_neighbourhood: unknown mode {mode!r} (max_opacity or merge)")
    weight = opac / opac.sum(1, keepdim=True).clamp_min(1e-12)  # [M, k2]
    means = blocks(gaussians.means)  # [M, k2, 3]
    mean = (weight[..., None] * means).sum(1)  # [M, 3]
    d = means - mean[:, None]
    cov = (weight[..., None, None] * (blocks(gaussians.covariances()) + d[..., :, None] * d[..., None, :])).sum(1)
    scales, quats = covariance_to_scales_quats(cov)
    mix = lambda x: torch.einsum("mk,mk...->m...", weight, blocks(x))  # noqa: E731
    return Gaussians(means=mean, quats=quats, scales=scales, opacities=opac.max(1).values,
                     colors=mix(gaussians.colors),
                     sh_rest=None if gaussians.sh_rest is None else mix(gaussians.sh_rest))


def covariance_to_scales_quats(cov: Tensor, min_scale: float = 1e-8) -> tuple[Tensor, Tensor]:
    """Symmetric PSD ``[..., 3, 3]`` -> standard deviations ``[..., 3]`` and unit quaternions ``[..., 4]``."""
    eigval, eigvec = torch.linalg.eigh(cov)
    # Eigenvectors form an orthogonal matrix; flip one axis where needed to make it a rotation.
    flip = torch.where(torch.linalg.det(eigvec) < 0, -1.0, 1.0).to(eigvec)
    eigvec = torch.cat([eigvec[..., :2], eigvec[..., 2:] * flip[..., None, None]], -1)
    return eigval.clamp_min(min_scale**2).sqrt(), rotmat_to_quat(eigvec)


__all__ = ["prune_by_opacity", "one_per_neighbourhood", "covariance_to_scales_quats"]
