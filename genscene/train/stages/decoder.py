"""Stage ``decoder``: the latent 3DGS decoder on ground-truth world clips (Lyra's first phase) and on the generator's
own clips (Lyra's second phase, self-distillation).

Data: the world clip bank with ``bank_paths`` camera paths per world. Of each world's paths, the first
``input_paths`` are the decoder's input trajectories (VAE latents + VAE-encoded Plücker latents, encoded once
before training), the rest are held out. All paths of a world share one frame: the first input path's frame 0
at the identity, its median depth 1. A step decodes a world's input latents into Gaussians, prunes them by
opacity, renders them (the PyTorch rasterizer on the CPU) at ``heldout_targets`` held-out frames and
``input_targets`` input frames, and scores the renders with :mod:`genscene.train.gaussian_losses`.

Evaluation renders the held-out path of each ``val`` world (rendered on the fly) and reports PSNR, SSIM and
the scale-invariant depth error.

Self-distillation (``generated_pool > 0``, ``generated_fraction > 0``): the photos of the first
``generated_pool`` training worlds per family (frame 0 of each world's first clip) go through the generation half
of ``photo_to_scene`` (:mod:`genscene.train.generated_bank`); a sample drawn from them decodes the input
trajectories' latents and is supervised by the VAE-decoded generated frames and the geometry net's depth of them,
at frames of all the generated trajectories (no ground truth). Lyra's second phase is ``generated_fraction=1``
started from a first-phase decoder (``--init-from``). Missing: a disk cache of the encoded banks (the latents are
encoded at every start; the generated clips themselves are cached under ``GENSCENE_BANK_CACHE``).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn

from genscene.cameras.cameras import Cameras
from genscene.errors import InputError
from genscene.geometry.gaussians import Gaussians
from genscene.geometry.projection import median_depth
from genscene.models.gaussian_decoder import (
    OPACITY,
    GaussianDecoderConfig,
    LatentGaussianDecoder,
    activate,
    encode_plucker,
    prune_by_opacity,
)
from genscene.pipelines.photo_to_scene import DEFAULT_TRAJECTORIES, PhotoToSceneConfig
from genscene.train.clip_bank import ClipBank
from genscene.train.config import LoopConfig, OptimConfig, TrainConfig
from genscene.train.gaussian_losses import (
    GaussianLossConfig,
    gaussian_render_loss,
    load_loss_lpips,
    scale_invariant_depth_loss,
)
from genscene.train.generated_bank import GeneratedClips, cached_generated_clips, generate_clips
from genscene.train.stages.world_stage import WorldClipStage
from genscene.train.world_data import WorldDataConfig


@dataclass
class DecoderDataConfig(WorldDataConfig):
    """World clips split into input trajectories and held-out views."""

    vae: str = "vae"
    """Checkpoint (in the weights folders) whose latents the decoder reads; empty: a seeded random tiny VAE."""
    input_paths: int = 1
    """Paths per world fed to the decoder (Lyra: 6); the world's other ``bank_paths - input_paths`` are held out."""
    heldout_targets: int = 2
    """Held-out frames rendered and supervised per sample."""
    input_targets: int = 1
    """Frames of the input paths rendered and supervised per sample (Lyra supervises at the input cameras)."""
    generated_pool: int = 0
    """Training worlds per family (the first of ``train_pool``) whose photo the generator turns into clips for
    self-distillation; 0: none."""
    generated_fraction: float = 0.0
    """Fraction of samples drawn from the generated clips, the rest from the GT world clips (Lyra's second
    phase: 1)."""
    generator: str = "generator"
    """Checkpoint that generates the self-distillation clips (with ``vae`` and ``geometry``)."""
    geometry: str = "geometry"
    """Checkpoint whose depth of the generated frames is the depth teacher and whose field of view poses them."""
    generated_trajectories: tuple[str, ...] = DEFAULT_TRAJECTORIES
    """Coverage trajectories generated per photo (``photo_to_scene``'s); the first ``input_paths`` are the
    decoder's input, targets are drawn from all of them."""
    generated_steps: int = 10
    """Sampler steps per generated clip (``photo_to_scene``'s default)."""
    generated_guidance: float = 2.0
    """Classifier-free guidance of the generated clips (``photo_to_scene``'s default)."""

    def check(self) -> None:
        """Refuse inconsistent settings (overrides are applied field by field, so this runs at the first batch)."""
        if not 0 < self.input_paths < self.bank_paths:
            raise InputError("data.input_paths", f"must be in [1, bank_paths - 1 = {self.bank_paths - 1}]")
        if not 0.0 <= self.generated_fraction <= 1.0:
            raise InputError("data.generated_fraction", f"must be in [0, 1], got {self.generated_fraction}")
        if self.generated_fraction > 0 and self.generated_pool <= 0:
            raise InputError("data.generated_pool", "must be > 0 when data.generated_fraction > 0")
        if self.generated_pool > 0 and len(self.generated_trajectories) < self.input_paths:
            raise InputError("data.generated_trajectories",
                             f"needs at least input_paths = {self.input_paths} trajectories")
        if self.generated_pool > 0 and not self.vae:
            raise InputError("data.vae", "self-distillation needs the generator's VAE, not a random one")


