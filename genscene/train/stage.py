"""What a training stage provides to the shared loop."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import torch
from torch import Tensor, nn

from genscene.train.config import TrainConfig


class Stage(Protocol):
    """One trainable stage (vae, geometry, ...). The loop owns everything else.

    ``make_batch`` must be a pure function of ``(cfg.loop.seed, step, rank, micro)`` so that a
    resumed run sees exactly the batches an uninterrupted one would have seen.
    """

    name: str

    def config(self, preset: str) -> TrainConfig:
        """The named preset's resolved config (``tiny`` is the embedded default)."""

    def prepare(self, cfg: TrainConfig, device: torch.device) -> None:
        """One-off set-up before timed training (e.g. compiling the training worlds)."""

    def build_model(self, cfg: TrainConfig) -> nn.Module:
        """A freshly initialised model (the loop seeds torch before calling)."""

    def make_batch(self, cfg: TrainConfig, step: int, rank: int, micro: int, device: torch.device) -> dict[str, Tensor]:
        """The micro-batch for this position, on ``device``."""

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, float]]:
        """Scalar loss and named float terms for logging."""

    def evaluate(self, model: nn.Module, cfg: TrainConfig, device: torch.device) -> dict[str, float]:
        """Metrics on the validation worlds (``val`` split: what a run selects on; never drawn by ``make_batch``)."""

    def export(self, model: nn.Module, path: Path) -> None:
        """Save the model with its own config (``save_pretrained``) under ``path``."""

    def load_pretrained(self, path: Path) -> nn.Module:
        """Load what :meth:`export` wrote."""
