"""Typed training configs shared by every stage (plain-dict conversion lives in :mod:`genscene.config_io`)."""

from __future__ import annotations

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
    """Steps between evaluations on the validation worlds (0: only at the end)."""
    ckpt_every: int = 500
    """Steps between resumable checkpoints (0: only at the end)."""
    compile: str = ""
    """``torch.compile`` backend to train through ("" keeps eager; "inductor" fuses kernels for the small,
    launch-bound models), with dynamic shapes; evaluation, checkpoints and export use the plain module."""


@dataclass
class TrainConfig:
    """Everything one stage's run needs. Each stage subclasses it to type ``model`` and ``data`` with its
    own config dataclasses (e.g. :class:`~genscene.train.stages.geometry.GeometryTrainConfig`)."""

    stage: str = ""
    """Stage name (vae, geometry, ...)."""
    preset: str = "tiny"
    """Preset the config was built from."""
    loop: LoopConfig = field(default_factory=LoopConfig)
    """The shared loop settings."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    """Optimiser and schedule."""
    model: Any = None
    """Model config (a stage's subclass types it; the model class saves it as its own config)."""
    data: Any = None
    """Stage data settings (a stage's subclass types it: resolution, frames, families ...)."""