@dataclass
class DecoderTrainConfig(TrainConfig):
    """A decoder run: :class:`GaussianDecoderConfig`, :class:`DecoderDataConfig` and the loss weights."""

    stage: str = "decoder"
    """Stage name."""
    model: GaussianDecoderConfig = field(default_factory=GaussianDecoderConfig)
    """Architecture."""
    data: DecoderDataConfig = field(default_factory=DecoderDataConfig)
    """Clips and the input / held-out split."""
    loss: GaussianLossConfig = field(default_factory=GaussianLossConfig)
    """Weights of the render losses."""


_TINY_DATA = DecoderDataConfig(size=128, frames=9, train_pool=32, bank_paths=3, input_paths=2, eval_worlds=4,
                               heldout_targets=2, input_targets=2)
PRESETS: dict[str, DecoderTrainConfig] = {
    "tiny": DecoderTrainConfig(
        preset="tiny",
        model=GaussianDecoderConfig(pixels_per_gaussian=2),
        data=_TINY_DATA,
        loop=LoopConfig(steps=20000, batch_size=2, eval_every=500, ckpt_every=250),
        optim=OptimConfig(lr=5e-4, warmup_steps=200, weight_decay=0.01),
    ),
    "distill": DecoderTrainConfig(
        preset="distill",
        model=GaussianDecoderConfig(pixels_per_gaussian=2),
        data=dataclasses.replace(_TINY_DATA, generated_pool=16, generated_fraction=1.0),
        loop=LoopConfig(steps=303, batch_size=2, eval_every=100, ckpt_every=250),
        optim=OptimConfig(lr=2e-4, warmup_steps=20, weight_decay=0.01),
    ),
    "smoke": DecoderTrainConfig(
        preset="smoke",
        model=GaussianDecoderConfig(hidden=32, blocks="tm", heads=2, mamba_head_dim=16, mamba_state=8,
                                    mamba_chunk=16),
        data=DecoderDataConfig(size=32, frames=5, families=("room", "tabletop"), train_pool=1, bank_paths=2,
                               input_paths=1, eval_worlds=1, vae="", trajectories=("orbit", "random")),
        loop=LoopConfig(steps=2, batch_size=2, eval_every=0, ckpt_every=0, log_every=1),
        optim=OptimConfig(lr=1e-3, warmup_steps=1),
    ),
}
"""Named configs. ``tiny``: Lyra's first phase of the embedded ``weights/decoder`` (128 px, the scene's side; 9
frames; 2 input + 1 held-out path per world; 32 worlds per family; one Gaussian per 2x2 pixels; trained on a GPU at
batch 8 by ``scripts/gpu_decoder.sh``). ``distill``: its second phase, run with ``--init-from`` the first: only the
generator's clips of 16 training photos per family, 303 steps (how ``weights/decoder`` was made, 35 min on one
CPU core after the clips are generated). ``smoke``: a randomly initialised tiny VAE
(``vae=""``), 32 px, 5 frames, for the CPU test."""


def normalize_world(K: Tensor, w2c: Tensor, depth: Tensor) -> tuple[Cameras, Tensor]:
    """Cameras ``K [P, T, 3, 3]``, ``w2c [P, T, 4, 4]`` and z-depth ``[P, T, H, W]`` of one world's paths,
    re-expressed with path 0's frame 0 at the identity and its median valid depth 1; returns cameras ``[P, T]``
    and the scaled depth."""
    scale = 1.0 / median_depth(depth[0, 0])
    h, w = depth.shape[-2:]
    cams = Cameras(K, w2c, w, h).transform_world(w2c[0, 0]).scale_world(scale)
    return cams, depth * scale


@torch.no_grad()
def encode_inputs(vae: nn.Module, rgb: Tensor, cameras: Cameras) -> tuple[Tensor, Tensor]:
    """Input paths ``rgb [V, T, 3, H, W]`` in [0, 1] with ``cameras [V, T]`` -> latents ``[V, C, L, h, w]`` and
    Plücker latents ``[V, 2C, L, h, w]``."""
    return vae.encode(rgb), encode_plucker(vae, cameras)


