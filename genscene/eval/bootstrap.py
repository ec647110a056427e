"""How sure a difference between two models is: a bootstrap interval of a mean over held-out items."""

from __future__ import annotations

import torch
from torch import Tensor


def bootstrap_mean_interval(values: Tensor, level: float = 0.95, samples: int = 10_000,
                            seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values [N]`` (nans dropped; deterministic in ``seed``).

    For a paired comparison pass the per-item differences ``new - old``: an interval that spans 0
    is no evidence that the models differ.
    """
    values = values[~values.isnan()].double()
    if values.numel() == 0:
        raise ValueError("bootstrap_mean_interval: no finite values")
    g = torch.Generator().manual_seed(seed)
    means = values[torch.randint(len(values), (samples, len(values)), generator=g)].mean(1)
    tail = (1 - level) / 2
    return float(means.quantile(tail)), float(means.quantile(1 - tail))


__all__ = ["bootstrap_mean_interval"]
