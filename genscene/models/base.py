"""Models that save their own config: ``config.json`` (class + arguments) beside ``model.safetensors``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from genscene.atomic import atomic_path
from genscene.config_io import ConfigError, from_dict, to_dict
from genscene.errors import InputError

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"


class PretrainedModel(nn.Module):
    """Base of genscene's own models (not diffusers ones, which bring their own).

    A subclass sets ``config_class`` (a dataclass) and takes an instance of it as its only
    constructor argument; ``save_pretrained`` / ``from_pretrained`` round-trip both.
    """

    config_class: ClassVar[type]

    def __init__(self, config: Any):
        super().__init__()
        self.config = config

    def save_pretrained(self, path: str | Path, dtype: torch.dtype | None = None) -> Path:
        """Write ``config.json`` and ``model.safetensors`` (optionally cast, e.g. to fp16) atomically."""
        state = {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).detach().cpu().contiguous()
                 for k, v in self.state_dict().items()}
        with atomic_path(Path(path), directory=True) as tmp:
            save_file(state, tmp / WEIGHTS_NAME)
            meta = {"class": type(self).__name__, "config": to_dict(self.config)}
            (tmp / CONFIG_NAME).write_text(json.dumps(meta, indent=1))
        return Path(path)

    @classmethod
    def from_pretrained(cls, path: str | Path, map_location: str | torch.device = "cpu"):
        """Load a folder written by :meth:`save_pretrained` (safetensors only; never unpickles)."""
        path = Path(path)
        cfg_file, weights = path / CONFIG_NAME, path / WEIGHTS_NAME
        if not cfg_file.is_file() or not weights.is_file():
            raise InputError(path, f"not a {cls.__name__} checkpoint: needs {CONFIG_NAME} and {WEIGHTS_NAME}")
        try:
            meta = json.loads(cfg_file.read_text())
        except json.JSONDecodeError as err:
            raise InputError(cfg_file, f"invalid JSON ({err.msg} at line {err.lineno})") from None
        if meta.get("class") != cls.__name__:
            raise InputError(cfg_file, f"holds a {meta.get('class')!r}, not a {cls.__name__}", field="class")
        try:
            config = from_dict(cls.config_class, meta.get("config", {}))
        except ConfigError as err:
            raise InputError(cfg_file, str(err), field="config") from None
        model = cls(config)
        state = load_file(weights, device=str(map_location))
        own = model.state_dict()
        state = {k: v.to(own[k].dtype) if k in own else v for k, v in state.items()}
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise InputError(weights, f"weights do not fit the config: missing {missing[:3]}, unexpected {unexpected[:3]}")
        return model

