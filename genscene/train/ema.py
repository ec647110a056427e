"""Exponential moving average of model weights."""

from __future__ import annotations

import torch
from torch import nn

COUNT_KEY = "__num_updates__"


class EMA:
    """Keeps ``shadow = d * shadow + (1 - d) * param`` for every floating parameter.

    ``d = min(decay, (1 + n) / (10 + n))`` after ``n`` updates: the warm-up keeps a short run's
    average from being dominated by the random initial weights.
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.num_updates = 0
        self.shadow = {k: v.detach().clone().float() for k, v in model.state_dict().items()
                       if v.is_floating_point()}

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        weight = 1.0 - self.current_decay()
        state = model.state_dict()
        keys = list(self.shadow)
        # one fused launch for all tensors: per-tensor updates cost a launch each on the GPU
        torch._foreach_lerp_([self.shadow[k] for k in keys], [state[k].detach().float() for k in keys], weight)
        self.num_updates += 1

    def to(self, device: torch.device) -> "EMA":
        self.shadow = {k: v.to(device) for k, v in self.shadow.items()}
        return self

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {**self.shadow, COUNT_KEY: torch.tensor(self.num_updates)}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for k in self.shadow:
            self.shadow[k].copy_(state[k].to(self.shadow[k].device))
        self.num_updates = int(state.get(COUNT_KEY, 0))

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Write the averaged weights into ``model`` (for evaluation and export)."""
        sd = model.state_dict()
        for k, v in self.shadow.items():
            sd[k].copy_(v.to(sd[k].dtype))
