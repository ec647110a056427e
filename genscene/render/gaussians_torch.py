"""Pure-PyTorch reference Gaussian rasterizer, differentiable by autograd.

It reproduces gsplat 1.5's ``rasterization`` (classic mode, pinhole, ``render_mode="RGB+ED"``)
term by term so that the two agree to float precision:

* EWA projection with the Jacobian evaluated at the mean, the mean's direction clamped to 1.3x the
  field of view for the Jacobian only (as gsplat does), and a low-pass dilation ``eps2d`` added to
  the 2D covariance;
* Gaussians with z outside ``(near, far)``, a non-positive 2D determinant, opacity below 1/255 or an
  opacity-aware 3-sigma box (``sqrt(2 ln(255 o))`` sigmas, at most 3.33) outside the image are culled;
* per pixel (centres at +0.5): ``alpha = min(0.999, o * exp(-0.5 d^T S^-1 d))``, skipped when below
  1/255; front-to-back compositing sorted by the mean's camera z; a Gaussian that would bring the
  transmittance to <= 1e-4 ends the pixel and is itself excluded.

Memory stays bounded: Gaussians are binned to 16x16 pixel tiles by their boxes, tiles are
processed in chunks of at most ``budget`` (pixel, Gaussian) pairs, and with autograd on each chunk
is checkpointed (recomputed in backward) so only its outputs are kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from genscene.rotations import quat_to_rotmat

ALPHA_THRESHOLD = 1.0 / 255.0
"""Alphas below this are skipped (gsplat's ``ALPHA_THRESHOLD``)."""
ALPHA_MAX = 0.999
"""Per-Gaussian alpha is clamped to this (gsplat 1.5 rasterize kernel)."""
TRANSMITTANCE_MIN = 1e-4
"""A pixel stops once its transmittance would fall to this or below."""
EXTENT_MAX = 3.33
"""Largest box half-size in standard deviations."""
_EXPONENT_MAX = 30.0
_LOG_TRANSMITTANCE_MIN = math.log(TRANSMITTANCE_MIN)
_PAD_COEFFICIENTS = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 1e4])


@dataclass
class Projected:
    """Per-camera screen-space Gaussians, all with leading dims ``[B, N]``.

    Attributes:
        means2d: projected centres in pixels ``[B, N, 2]``.
        conics: inverse dilated 2D covariance (a, b, c) of ``[[a, b], [b, c]]`` ``[B, N, 3]``.
        depths: camera z of the centres ``[B, N]``.
        radii: integer box half-sizes in pixels (x, y) ``[B, N, 2]``; 0 where culled.
    """

    means2d: Tensor
    conics: Tensor
    depths: Tensor
    radii: Tensor


def project_gaussians(
    means: Tensor,  # [N, 3]
    quats: Tensor,  # [N, 4]
    scales: Tensor,  # [N, 3]
    opacities: Tensor,  # [N]
    viewmats: Tensor,  # [B, 4, 4]
    Ks: Tensor,  # [B, 3, 3]
    width: int,
    height: int,
    near: float = 0.01,
    far: float = 1e10,
    eps2d: float = 0.3,
) -> Projected:
    """EWA-project 3D Gaussians into B pinhole cameras exactly as gsplat's fused projection."""
    R_cam, t_cam = viewmats[:, :3, :3], viewmats[:, :3, 3]  # [B, 3, 3], [B, 3]
    means_c = torch.einsum("bij,nj->bni", R_cam, means) + t_cam[:, None]  # [B, N, 3]
    M = quat_to_rotmat(quats) * scales[:, None, :]  # [N, 3, 3]
    cov_w = M @ M.transpose(-1, -2)  # [N, 3, 3]
    cov_c = torch.einsum("bij,njk,blk->bnil", R_cam, cov_w, R_cam)  # [B, N, 3, 3]

    fx, fy = Ks[:, 0, 0, None], Ks[:, 1, 1, None]  # [B, 1]
    cx, cy = Ks[:, 0, 2, None], Ks[:, 1, 2, None]
    x, y, z = means_c.unbind(-1)  # [B, N]
    # gsplat clamps the direction used by the Jacobian to 1.3x the frustum, limiting blow-up at edges.
    tan_x, tan_y = 0.5 * width / fx, 0.5 * height / fy
    tx = z * torch.minimum(torch.maximum(x / z, -(cx / fx + 0.3 * tan_x)), (width - cx) / fx + 0.3 * tan_x)
    ty = z * torch.minimum(torch.maximum(y / z, -(cy / fy + 0.3 * tan_y)), (height - cy) / fy + 0.3 * tan_y)
    zero = torch.zeros_like(z)
    J = torch.stack([fx / z, zero, -fx * tx / z**2, zero, fy / z, -fy * ty / z**2], -1)
    J = J.reshape(*z.shape, 2, 3)  # [B, N, 2, 3]
    cov2d = J @ cov_c @ J.transpose(-1, -2)  # [B, N, 2, 2]
    means2d = torch.stack([fx * x / z + cx, fy * y / z + cy], -1)  # [B, N, 2]

    a = cov2d[..., 0, 0] + eps2d
    c = cov2d[..., 1, 1] + eps2d
    b = 0.5 * (cov2d[..., 0, 1] + cov2d[..., 1, 0])
    det = a * c - b * b
    safe_det = torch.where(det > 0, det, torch.ones_like(det))
    conics = torch.stack([c / safe_det, -b / safe_det, a / safe_det], -1)  # [B, N, 3]

    with torch.no_grad():
        opac = opacities.detach().expand_as(z)
        extent = torch.sqrt(2.0 * torch.log((opac / ALPHA_THRESHOLD).clamp_min(1.0))).clamp_max(EXTENT_MAX)
        radius = torch.stack([torch.ceil(extent * a.detach().clamp_min(0).sqrt()),
                              torch.ceil(extent * c.detach().clamp_min(0).sqrt())], -1)  # [B, N, 2]
        m2 = means2d.detach()
        valid = (z >= near) & (z <= far) & (det > 0) & (opac >= ALPHA_THRESHOLD)
        valid &= (radius > 0).any(-1)
        valid &= (m2[..., 0] + radius[..., 0] > 0) & (m2[..., 0] - radius[..., 0] < width)
        valid &= (m2[..., 1] + radius[..., 1] > 0) & (m2[..., 1] - radius[..., 1] < height)
        radii = torch.where(valid[..., None], radius, torch.zeros_like(radius)).to(torch.int32)
    return Projected(means2d=means2d, conics=conics, depths=z, radii=radii)


