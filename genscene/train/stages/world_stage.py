"""What the stages trained on world clips share: presets -> configs, the clip source, the warm-up."""

from __future__ import annotations

import copy
from typing import Any

import torch

from genscene.errors import InputError
from genscene.train.config import TrainConfig, from_dict, to_dict
from genscene.train.world_data import WorldClips, WorldDataConfig


class WorldClipStage:
    """Base of a stage whose presets are ``dict(model=, data=WorldDataConfig, loop=, optim=, <extra>=)``.

    Keys named in ``stage_data_keys`` are stage settings of the data (e.g. views per sample); they
    are saved in ``TrainConfig.data`` beside the :class:`WorldDataConfig` fields.
    """

    name: str
    presets: dict[str, dict[str, Any]]
    stage_data_keys: tuple[str, ...] = ()

    def __init__(self):
        self._clips: WorldClips | None = None

    def config(self, preset: str) -> TrainConfig:
        if preset not in self.presets:
            raise InputError("preset", f"{self.name} has no preset {preset!r}; known: {sorted(self.presets)}")
        p = copy.deepcopy(self.presets[preset])  # a run adjusts its config (e.g. fitted steps); presets stay as written
        data = {**to_dict(p["data"]), **{k: to_dict(p[k]) for k in self.stage_data_keys}}
        return TrainConfig(stage=self.name, preset=preset, loop=p["loop"], optim=p["optim"],
                           model=to_dict(p["model"]), data=data)

    def clips(self, cfg: TrainConfig, device: torch.device) -> WorldClips:
        if self._clips is None or self._clips.device != device:
            data = {k: v for k, v in cfg.data.items() if k not in self.stage_data_keys}
            self._clips = WorldClips(from_dict(WorldDataConfig, data), device)
        return self._clips

    def prepare(self, cfg: TrainConfig, device: torch.device) -> None:
        """Render the clip bank (or compile the training worlds) before the clock starts."""
        self.clips(cfg, device).warm_up()


__all__ = ["WorldClipStage"]