class DecoderStage(WorldClipStage):
    name = "decoder"
    presets = PRESETS

    def __init__(self):
        super().__init__()
        self._bank: dict[str, Tensor] | None = None
        self._generated: dict[str, Tensor] | None = None
        self._cfg: DecoderTrainConfig | None = None
        self._lpips: nn.Module | None = None

    def vae(self, cfg: DecoderTrainConfig) -> nn.Module:
        """The frozen VAE (the named checkpoint, or a seeded random tiny one for ``vae=""``)."""
        return self.frozen_vae(cfg.data.vae, cfg.model.latent_channels)

    def encoded_bank(self, cfg: DecoderTrainConfig, device: torch.device | None = None) -> dict[str, Tensor]:
        """GT worlds with ``bank_paths`` clips, encoded once (kept on the CPU) in :func:`encode_worlds`' layout,
        each world normalised by :func:`normalize_world`."""
        if self._bank is None:
            d = cfg.data
            d.check()
            device = device or torch.device("cpu")
            clips = self.clips(cfg, device).bank
            groups: dict[tuple[str, int], list[int]] = {}
            for i, world in enumerate(clips.worlds):
                groups.setdefault(world, []).append(i)
            worlds = []
            for index in groups.values():
                if len(index) < d.bank_paths:
                    continue  # a world short of free camera paths
                idx = torch.tensor(index[: d.bank_paths])
                cams, depth = normalize_world(clips.K[idx].float(), clips.w2c[idx].float(), clips.depth[idx].float())
                worlds.append((clips.rgb[idx], cams, depth))
            if not worlds:
                raise RuntimeError(f"decoder: no training world has {d.bank_paths} camera paths")
            self._bank = encode_worlds(self.vae(cfg).to(device), worlds, d.input_paths, device)
        return self._bank

    def generated_bank(self, cfg: DecoderTrainConfig, device: torch.device | None = None) -> dict[str, Tensor]:
        """The self-distillation clips of the first ``generated_pool`` training worlds per family, generated once
        (cached under ``GENSCENE_BANK_CACHE``) and encoded in :func:`encode_worlds`' layout."""
        if self._generated is None:
            d = cfg.data
            d.check()
            device = device or torch.device("cpu")
            clips = generated_clips(cfg, self.clips(cfg, device).bank, self.vae(cfg), device)
            worlds = [(clips.rgb[w], Cameras(clips.K[w], clips.w2c[w], d.size, d.size), clips.depth[w])
                      for w in range(len(clips.worlds))]
            self._generated = encode_worlds(self.vae(cfg).to(device), worlds, d.input_paths, device)
        return self._generated

    def prepare(self, cfg: DecoderTrainConfig, device: torch.device) -> None:
        self.encoded_bank(cfg, device)
        if cfg.data.generated_fraction > 0:
            self.generated_bank(cfg, device)

    def build_model(self, cfg: DecoderTrainConfig) -> nn.Module:
        self._cfg = copy.deepcopy(cfg)
        self._lpips = load_loss_lpips(cfg.loss)
        return LatentGaussianDecoder(dataclasses.replace(cfg.model, image_size=cfg.data.size))

    def make_batch(self, cfg: DecoderTrainConfig, step: int, rank: int, micro: int,
                   device: torch.device) -> dict[str, Tensor]:
        """``latents [B, V, C, L, h, w]``, ``plucker [B, V, 2C, L, h, w]``, input cameras ``K [B, V, T, 3, 3]`` /
        ``w2c [B, V, T, 4, 4]``; targets ``target_K [B, S, 3, 3]``, ``target_w2c``, ``target_rgb [B, S, 3, H, W]``,
        ``target_depth [B, S, H, W]`` (S = held-out + input targets). With ``generated_fraction > 0`` each sample
        comes from the generated clips with that probability (those samples come last)."""
        d, b = cfg.data, cfg.loop.batch_size
        g = torch.Generator().manual_seed((cfg.loop.seed * 9_999_991 + step * 7919 + rank * 131 + micro) % (2**63))
        generated = int((torch.rand(b, generator=g) < d.generated_fraction).sum()) if d.generated_fraction > 0 else 0
        parts = [draw_samples(self.encoded_bank(cfg), b - generated, d, g)]
        if generated:
            parts.append(draw_samples(self.generated_bank(cfg), generated, d, g))
        return {k: torch.cat([part[k] for part in parts]).to(device) for k in parts[0]}

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        cfg = self._cfg
        raw = model(batch["latents"], batch["plucker"])  # [B, V, T, H', W', 14]
        rgb, depth = render_decoded(raw, batch, cfg.model)
        return gaussian_render_loss(rgb, depth, batch["target_rgb"].flatten(0, 1), batch["target_depth"].flatten(0, 1),
                                    torch.sigmoid(raw[..., OPACITY]), cfg.loss, self._lpips)

    def evaluate(self, model: nn.Module, cfg: DecoderTrainConfig, device: torch.device) -> dict[str, float]:
        """PSNR, SSIM and scale-invariant depth error of renders at the held-out path of each ``val`` world."""
        from genscene.eval.image_metrics import psnr, ssim

        d, clips, vae = cfg.data, self.clips(cfg, device), self.vae(cfg).to(device)
        rows = []
        purpose, worlds = clips.held_out_worlds()
        for i, (family, seed) in enumerate(worlds):
            paths = [clips.clip(family, seed, path_seed=1000 * i + k, purpose=purpose)
                     for k in range(d.input_paths + 1)]
            rgb = torch.stack([c["rgb"] for c in paths]).float()
            cams, depth = normalize_world(torch.stack([c["cameras"].K for c in paths]).float(),
                                          torch.stack([c["cameras"].w2c for c in paths]).float(),
                                          torch.stack([c["depth"] for c in paths]).float())
            v = d.input_paths
            lat, plk = encode_inputs(vae, rgb[:v].to(device), cams[:v].to(device))
            batch = {"latents": lat[None], "plucker": plk[None], "K": cams.K[None, :v], "w2c": cams.w2c[None, :v],
                     "target_K": cams.K[None, v], "target_w2c": cams.w2c[None, v]}
            raw = model(batch["latents"].float(), batch["plucker"].float())
            out_rgb, out_depth = render_decoded(raw, {k: x.to(device) for k, x in batch.items()}, cfg.model)
            target = rgb[v].to(device)
            rows.append({"psnr": float(psnr(out_rgb.clamp(0, 1), target).mean()),
                         "ssim": float(ssim(out_rgb.clamp(0, 1), target).mean()),
                         "depth_si": float(scale_invariant_depth_loss(out_depth, depth[v].to(device),
                                                                      depth[v].to(device) > 0))})
        return {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}

    def export(self, model: nn.Module, path: Path) -> None:
        model.save_pretrained(path)

    def load_pretrained(self, path: Path) -> nn.Module:
        return LatentGaussianDecoder.from_pretrained(path)