@dataclass
class TileBins:
    """Gaussian-tile intersections sorted by (image, tile, depth).

    Attributes:
        gaussian_ids: flat ids ``b * N + n`` of the sorted intersections ``[M]``.
        offsets: start of each tile's run in ``gaussian_ids`` ``[B * tiles + 1]``.
        tiles_x: tiles per image row.
        tiles_y: tiles per image column.
    """

    gaussian_ids: Tensor
    offsets: Tensor
    tiles_x: int
    tiles_y: int


@torch.no_grad()
def bin_to_tiles(proj: Projected, width: int, height: int, tile: int = 16) -> TileBins:
    """Bin each visible Gaussian to every tile its box touches (gsplat's ``isect_tiles``)."""
    B, N = proj.depths.shape
    tiles_x, tiles_y = math.ceil(width / tile), math.ceil(height / tile)
    n_tiles = tiles_x * tiles_y
    radii = proj.radii.reshape(B * N, 2).to(proj.means2d.dtype)
    centre = proj.means2d.detach().reshape(B * N, 2) / tile
    lo = torch.floor(centre - radii / tile)
    hi = torch.ceil(centre + radii / tile)
    lo[:, 0].clamp_(0, tiles_x), hi[:, 0].clamp_(0, tiles_x)
    lo[:, 1].clamp_(0, tiles_y), hi[:, 1].clamp_(0, tiles_y)
    lo, hi = lo.long(), hi.long()
    span = hi - lo  # [B*N, 2]
    counts = span[:, 0] * span[:, 1] * (proj.radii.reshape(B * N, 2) > 0).all(-1)
    ids = torch.repeat_interleave(torch.arange(B * N, device=counts.device), counts)  # [M]
    first = torch.cumsum(counts, 0) - counts
    local = torch.arange(ids.numel(), device=ids.device) - first[ids]
    tx = lo[ids, 0] + local % span[ids, 0]
    ty = lo[ids, 1] + local // span[ids, 0]
    image = ids // N
    tile_key = image * n_tiles + ty * tiles_x + tx  # [M]
    # Depth rank per image with a stable sort: ties keep index order, like gsplat's radix sort.
    order = torch.argsort(proj.depths.detach().reshape(B * N), stable=True)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(B * N, device=order.device)
    key = tile_key * (B * N) + rank[ids]
    sorted_ids = ids[torch.argsort(key)]
    tile_counts = torch.bincount(tile_key, minlength=B * n_tiles)
    offsets = torch.cat([tile_counts.new_zeros(1), torch.cumsum(tile_counts, 0)])
    return TileBins(gaussian_ids=sorted_ids, offsets=offsets, tiles_x=tiles_x, tiles_y=tiles_y)


