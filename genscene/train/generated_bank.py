"""Lyra's self-distillation data: the generator's own clips of training photos, the latent decoder's teacher.

Lyra's second phase trains the Gaussian decoder on latents of the video model's generations, supervised by what
the video model's RGB decoder makes of them (and by depth estimated from those frames), so that the decoder
learns the distribution it meets at inference rather than the one of ground-truth captures. Here each photo
goes through the generation half of ``photo_to_scene``
(:func:`~genscene.pipelines.photo_to_scene.generate_views`: the generator along the coverage trajectories, the
geometry net's depth of every generated frame, commanded cameras), which is exactly what route 2 decodes at
inference. The clips are kept in the decoder bank's layout: teacher frames, their depth and cameras, per world
and trajectory. Generation costs seconds per photo on a CPU, so a bank is built once and cached on disk, keyed
by its photos, its settings and the weights that made it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from genscene.pipelines.photo_to_scene import PhotoToSceneConfig, clip_index, clip_views, generate_views


@dataclass
class GeneratedClips:
    """``W`` photos' generated clips, ``V`` trajectories of ``T`` frames each at ``S x S`` (one world frame per
    photo: frame 0 at the identity, unit = the geometry net's median depth of frame 0)."""

    rgb: Tensor
    """``[W, V, T, 3, S, S]`` uint8: the VAE-decoded generated frames (frame 0 of every clip is the photo)."""
    depth: Tensor
    """``[W, V, T, S, S]`` float16: the geometry net's depth of each frame, in the clips' unit."""
    K: Tensor
    """``[W, V, T, 3, 3]`` float32 intrinsics at ``S x S``."""
    w2c: Tensor
    """``[W, V, T, 4, 4]`` float32 commanded cameras."""
    worlds: list[tuple[str, int]]
    """Where each photo came from (``(family, seed)``)."""

    def tensors(self) -> dict[str, Tensor]:
        return {"rgb": self.rgb, "depth": self.depth, "K": self.K, "w2c": self.w2c}


@torch.no_grad()
def generate_clips(photos: Tensor, worlds: list[tuple[str, int]], generator: nn.Module, vae: nn.Module,
                   geometry: nn.Module, cfg: PhotoToSceneConfig,
                   progress: Callable[[int, int], None] | None = None) -> GeneratedClips:
    """Photos ``[W, 3, S, S]`` in [0, 1] -> their clips along ``cfg.trajectories`` (``cfg.frames`` frames,
    ``cfg.steps`` sampler steps; photo ``i`` draws noise seed ``cfg.seed + i``)."""
    fields: dict[str, list[Tensor]] = {"rgb": [], "depth": [], "K": [], "w2c": []}
    for i, photo in enumerate(photos):
        one = dataclasses.replace(cfg, seed=cfg.seed + i)
        scene, _, spans, _ = generate_views(photo.float(), generator, vae, geometry, one, lambda *a: None)
        frames, cams = clip_views(scene, spans)
        fields["rgb"].append((frames * 255).round().clamp(0, 255).to(torch.uint8))
        fields["depth"].append(scene.depths[clip_index(spans)].half())
        fields["K"].append(cams.K.float())
        fields["w2c"].append(cams.w2c.float())
        if progress is not None:
            progress(i + 1, len(photos))
    return GeneratedClips(**{k: torch.stack(v) for k, v in fields.items()}, worlds=list(worlds))


def cached_generated_clips(cache_dir: str | Path | None, key_parts: dict, make: Callable[[], GeneratedClips]
                           ) -> GeneratedClips:
    """``make()`` through a file cache in ``cache_dir`` (None: no cache;
    :func:`~genscene.train.tensor_cache.cached_tensors`). ``key_parts`` must name everything the clips depend on
    (photos, settings, weight digests); processes asking at once wait for the first."""
    if not cache_dir:
        return make()
    from genscene.train.tensor_cache import cached_tensors

    spec = json.dumps(key_parts, sort_keys=True)

    def make_tensors() -> tuple[dict[str, Tensor], dict[str, str]]:
        clips = make()
        return clips.tensors(), {"worlds": json.dumps(clips.worlds), "key": spec}

    tensors, metadata = cached_tensors(cache_dir, "generated", spec, make_tensors)
    return GeneratedClips(**tensors, worlds=[tuple(w) for w in json.loads(metadata["worlds"])])


__all__ = ["GeneratedClips", "cached_generated_clips", "generate_clips"]
