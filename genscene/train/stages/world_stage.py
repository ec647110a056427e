"""What the stages trained on world clips share: presets -> configs, the clip source, the warm-up."""

from __future__ import annotations

import copy

import torch
from torch import nn

from genscene.errors import InputError
from genscene.train.config import TrainConfig
from genscene.train.world_data import WorldClips


class WorldClipStage:
    """Base of a stage whose configs are ``TrainConfig`` subclasses with a
    :class:`~genscene.train.world_data.WorldDataConfig` (or a subclass of it) as ``data``.

    ``presets`` maps names to complete configs; :meth:`config` hands out a deep copy, so a run that
    adjusts its config (fitted steps, CLI overrides) never changes the preset.
    """

    name: str
    presets: dict[str, TrainConfig]

    def __init__(self):
        self._clips: WorldClips | None = None
        self._vae: nn.Module | None = None

    def config(self, preset: str) -> TrainConfig:
        if preset not in self.presets:
            raise InputError("preset", f"{self.name} has no preset {preset!r}; known: {sorted(self.presets)}")
        return copy.deepcopy(self.presets[preset])

    def clips(self, cfg: TrainConfig, device: torch.device) -> WorldClips:
        if self._clips is None or self._clips.device != device or self._clips.cfg != cfg.data:
            self._clips = WorldClips(cfg.data, device)
        return self._clips

    def frozen_vae(self, name: str, z_dim: int | None = None) -> nn.Module:
        """The frozen VAE of a stage that reads latents, loaded once: checkpoint ``name`` of the weights folders,
        or for ``name == ""`` a seeded random tiny one (``z_dim`` latent channels, else the config's default)."""
        if self._vae is None:
            from genscene.models.vae import VideoVAE, VideoVAEConfig

            if name:
                from genscene.weights import found_checkpoints

                self._vae = VideoVAE.from_pretrained(found_checkpoints()[name])
            else:
                torch.manual_seed(0)
                extra = {} if z_dim is None else {"z_dim": z_dim}
                self._vae = VideoVAE.from_config(VideoVAEConfig(base_dim=8, **extra))
            self._vae.eval().requires_grad_(False)
        return self._vae

    def prepare(self, cfg: TrainConfig, device: torch.device) -> None:
        """Render the clip bank (or compile the training worlds) before the clock starts."""
        self.clips(cfg, device).warm_up()


__all__ = ["WorldClipStage"]