def encode_worlds(vae: nn.Module, worlds: list[tuple[Tensor, Cameras, Tensor]], input_paths: int,
                  device: torch.device) -> dict[str, Tensor]:
    """Worlds, each ``(rgb [P, T, 3, H, W] uint8, cameras [P, T], depth [P, T, H, W])`` in one normalised frame,
    -> the bank (on the CPU): ``latents [W, V, C, L, h, w]`` and ``plucker [W, V, 2C, L, h, w]`` (float16) of the
    first ``V = input_paths`` paths, ``K [W, P, T, 3, 3]``, ``w2c [W, P, T, 4, 4]``, ``rgb [W, P, T, 3, H, W]``
    uint8, ``depth [W, P, T, H, W]`` float16."""
    fields: dict[str, list[Tensor]] = {k: [] for k in ("latents", "plucker", "K", "w2c", "rgb", "depth")}
    for rgb, cams, depth in worlds:
        v = input_paths
        lat, plk = encode_inputs(vae, rgb[:v].float().to(device) / 255, cams[:v].to(device))
        for name, value in (("latents", lat.half()), ("plucker", plk.half()), ("K", cams.K.float()),
                            ("w2c", cams.w2c.float()), ("rgb", rgb), ("depth", depth.half())):
            fields[name].append(value.cpu())
    return {k: torch.stack(v) for k, v in fields.items()}