def quadratic_coefficients(means2d: Tensor, conics: Tensor, opacities: Tensor) -> Tensor:
    """Coefficients ``[..., 6]`` of ``sigma - ln(o)`` as a polynomial in the pixel (x, y).

    ``0.5 (m - p)^T S^-1 (m - p) - ln o = c0 x^2 + c1 y^2 + c2 x y + c3 x + c4 y + c5`` with the
    conic (a, b, c); ``means2d`` must be relative to the tile centre so the terms stay small.
    """
    mx, my = means2d.unbind(-1)
    a, b, c = conics.unbind(-1)
    return torch.stack([
        0.5 * a, 0.5 * c, b,
        -(a * mx + b * my), -(c * my + b * mx),
        0.5 * a * mx * mx + 0.5 * c * my * my + b * mx * my - torch.log(opacities),
    ], -1)


def composite(
    coefficients: Tensor,  # [T, K, 6] from quadratic_coefficients, depth-sorted
    features: Tensor,  # [T, K, F]
    monomials: Tensor,  # [P, 6] pixel monomials (x^2, y^2, xy, x, y, 1), relative to the tile centre
    segment: int = 128,
) -> tuple[Tensor, Tensor]:
    """Front-to-back alpha compositing of depth-sorted Gaussians over each tile's pixels.

    Gaussians are taken ``segment`` at a time, carrying each pixel's transmittance, and a tile is
    dropped once all its pixels are done: dense scenes stop after their first few layers, as gsplat does.

    Returns ``(sum_i w_i f_i [T, P, F], sum_i w_i [T, P])`` with ``w_i = alpha_i T_i``.
    """
    n_tiles, K, F = features.shape
    P = monomials.shape[0]
    acc = features.new_zeros(n_tiles, P, F)
    weight_sum = features.new_zeros(n_tiles, P)
    log_carry = features.new_zeros(n_tiles, P)  # ln transmittance after all Gaussians seen so far
    active = torch.arange(n_tiles, device=features.device)
    for first in range(0, K, segment):
        coef = coefficients[active, first:first + segment]  # [A, S, 6]
        # Clamping keeps exp() out of denormals (10x slower on CPU); such alphas are below 1/255 anyway.
        exponent = (monomials @ coef.transpose(-1, -2)).clamp_max(_EXPONENT_MAX)  # [A, P, S]
        alpha = torch.exp(-exponent).clamp_max(ALPHA_MAX)
        alpha = alpha * (alpha >= ALPHA_THRESHOLD)
        log_pass = torch.log1p(-alpha)
        log_through = log_carry[active, :, None] + torch.cumsum(log_pass, dim=-1)  # after each Gaussian
        # Early stop is exclusive and the transmittance only decreases, so the survivors are a prefix.
        alive = log_through.detach() > _LOG_TRANSMITTANCE_MIN
        weights = alpha * torch.exp((log_through - log_pass).clamp_min(-_EXPONENT_MAX)) * alive
        acc = acc.index_add(0, active, weights @ features[active, first:first + segment])
        weight_sum = weight_sum.index_add(0, active, weights.sum(-1))
        log_carry = log_carry.index_copy(0, active, log_through[..., -1])
        active = active[(log_carry[active].detach() > _LOG_TRANSMITTANCE_MIN).any(-1)]
        if active.numel() == 0:
            break
    return acc, weight_sum


