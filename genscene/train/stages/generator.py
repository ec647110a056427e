"""Stage ``generator``: the camera-controlled latent video generator, flow matching on encoded world clips.

Data: the world clip bank, encoded once into a :class:`~genscene.train.latent_bank.LatentBank` (VAE
latents of each clip and of its 3D-cache render, cameras in units of frame 0's median depth), cached
on disk under ``$GENSCENE_BANK_CACHE`` so a later run starts at once. A step then costs only the model.

Batches follow SpatialCrafter's curriculum (the clips with the smallest camera motion first, the
whole bank after ``curriculum_steps``), drop each condition group with ``cond_dropout`` for
classifier-free guidance, and give the last frame too (two-view mode) with ``last_frame_p``.
Evaluation samples clips of the ``val`` worlds through :func:`genscene.pipelines.generate.generate_video`
(the path ``genscene generate`` runs, geometry-net depth for the cache) and scores them against the renders.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from genscene.config_io import to_dict
from genscene.diffusion.flow_matching import (
    FlowMatchingConfig,
    flow_matching_loss,
    noisy_latents,
    sample_training_times,
)
from genscene.eval.generator_eval import mean_scores, video_scores
from genscene.models.epipolar_attention import token_epipolar_mask
from genscene.models.generator import GeneratorConfig, VideoGenerator, fold_frame_mask, normalize_latents
from genscene.pipelines.generate import (
    GenerateConfig,
    frame_mask,
    generate_video,
    place_image_latents,
    plucker_video,
    relative_unit_cameras,
    unit_depth,
)
from genscene.train.config import LoopConfig, OptimConfig, TrainConfig
from genscene.train.latent_bank import LatentBank
from genscene.train.stages.world_stage import WorldClipStage
from genscene.train.world_data import BANK_CACHE_ENV, WorldDataConfig

PRESET_PATHS = ("gen3c_left", "gen3c_zoom_in", "gen3c_right", "gen3c_zoom_out", "orbit", "random")
"""Camera-path kinds of the training clips: GEN3C's presets, orbits and free random paths (world path ``i``
takes kind ``i``, so a bank of ``n`` paths per world holds the first ``n``)."""


@dataclass
class GeneratorDataConfig(WorldDataConfig):
    """World clips, their encoding, and how batches are drawn from them."""

    vae: str = "vae"
    """Checkpoint (in the weights folders) whose latent space the generator learns."""
    geometry: str = "geometry"
    """Checkpoint whose depth builds the 3D cache of every ``net_depth_every``-th clip and at evaluation."""
    net_depth_every: int = 2
    """Every n-th training clip's cache uses the geometry net's depth (0: ground truth for all)."""
    encode_paths: int = 0
    """Paths per world encoded into the latent bank (0: all ``bank_paths``); world ``w`` keeps paths
    ``w, w+1, ...`` (mod ``bank_paths``), so every path kind is kept across worlds. Encoding costs seconds
    per clip on a CPU."""
    cond_dropout: float = 0.1
    """Probability of dropping each condition group (image + cache; camera) per sample, for guidance."""
    last_frame_p: float = 0.2
    """Probability of also giving the last frame (two-view, in-between mode)."""
    curriculum_steps: int = 2000
    """Steps until batches draw from the whole bank (SpatialCrafter: small camera motions first)."""
    curriculum_start: float = 0.3
    """Fraction of the bank (smallest motions) drawn from at step 0."""
    eval_steps: int = 20
    """Sampler steps at evaluation."""
    eval_guidance: float = 2.0
    """Image/cache guidance scale at evaluation."""


@dataclass
class GeneratorTrainConfig(TrainConfig):
    """A generator run: :class:`GeneratorConfig`, :class:`GeneratorDataConfig` and the flow-matching settings."""

    stage: str = "generator"
    """Stage name."""
    model: GeneratorConfig = field(default_factory=GeneratorConfig)
    """Architecture and condition switches."""
    data: GeneratorDataConfig = field(default_factory=GeneratorDataConfig)
    """Clips, encoding, batches."""
    flow: FlowMatchingConfig = field(default_factory=FlowMatchingConfig)
    """Training-time sampling of the flow-matching time."""


TINY = GeneratorTrainConfig(
    preset="tiny",
    model=GeneratorConfig(),
    data=GeneratorDataConfig(size=128, frames=17, train_pool=8, bank_paths=3, eval_worlds=4, supersample=1,
                             trajectories=PRESET_PATHS),
    loop=LoopConfig(steps=20000, batch_size=4, ema_decay=0.999, eval_every=2000, ckpt_every=500),
    optim=OptimConfig(lr=3e-4, warmup_steps=200, weight_decay=0.01),
)
"""The embedded default, sized for the CPU: 96 clips (8 worlds per family, 3 paths each, no supersampling;
a 17-frame 128-px clip renders in seconds and encodes in seconds on 2 cores)."""
PRESETS: dict[str, GeneratorTrainConfig] = {
    "tiny": TINY,
    "epipolar": dataclasses.replace(TINY, preset="epipolar",
                                    model=dataclasses.replace(TINY.model, use_epipolar=True)),
    "smoke": GeneratorTrainConfig(
        preset="smoke",
        model=GeneratorConfig(num_layers=1, num_attention_heads=2, attention_head_dim=16, ffn_dim=32, text_dim=16,
                              camera_channels=8),
        data=GeneratorDataConfig(size=32, frames=5, train_pool=2, bank_paths=1, eval_worlds=1, vae="",
                                 geometry="", net_depth_every=0, curriculum_steps=2, eval_steps=2,
                                 trajectories=("orbit",)),
        loop=LoopConfig(steps=2, batch_size=2, eval_every=0, ckpt_every=0, log_every=1),
        optim=OptimConfig(lr=1e-3, warmup_steps=1),
    ),
}
"""Named configs. ``epipolar``: ``tiny`` with SpatialCrafter's epipolar attention (the ablation's other arm).
``smoke``: a randomly initialised tiny VAE (``vae=""``) and GT depth, for the CPU test."""


def encoded_clip_indices(clips: int, paths: int, keep: int) -> list[int]:
    """Bank clips (``paths`` consecutive clips per world) whose latents are encoded: ``keep`` paths per
    world, starting at path ``w mod paths`` for world ``w`` (all when ``keep`` is 0 or covers them)."""
    if keep <= 0 or keep >= paths:
        return list(range(clips))
    return [i for i in range(clips) if (i % paths - i // paths) % paths < keep]


def motion_magnitude(w2c: Tensor) -> Tensor:
    """Camera motion of clips ``w2c [N, T, 4, 4]`` (frame 0 at the identity, unit median depth): the
    largest camera-centre distance from frame 0 plus the largest rotation angle (radians) ``[N]``."""
    R, t = w2c[..., :3, :3], w2c[..., :3, 3]
    centres = -(R.transpose(-1, -2) @ t[..., None])[..., 0]
    angle = torch.arccos(((R.diagonal(dim1=-2, dim2=-1).sum(-1) - 1) / 2).clamp(-1, 1))
    return centres.norm(dim=-1).amax(-1) + angle.amax(-1)


class GeneratorStage(WorldClipStage):
    name = "generator"
    presets = PRESETS

    def __init__(self):
        super().__init__()
        self._latents: LatentBank | None = None
        self._order: Tensor | None = None
        self._depth_net: nn.Module | None = None

    # ------------------------------------------------------------ components
    def vae(self, cfg: GeneratorTrainConfig) -> nn.Module:
        """The frozen VAE (the named checkpoint, or a seeded random tiny one for ``vae=""``)."""
        return self.frozen_vae(cfg.data.vae)

    def depth_net(self, cfg: GeneratorTrainConfig) -> nn.Module | None:
        if self._depth_net is None and cfg.data.geometry:
            from genscene.models.geometry import GeometryNet
            from genscene.weights import found_checkpoints

            self._depth_net = GeometryNet.from_pretrained(found_checkpoints()[cfg.data.geometry]).eval()
        return self._depth_net

    def _depth_net_on(self, cfg: GeneratorTrainConfig, device: torch.device) -> nn.Module | None:
        net = self.depth_net(cfg)
        return None if net is None else net.to(device)

    def latent_bank(self, cfg: GeneratorTrainConfig, device: torch.device | None = None) -> LatentBank:
        """Encode the clip bank once, rendering and encoding on ``device`` (default CPU); the bank is kept
        on the CPU, where batches are drawn (cached under ``$GENSCENE_BANK_CACHE`` when set)."""
        if self._latents is None:
            self._latents = self._load_or_encode(cfg, device or torch.device("cpu"))
            order = torch.argsort(motion_magnitude(self._latents.w2c))
            self._order = order
        return self._latents

    def _load_or_encode(self, cfg: GeneratorTrainConfig, device: torch.device) -> LatentBank:
        import hashlib
        import json

        from rich.progress import Progress

        from genscene.train.latent_bank import encode_clips, file_digest, load_latent_bank, save_latent_bank
        from genscene.weights import found_checkpoints

        found = found_checkpoints()
        spec = {"data": to_dict(dataclasses.replace(cfg.data, eval_worlds=0, cond_dropout=0, last_frame_p=0,
                                                    curriculum_steps=0, curriculum_start=0, eval_steps=0,
                                                    eval_guidance=0)),
                "vae": file_digest(found[cfg.data.vae]) if cfg.data.vae else "random",
                "geometry": file_digest(found[cfg.data.geometry]) if cfg.data.geometry else "none"}
        key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
        cache = os.environ.get(BANK_CACHE_ENV)
        path = Path(cache) / f"latents-{key}.safetensors" if cache else None
        if path is not None and path.is_file():
            return load_latent_bank(path)
        clips = self.clips(cfg, device).bank
        keep = encoded_clip_indices(len(clips), cfg.data.bank_paths, cfg.data.encode_paths)
        with Progress() as bar:
            task = bar.add_task("generator: encoding clips", total=len(keep))
            latents = encode_clips(clips, self.vae(cfg).to(device), self._depth_net_on(cfg, device),
                                   cfg.data.net_depth_every,
                                   progress=lambda done, total: bar.update(task, completed=done), indices=keep)
        latents = LatentBank(**{k: v.cpu() for k, v in latents.tensors().items()}, size=latents.size)
        if path is not None:
            save_latent_bank(latents, path, spec)
        return latents

    def prepare(self, cfg: GeneratorTrainConfig, device: torch.device) -> None:
        self.latent_bank(cfg, device)

    def build_model(self, cfg: GeneratorTrainConfig) -> nn.Module:
        """A fresh generator whose latent normalisation is the bank's per-channel mean and std (saved
        into ``cfg.model``, so the exported config carries it)."""
        bank = self.latent_bank(cfg)
        lat = bank.latents.float()
        mean, std = lat.mean((0, 2, 3, 4)), lat.std((0, 2, 3, 4)).clamp_min(1e-3)
        cfg.model = dataclasses.replace(cfg.model, latent_mean=tuple(round(float(v), 5) for v in mean),
                                        latent_std=tuple(round(float(v), 5) for v in std), flow_shift=cfg.flow.shift)
        return VideoGenerator(cfg.model)

    # ------------------------------------------------------------ batches
    def _draw(self, cfg: GeneratorTrainConfig, step: int, g: torch.Generator) -> Tensor:
        """Clip indices ``[B]``: uniform over the smallest-motion fraction the curriculum allows at ``step``."""
        d = cfg.data
        frac = 1.0 if d.curriculum_steps <= 0 else min(1.0, d.curriculum_start + (1 - d.curriculum_start)
                                                        * step / d.curriculum_steps)
        allowed = max(1, math.ceil(frac * len(self._order)))
        return self._order[torch.randint(allowed, (cfg.loop.batch_size,), generator=g)]

    def make_batch(self, cfg: GeneratorTrainConfig, step: int, rank: int, micro: int,
                   device: torch.device) -> dict[str, Tensor]:
        bank = self.latent_bank(cfg)
        g = torch.Generator().manual_seed((cfg.loop.seed * 9_999_991 + step * 7919 + rank * 131 + micro) % (2**63))
        index = self._draw(cfg, step, g)
        b, mc = len(index), cfg.model

        def model_norm(latents: Tensor) -> Tensor:
            return normalize_latents(latents.float(), mc)

        x0 = model_norm(bank.latents[index])
        t_frames, latent_frames = bank.frames, x0.shape[2]
        h, w = x0.shape[-2:]
        drop = torch.rand(b, 2, generator=g) < cfg.data.cond_dropout
        use_last = torch.rand(b, generator=g) < cfg.data.last_frame_p
        batch = {"x0": x0, "eps": torch.randn(x0.shape, generator=g), "t": sample_training_times(b, cfg.flow, g, "cpu"),
                 "drop_image": drop[:, 0], "drop_cache": drop[:, 0], "drop_camera": drop[:, 1]}
        if mc.use_image:
            batch["image_latent"] = place_image_latents(x0[:, :, :1], latent_frames,
                                                        model_norm(bank.last_latents[index]), use_last)
            batch["image_mask"] = fold_frame_mask(frame_mask(b, t_frames, h, w, use_last), mc.temporal_factor)
        if mc.use_cache:
            batch["cache_latent"] = model_norm(bank.cache_latents[index])
            batch["cache_mask"] = fold_frame_mask(bank.cache_visible[index].float(), mc.temporal_factor)
        if mc.use_camera:
            batch["plucker"] = plucker_video(bank.cameras(index))
        if mc.use_epipolar:
            _, ph, pw = mc.patch_size
            batch["epipolar_mask"] = token_epipolar_mask(bank.cameras(index), mc.temporal_factor, h // ph, w // pw,
                                                         mc.epipolar_threshold)
        return {k: v.to(device) for k, v in batch.items()}

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        x_t, target = noisy_latents(batch["x0"], batch["eps"], batch["t"])
        conditions = {k: batch.get(k) for k in ("image_latent", "image_mask", "cache_latent", "cache_mask", "plucker",
                                                "drop_image", "drop_cache", "drop_camera", "epipolar_mask")}
        pred = model(x_t, batch["t"] * 1000, **conditions)
        loss = flow_matching_loss(pred.float(), target)
        return loss, {"loss": loss.item()}

    # ------------------------------------------------------------ evaluation
    def evaluate(self, model: nn.Module, cfg: GeneratorTrainConfig, device: torch.device) -> dict[str, float]:
        """Generated clips of the ``val`` worlds against their renders (:mod:`genscene.eval.generator_eval`)."""
        return evaluate_generator(model, self.vae(cfg).to(device), self._depth_net_on(cfg, device),
                                  self.clips(cfg, device).eval_items(), cfg.data)

    def export(self, model: nn.Module, path: Path) -> None:
        model.save_pretrained(path, dtype=torch.float16)

    def load_pretrained(self, path: Path) -> nn.Module:
        return VideoGenerator.from_pretrained(path)


@torch.no_grad()
def evaluate_generator(model: nn.Module, vae: nn.Module, depth_net: nn.Module | None, items,
                       data: GeneratorDataConfig, seed: int = 0) -> dict[str, float]:
    """Mean :func:`~genscene.eval.generator_eval.video_scores` over world clips ``items`` (GT frame 0 and
    cameras given; the cache from ``depth_net``'s depth of frame 0, or the ground truth when None)."""
    rows = []
    cfg = GenerateConfig(steps=data.eval_steps, guidance=data.eval_guidance, seed=seed)
    for item in items:
        rgb, depth = item["rgb"].float().cpu(), item["depth"].float().cpu()
        cams = relative_unit_cameras(item["cameras"].to("cpu"), depth[0])
        if depth_net is None:
            depth0 = depth[0]
        else:
            net_device = next(depth_net.parameters()).device
            depth0 = depth_net(rgb[:1][None].to(net_device))["depth"][0, 0].float().cpu()
        out = generate_video(model, vae, rgb[0], unit_depth(depth0), cams, cfg)
        rows.append(video_scores(out["frames"], rgb, out["cache_mask"]))
    return mean_scores(rows)


__all__ = ["GeneratorStage", "GeneratorTrainConfig", "GeneratorDataConfig", "PRESETS", "evaluate_generator"]
