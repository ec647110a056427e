"""A pure-PyTorch triangle rasterizer with a z-buffer (CPU or GPU, no compiled extension).

Method: homogeneous 2D rasterization (Olano & Greer 1997). For a triangle with camera-space
vertices ``X_0, X_1, X_2`` and the pixel ray ``r = K^-1 [u, v, 1]``, the coefficients
``lam = (K [X_0 X_1 X_2])^-1 [u, v, 1]`` are affine in the pixel coordinates; the pixel sees the
triangle iff all ``lam_i >= 0``, the hit's z-depth is ``1 / sum(lam)`` and ``lam / sum(lam)`` are
the perspective-correct barycentrics. Triangles crossing the image plane therefore need no
clipping: the per-pixel test ``z >= near`` clips them exactly.

Speed: triangles are binned into square tiles by their screen bounding boxes, and each
(tile, triangle) pair is evaluated on the tile's pixels in vectorised chunks; the z-buffer is a
``scatter_reduce(amin)`` over keys packing (float32 depth bits, face id), so the nearest face wins
and exact ties go to the lower face id.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from genscene.cameras.cameras import Cameras
from genscene.geometry.projection import world_to_camera


@dataclass
class Fragments:
    """What the rasterizer saw at each pixel of ``B`` cameras.

    Attributes:
        face_ids: winning triangle per pixel ``[B, H, W]`` (long, -1 = empty).
        bary: perspective-correct barycentrics of the hit in that triangle ``[B, H, W, 3]``
            (float64, zeros where empty).
        depth: z-depth of the hit ``[B, H, W]`` (float64, 0 where empty).
    """

    face_ids: Tensor
    bary: Tensor
    depth: Tensor

    @property
    def mask(self) -> Tensor:
        """Covered pixels ``[B, H, W]`` (bool)."""
        return self.face_ids >= 0


def rasterize(
    vertices: Tensor,
    faces: Tensor,
    cameras: Cameras,
    near: float = 1e-3,
    tile: int = 4,
    chunk_px: int = 1 << 22,
) -> Fragments:
    """Rasterize one triangle mesh into every camera of a batch.

    Args:
        vertices: world positions ``[V, 3]``.
        faces: vertex indices ``[F, 3]`` (long). Both windings are drawn.
        cameras: ``[B]`` cameras (or unbatched); the image size is theirs.
        near: hits closer than this z-depth are discarded.
        tile: tile edge in pixels for binning triangles.
        chunk_px: pixel-triangle evaluations per vectorised chunk (memory bound).

    Returns:
        :class:`Fragments` with ``[B, H, W]`` maps (``B = 1`` for unbatched cameras).
    """
    cams = cameras if cameras.batch_shape else cameras.reshape(1)
    cams = cams.reshape(-1)
    outs = [_rasterize_one(vertices, faces, cams[b], near, tile, chunk_px) for b in range(len(cams))]
    return Fragments(*(torch.stack(t) for t in zip(*outs)))


def _triangle_coefficients(x_cam: Tensor, faces: Tensor, K: Tensor) -> tuple[Tensor, Tensor]:
    """Per-face ``A [F, 3, 3]`` with ``lam = A @ [u, v, 1]``, and a validity flag ``[F]``."""
    tri = x_cam[faces]  # [F, 3 vertices, 3 xyz]
    M = K @ tri.transpose(-1, -2)  # columns: homogeneous pixel coordinates of the vertices
    det = torch.linalg.det(M)
    scale = tri.norm(dim=-1).amax(-1).clamp_min(1e-12) ** 3 * K[0, 0].abs() * K[1, 1].abs()
    valid = det.abs() > 1e-12 * scale  # edge-on or degenerate triangles cover no pixel
    eye = torch.eye(3, dtype=M.dtype, device=M.device)
    A = torch.linalg.inv(torch.where(valid[:, None, None], M, eye))
    return A, valid


def _tile_bounds(x_cam: Tensor, faces: Tensor, K: Tensor, near: float, H: int, W: int, tile: int):
    """Inclusive tile index ranges per face ``[F, 4]`` (tx0, tx1, ty0, ty1) and a keep flag ``[F]``."""
    tri = x_cam[faces]  # [F, 3, 3]
    z = tri[..., 2]
    in_front = z > near
    keep = in_front.any(-1)  # a face wholly behind the near plane is never seen
    uv = (tri @ K.T)[..., :2] / z.clamp_min(near).unsqueeze(-1)
    lo = uv.amin(1)
    hi = uv.amax(1)
    n_tx, n_ty = (W + tile - 1) // tile, (H + tile - 1) // tile
    tx0 = torch.floor(lo[:, 0] / tile).clamp(0, n_tx - 1)
    tx1 = torch.floor(hi[:, 0] / tile).clamp(0, n_tx - 1)
    ty0 = torch.floor(lo[:, 1] / tile).clamp(0, n_ty - 1)
    ty1 = torch.floor(hi[:, 1] / tile).clamp(0, n_ty - 1)
    # Faces crossing the near plane project unboundedly: give them every tile.
    crossing = ~in_front.all(-1)
    tx0 = torch.where(crossing, torch.zeros_like(tx0), tx0)
    ty0 = torch.where(crossing, torch.zeros_like(ty0), ty0)
    tx1 = torch.where(crossing, torch.full_like(tx1, n_tx - 1), tx1)
    ty1 = torch.where(crossing, torch.full_like(ty1, n_ty - 1), ty1)
    off_screen = (hi[:, 0] < 0) | (hi[:, 1] < 0) | (lo[:, 0] > W) | (lo[:, 1] > H)
    keep &= crossing | ~off_screen
    bounds = torch.stack([tx0, tx1, ty0, ty1], -1).long()
    return bounds, keep


def _tile_pairs(bounds: Tensor, face_index: Tensor, n_tx: int) -> tuple[Tensor, Tensor]:
    """Expand per-face tile ranges into (tile id, face id) pairs ``[P]`` each."""
    nx = bounds[:, 1] - bounds[:, 0] + 1
    ny = bounds[:, 3] - bounds[:, 2] + 1
    counts = nx * ny
    face_of_pair = torch.repeat_interleave(face_index, counts)
    slot = torch.repeat_interleave(torch.arange(len(counts), device=counts.device), counts)
    first = torch.cumsum(counts, 0) - counts
    k = torch.arange(int(counts.sum()), device=counts.device) - first[slot]
    tx = bounds[slot, 0] + k % nx[slot]
    ty = bounds[slot, 2] + k // nx[slot]
    return ty * n_tx + tx, face_of_pair


def _rasterize_one(vertices: Tensor, faces: Tensor, cam: Cameras, near: float, tile: int,
                   chunk_px: int) -> tuple[Tensor, Tensor, Tensor]:
    H, W = cam.height, cam.width
    device = vertices.device
    K = cam.K.to(device=device, dtype=torch.float64)
    x_cam = world_to_camera(vertices.to(torch.float64), cam.to(device=device, dtype=torch.float64))
    faces = faces.long().to(device)

    if faces.shape[0] == 0:  # nothing to draw
        return (torch.full((H, W), -1, dtype=torch.long, device=device),
                torch.zeros(H, W, 3, dtype=torch.float64, device=device),
                torch.zeros(H, W, dtype=torch.float64, device=device))
    A, valid = _triangle_coefficients(x_cam, faces, K)
    bounds, keep = _tile_bounds(x_cam, faces, K, near, H, W, tile)
    face_index = torch.nonzero(valid & keep).squeeze(-1)
    n_tx = (W + tile - 1) // tile
    tile_ids, pair_faces = _tile_pairs(bounds[face_index], face_index, n_tx)

    # Pixel centres of a tile, relative to the tile's corner: [T*T, 3] homogeneous.
    dy, dx = torch.meshgrid(torch.arange(tile, device=device), torch.arange(tile, device=device),
                            indexing="ij")
    local = torch.stack([dx.flatten(), dy.flatten()], -1)  # [T*T, 2]
    A32 = A.to(torch.float32)
    n_pix = H * W
    empty_key = torch.iinfo(torch.int64).max
    zkey = torch.full((n_pix,), empty_key, dtype=torch.int64, device=device)
    pairs_per_chunk = max(1, chunk_px // (tile * tile))
    for start in range(0, len(tile_ids), pairs_per_chunk):
        t_ids = tile_ids[start:start + pairs_per_chunk]
        f_ids = pair_faces[start:start + pairs_per_chunk]
        px = (t_ids % n_tx)[:, None] * tile + local[None, :, 0]  # [P, T*T]
        py = (t_ids // n_tx)[:, None] * tile + local[None, :, 1]
        u = px.to(torch.float32) + 0.5
        v = py.to(torch.float32) + 0.5
        Af = A32[f_ids]  # [P, 3, 3]
        lam = Af[:, None, :, 0] * u[..., None] + Af[:, None, :, 1] * v[..., None] + Af[:, None, :, 2]
        s = lam.sum(-1)  # [P, T*T]; 1 / z
        tol = 1e-6 * lam.abs().sum(-1)  # pixel centres exactly on a shared edge hit both faces
        inside = (lam >= -tol[..., None]).all(-1) & (s > 0) & (px < W) & (py < H)
        z = 1.0 / s
        inside &= z >= near
        if not inside.any():
            continue
        pix = (py * W + px)[inside]
        # Positive float32 bit patterns sort like the floats: pack (depth, face) into one key.
        zbits = z[inside].view(torch.int32).to(torch.int64)
        keys = (zbits << 32) | f_ids[:, None].expand_as(inside)[inside]
        zkey.scatter_reduce_(0, pix, keys, reduce="amin")

    hit = zkey != empty_key
    face_ids = torch.where(hit, zkey & 0xFFFFFFFF, torch.full_like(zkey, -1))
    # Exact barycentrics and depth of the winners, in float64.
    uv1 = torch.cat([cam.pixel_grid(H, W).to(device=device, dtype=torch.float64).reshape(-1, 2),
                     torch.ones(n_pix, 1, dtype=torch.float64, device=device)], -1)
    lam = (A[face_ids.clamp_min(0)] @ uv1.unsqueeze(-1)).squeeze(-1)  # [H*W, 3]
    s = lam.sum(-1, keepdim=True)
    bary = torch.where(hit[:, None], lam / s, torch.zeros_like(lam))
    depth = torch.where(hit, 1.0 / s.squeeze(-1), torch.zeros_like(s.squeeze(-1)))
    return face_ids.reshape(H, W), bary.reshape(H, W, 3), depth.reshape(H, W)


def interpolate(values: Tensor, faces: Tensor, fragments: Fragments) -> Tensor:
    """Interpolate per-vertex ``values [V, C]`` at every pixel: ``[B, H, W, C]`` (0 where empty)."""
    fid = fragments.face_ids.clamp_min(0)
    if faces.shape[0] == 0:
        return fragments.bary.new_zeros(*fid.shape, values.shape[-1])
    corner = values.to(fragments.bary.dtype)[faces.long().to(fid.device)[fid]]  # [B, H, W, 3, C]
    out = (fragments.bary.unsqueeze(-1) * corner).sum(-2)
    return out * fragments.mask.unsqueeze(-1)
