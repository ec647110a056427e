"""What the generator eats, computed once: VAE latents of world clips and of their 3D-cache renders.

A generator step on 2 CPU cores costs a fraction of a second; encoding one 17-frame clip with the
VAE costs more than a second. So, as DESIGN §8 asks, each training clip is turned once into
everything the model needs:

- ``latents``: the clip's VAE latents (posterior mean);
- ``cache_latents`` / ``cache_visible``: GEN3C's 3D cache — frame 0 unprojected with a depth map and
  rendered into every camera of the clip — VAE-encoded, and the covered fraction of each latent
  cell. Every ``net_depth_every``-th clip builds its cache from the geometry network's depth of frame
  0 instead of the ground truth, so training sees the errors inference will have;
- ``last_latents``: the last frame encoded alone (two-view, in-between mode);
- cameras relative to frame 0 in units of frame 0's median depth (the unit of trajectory presets).

Conventions: latents ``[N, C, T', h, w]``; ``cache_visible [N, T, h, w]`` in [0, 1] (1 = the cache
covers the whole cell); ``K [N, T, 3, 3]`` pixels at ``size x size``; ``w2c [N, T, 4, 4]``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from genscene.cameras.cameras import Cameras
from genscene.pipelines.generate import covered_fraction, relative_unit_cameras, render_cache, unit_depth
from genscene.train.clip_bank import ClipBank

FIELDS = ("latents", "cache_latents", "cache_visible", "last_latents", "K", "w2c")


@dataclass
class LatentBank:
    """``N`` encoded training clips (see the module docstring for each field's layout)."""

    latents: Tensor
    """``[N, C, T', h, w]`` float16."""
    cache_latents: Tensor
    """``[N, C, T', h, w]`` float16: latents of frame 0 warped into every camera."""
    cache_visible: Tensor
    """``[N, T, h, w]`` float16: covered fraction of each latent cell, per frame."""
    last_latents: Tensor
    """``[N, C, 1, h, w]`` float16: the last frame encoded alone."""
    K: Tensor
    """``[N, T, 3, 3]`` float32 intrinsics at ``size x size``."""
    w2c: Tensor
    """``[N, T, 4, 4]`` float32, frame 0 at the identity, unit = frame 0's median depth."""
    size: int
    """Square frame side in pixels."""

    def __len__(self) -> int:
        return self.latents.shape[0]

    @property
    def frames(self) -> int:
        return self.K.shape[1]

    def cameras(self, index: Tensor) -> Cameras:
        """Cameras ``[B, T]`` of clips ``index [B]``."""
        return Cameras(self.K[index], self.w2c[index], self.size, self.size)

    def tensors(self) -> dict[str, Tensor]:
        return {name: getattr(self, name) for name in FIELDS}


@torch.no_grad()
def encode_clips(bank: ClipBank, vae: nn.Module, depth_net: nn.Module | None, net_depth_every: int = 2,
                 batch: int = 4, progress: Callable[[int, int], None] | None = None,
                 indices: list[int] | None = None) -> LatentBank:
    """Encode the clips ``indices`` (default: all) of ``bank`` (see the module docstring). ``depth_net`` maps
    ``[1, 1, 3, H, W]`` to a dict with ``depth [1, 1, H, W]`` (the geometry net); None: ground-truth depth
    for every cache. The ``net_depth_every``-th choice counts positions in ``indices``."""
    fields: dict[str, list[Tensor]] = {name: [] for name in FIELDS}
    order = list(range(len(bank))) if indices is None else list(indices)
    n = len(order)
    for start in range(0, n, batch):
        rgb, warped, masks = [], [], []
        for pos in range(start, min(n, start + batch)):
            i = order[pos]
            clip = bank.clip(i)
            depth0 = clip["depth"][0]
            cams = relative_unit_cameras(clip["cameras"], depth0)
            if depth_net is not None and net_depth_every and pos % net_depth_every == net_depth_every - 1:
                depth0 = depth_net(clip["rgb"][:1][None])["depth"][0, 0].float()
            warp, mask = render_cache(clip["rgb"][0], unit_depth(depth0), cams)
            rgb.append(clip["rgb"])
            warped.append(warp.to(clip["rgb"].device))  # the cache renders on the CPU
            masks.append(mask)
            fields["K"].append(cams.K.float())
            fields["w2c"].append(cams.w2c.float())
        rgb, warped = torch.stack(rgb), torch.stack(warped)  # [B, T, 3, H, W]
        fields["latents"].append(vae.encode(rgb).half())
        fields["cache_latents"].append(vae.encode(warped).half())
        fields["last_latents"].append(vae.encode(rgb[:, -1:]).half())
        fields["cache_visible"] += [covered_fraction(m, vae.spatial_factor).half() for m in masks]
        if progress is not None:
            progress(min(n, start + batch), n)
    out = {k: torch.cat(v) if k in ("latents", "cache_latents", "last_latents") else torch.stack(v)
           for k, v in fields.items()}
    return LatentBank(**out, size=bank.rgb.shape[-1])


def save_latent_bank(bank: LatentBank, path: Path, meta: dict) -> None:
    from safetensors.torch import save_file

    from genscene.atomic import atomic_path

    with atomic_path(Path(path)) as tmp:
        save_file({k: v.contiguous() for k, v in bank.tensors().items()}, str(tmp),
                  metadata={"size": str(bank.size), "meta": json.dumps(meta, sort_keys=True)})


def load_latent_bank(path: Path) -> LatentBank:
    from safetensors import safe_open
    from safetensors.torch import load_file

    with safe_open(str(path), framework="pt") as f:
        size = int(f.metadata()["size"])
    return LatentBank(**load_file(str(path)), size=size)


def file_digest(folder: Path) -> str:
    """A short digest of a model folder's safetensors files (a changed VAE means a new latent bank)."""
    h = hashlib.sha256()
    for f in sorted(Path(folder).glob("*.safetensors")):
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


__all__ = ["LatentBank", "encode_clips", "load_latent_bank", "save_latent_bank", "file_digest"]