def rasterize_tiles(
    proj: Projected,
    features: Tensor,  # [B, N, F]
    opacities: Tensor,  # [N]
    width: int,
    height: int,
    tile: int = 16,
    budget: int = 1 << 22,
    segment: int = 128,
) -> tuple[Tensor, Tensor]:
    """Composite features over every pixel: ``(sum w f [B, H, W, F], alpha [B, H, W])``."""
    B, N, F = features.shape
    bins = bin_to_tiles(proj, width, height, tile)
    n_tiles = bins.tiles_x * bins.tiles_y
    P = tile * tile
    dtype, device = features.dtype, features.device
    flat_means = proj.means2d.reshape(B * N, 2)
    flat_conics = proj.conics.reshape(B * N, 3)
    flat_feats = features.reshape(B * N, F)
    flat_opac = opacities.expand(B, N).reshape(B * N)

    counts = bins.offsets[1:] - bins.offsets[:-1]  # [B * tiles]
    busy = torch.nonzero(counts).squeeze(1)
    busy = busy[torch.argsort(counts[busy], stable=True)]  # similar sizes share a padded chunk
    local = torch.arange(P, device=device)
    # Pixel centres relative to the tile centre: small coordinates keep the expanded quadratic accurate.
    px = (local % tile).to(dtype) + 0.5 - 0.5 * tile
    py = (local // tile).to(dtype) + 0.5 - 0.5 * tile
    monomials = torch.stack([px * px, py * py, px * py, px, py, torch.ones_like(px)], -1)  # [P, 6]
    chunked = len(busy) > 0 and int(counts.sum()) * P > budget
    # Autograd keeps every segment of a chunk; without it only one segment is alive at a time.
    keeps_graph = torch.is_grad_enabled() and any(
        t.requires_grad for t in (features, opacities, proj.means2d, proj.conics))
    cost = (lambda k: k) if keeps_graph else (lambda k: min(k, segment))  # noqa: E731
    busy_counts = counts[busy].tolist()

    outputs, out_alpha, done_tiles = [], [], []
    for tiles in _chunks(busy, busy_counts, lambda k: P * cost(k), budget):
        k_max = int(counts[tiles[-1]])
        slot = torch.arange(k_max, device=device)
        real = slot[None] < counts[tiles][:, None]  # [T, K]
        gid = bins.gaussian_ids[torch.where(real, bins.offsets[tiles][:, None] + slot, 0)]  # [T, K]
        within = tiles % n_tiles
        centre = (torch.stack([within % bins.tiles_x, within // bins.tiles_x], -1).to(dtype) + 0.5) * tile  # [T, 2]
        coefficients = quadratic_coefficients(flat_means[gid] - centre[:, None], flat_conics[gid], flat_opac[gid])
        # Padding slots get an exponent so large that their alpha is exactly 0.
        coefficients = torch.where(real[..., None], coefficients, _PAD_COEFFICIENTS.to(coefficients))
        args = (coefficients, flat_feats[gid], monomials, segment)
        if chunked and keeps_graph:
            acc, a = checkpoint(composite, *args, use_reentrant=False)  # recompute in backward: bounded memory
        else:
            acc, a = composite(*args)
        outputs.append(acc)
        out_alpha.append(a)
        done_tiles.append(tiles)

    total = B * n_tiles
    acc_tiles = features.new_zeros(total, P, F)
    alpha_tiles = features.new_zeros(total, P)
    if done_tiles:
        index = torch.cat(done_tiles)
        acc_tiles = acc_tiles.index_copy(0, index, torch.cat(outputs))
        alpha_tiles = alpha_tiles.index_copy(0, index, torch.cat(out_alpha))
    acc_img = _tiles_to_image(acc_tiles, B, bins, tile)[:, :height, :width]  # [B, H, W, F]
    alpha_img = _tiles_to_image(alpha_tiles[..., None], B, bins, tile)[:, :height, :width, 0]
    return acc_img, alpha_img


def _chunks(tiles: Tensor, counts: list[int], pairs, budget: int):
    """Split ``tiles`` (sorted by their Gaussian ``counts``) into runs whose padded work fits ``budget``.

    ``pairs(k)`` is the work of one tile padded to k Gaussians; a run costs ``len(run) * pairs(k_max)``.
    A single tile over budget forms a run of its own.
    """
    start = 0
    while start < len(counts):
        end = start + 1
        while end < len(counts) and (end - start + 1) * pairs(counts[end]) <= budget:
            end += 1
        yield tiles[start:end]
        start = end


def _tiles_to_image(tiles: Tensor, B: int, bins: TileBins, tile: int) -> Tensor:
    """``[B * tiles, tile * tile, F]`` -> ``[B, tiles_y * tile, tiles_x * tile, F]``."""
    F = tiles.shape[-1]
    x = tiles.reshape(B, bins.tiles_y, bins.tiles_x, tile, tile, F)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(B, bins.tiles_y * tile, bins.tiles_x * tile, F)


def rasterize_torch(
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
    budget: int | None = None,
    segment: int = 128,
) -> dict[str, Tensor]:
    """Render ``rgb [B, 3, H, W]``, expected depth ``depth [B, H, W]`` and ``alpha [B, H, W]``.

    ``depth`` is gsplat's "ED": ``sum_i w_i z_i / max(alpha, 1e-10)`` (0 where nothing is hit).
    ``budget`` bounds the (pixel, Gaussian) pairs evaluated at once (default 2^22 on the CPU, 2^25
    on a GPU, where fewer, larger launches pay off); ``segment`` is how many Gaussians per tile are
    composited between early-stop checks.
    """
    if budget is None:
        budget = 1 << 25 if means.is_cuda else 1 << 22
    proj = project_gaussians(means, quats, scales, opacities, viewmats, Ks, width, height, near, far, eps2d)
    features = torch.cat([colors, proj.depths[..., None]], -1)  # [B, N, 4]
    acc, alpha = rasterize_tiles(proj, features, opacities, width, height, budget=budget, segment=segment)
    rgb = acc[..., :3] + (1.0 - alpha)[..., None] * background[:, None, None, :]
    depth = acc[..., 3] / alpha.clamp_min(1e-10)
    return {"rgb": rgb.permute(0, 3, 1, 2), "depth": depth, "alpha": alpha}