def draw_samples(bank: dict[str, Tensor], n: int, d: DecoderDataConfig, g: torch.Generator) -> dict[str, Tensor]:
    """``n`` samples of a bank (:func:`encode_worlds`' layout) in :meth:`DecoderStage.make_batch`'s layout: a world,
    its input latents, ``heldout_targets`` frames of the paths after the inputs (of any path when the bank has
    none: the generated trajectories are all inputs) and ``input_targets`` frames of the input paths."""
    worlds = torch.randint(bank["latents"].shape[0], (n,), generator=g)
    p, t, v = bank["K"].shape[1], bank["K"].shape[2], d.input_paths
    first = v if p > v else 0
    paths = torch.cat([first + torch.randint(p - first, (n, d.heldout_targets), generator=g),
                       torch.randint(v, (n, d.input_targets), generator=g)], 1)  # [n, S]
    frames = torch.randint(t, paths.shape, generator=g)
    w = worlds[:, None]
    return {"latents": bank["latents"][worlds].float(), "plucker": bank["plucker"][worlds].float(),
            "K": bank["K"][worlds, :v], "w2c": bank["w2c"][worlds, :v],
            "target_K": bank["K"][w, paths, frames], "target_w2c": bank["w2c"][w, paths, frames],
            "target_rgb": bank["rgb"][w, paths, frames].float() / 255,
            "target_depth": bank["depth"][w, paths, frames].float()}


def generated_clips(cfg: DecoderTrainConfig, bank: ClipBank, vae: nn.Module, device: torch.device) -> GeneratedClips:
    """The generator's clips of the photos of the first ``generated_pool`` training worlds per family (frame 0 of
    each world's first clip in ``bank``), as ``photo_to_scene`` makes them at ``data.size``. The generator and VAE
    run on ``device``, the geometry net on the CPU (where ``image_to_video`` keeps the frames)."""
    import os

    from genscene.models.generator import VideoGenerator
    from genscene.models.geometry import GeometryNet
    from genscene.train.latent_bank import file_digest
    from genscene.train.world_data import BANK_CACHE_ENV
    from genscene.weights import found_checkpoints

    d = cfg.data
    first: dict[tuple[str, int], int] = {}
    for i, world in enumerate(bank.worlds):
        first.setdefault(world, i)
    worlds = list(first)[: d.generated_pool * len(d.families)]
    found = found_checkpoints()
    folders = {name: found[name] for name in (d.generator, d.vae, d.geometry)}
    pipe = PhotoToSceneConfig(trajectories=tuple(d.generated_trajectories), frames=d.frames,
                              steps=d.generated_steps, guidance=d.generated_guidance, size=d.size)

    def make() -> GeneratedClips:
        from rich.progress import Progress

        generator = VideoGenerator.from_pretrained(folders[d.generator]).eval().requires_grad_(False).to(device)
        geometry = GeometryNet.from_pretrained(folders[d.geometry]).eval().requires_grad_(False)
        photos = torch.stack([bank.rgb[first[w], 0].float().cpu() / 255 for w in worlds])
        with Progress(transient=True) as bar:
            task = bar.add_task("generating the self-distillation clips", total=len(worlds))
            return generate_clips(photos, worlds, generator, vae.to(device), geometry, pipe,
                                  progress=lambda done, total: bar.update(task, completed=done))

    key = {"worlds": worlds, "pipeline": repr(pipe), "bank": [d.size, d.frames, d.bank_paths, list(d.trajectories)],
           "weights": {name: file_digest(folder) for name, folder in folders.items()}}
    return cached_generated_clips(os.environ.get(BANK_CACHE_ENV), key, make)


def render_decoded(raw: Tensor, batch: dict[str, Tensor], config: GaussianDecoderConfig) -> tuple[Tensor, Tensor]:
    """Raw decoder channels ``[B, V, T, H', W', 14]`` placed with the input cameras ``batch["K"]`` / ``["w2c"]``
    (``[B, V, T, ...]``), pruned by ``config.keep_fraction`` and rendered at ``batch["target_K"]`` /
    ``["target_w2c"]`` (``[B, S, ...]``): ``rgb [B * S, 3, H, W]`` and z-depth ``[B * S, H, W]``."""
    from genscene.render.gaussians import render_gaussians

    size = raw.shape[3] * config.pixels_per_gaussian
    act = activate(raw, Cameras(batch["K"], batch["w2c"], size, size), config)
    b = raw.shape[0]
    rgb, depth = [], []
    for i in range(b):
        g = Gaussians(**{k: x[i].reshape(-1, *x.shape[5:]) for k, x in act.items()})
        out = render_gaussians(prune_by_opacity(g, config.keep_fraction),
                               Cameras(batch["target_K"][i], batch["target_w2c"][i], size, size), backend="torch")
        rgb.append(out["rgb"])
        depth.append(out["depth"])
    return torch.cat(rgb), torch.cat(depth)


__all__ = ["PRESETS", "DecoderDataConfig", "DecoderStage", "DecoderTrainConfig", "draw_samples", "encode_worlds",
           "generated_clips", "normalize_world", "render_decoded"]
