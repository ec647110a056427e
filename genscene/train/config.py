"""Typed training configs shared by every stage, and plain-dict conversion for saving them."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any


@dataclass
class OptimConfig:
    """AdamW with linear warm-up then cosine decay."""

    lr: float = 2e-4
    """Peak learning rate."""
    weight_decay: float = 0.0
    """Decoupled weight decay."""
    betas: tuple[float, float] = (0.9, 0.99)
    """Adam moment coefficients."""
    warmup_steps: int = 100
    """Linear warm-up length in optimiser steps."""
    min_lr_ratio: float = 0.1
    """Cosine decay ends at ``lr * min_lr_ratio``."""
    grad_clip: float = 1.0
    """Global gradient-norm clip (0 disables)."""


@dataclass
class LoopConfig:
    """The shared training loop."""

    steps: int = 1000
    """Optimiser steps to train (a resumed run continues up to this number)."""
    batch_size: int = 4
    """Samples per device per micro-batch."""
    grad_accum: int = 1
    """Micro-batches accumulated per optimiser step."""
    mixed_precision: str = "bf16"
    """"bf16" on GPU; the loop falls back to "no" on the CPU."""
    ema_decay: float = 0.0
    """EMA decay of the weights (0 disables EMA)."""
    seed: int = 0
    """Seeds the model init and, with the step and rank, every batch."""
    log_every: int = 10
    """Steps between logged loss lines."""
    eval_every: int = 500
    """Steps between held-out evaluations (0: only at the end)."""
    ckpt_every: int = 500
    """Steps between resumable checkpoints (0: only at the end)."""
    compile: str = ""
    """``torch.compile`` backend to train through ("" keeps eager; "inductor" fuses kernels for the small,
    launch-bound models), with dynamic shapes; evaluation, checkpoints and export use the plain module."""


@dataclass
class TrainConfig:
    """Everything one stage's run needs besides the stage-specific model/data configs."""

    stage: str = ""
    """Stage name (vae, geometry, ...)."""
    preset: str = "tiny"
    """Preset the config was built from."""
    loop: LoopConfig = field(default_factory=LoopConfig)
    """The shared loop settings."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    """Optimiser and schedule."""
    model: dict[str, Any] = field(default_factory=dict)
    """Model constructor arguments (the model class saves these as its own config)."""
    data: dict[str, Any] = field(default_factory=dict)
    """Stage-specific data settings (resolution, frames, families ...)."""


def to_dict(cfg: Any) -> Any:
    """Dataclasses -> nested plain dicts/lists (JSON-ready)."""
    if dataclasses.is_dataclass(cfg):
        return {f.name: to_dict(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}
    if isinstance(cfg, (list, tuple)):
        return [to_dict(v) for v in cfg]
    if isinstance(cfg, dict):
        return {k: to_dict(v) for k, v in cfg.items()}
    return cfg


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Build dataclass ``cls`` from a plain dict, recursing into dataclass fields.

    Unknown keys are an error (a typo in a config must not be ignored).
    """
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise KeyError(f"{cls.__name__}: unknown field(s) {sorted(unknown)}")
    kwargs = {}
    for name, value in data.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = from_dict(hint, value)
        elif typing.get_origin(hint) is tuple and isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)
