import math

import pytest
import torch

from genscene.eval.bootstrap import bootstrap_mean_interval


def test_interval_of_a_constant_is_the_constant():
    assert bootstrap_mean_interval(torch.full((7,), 2.5)) == (2.5, 2.5)


def test_interval_matches_the_normal_approximation_and_drops_nans():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(400, generator=g, dtype=torch.float64) + 1.0
    lo, hi = bootstrap_mean_interval(torch.cat([x, torch.tensor([math.nan] * 5, dtype=torch.float64)]))
    half = 1.96 * x.std().item() / math.sqrt(len(x))  # the mean's 95% interval, independently
    assert lo == pytest.approx(x.mean().item() - half, abs=0.02)
    assert hi == pytest.approx(x.mean().item() + half, abs=0.02)
    assert bootstrap_mean_interval(x, seed=3) == bootstrap_mean_interval(x, seed=3)


def test_all_nan_is_an_error():
    with pytest.raises(ValueError, match="no finite values"):
        bootstrap_mean_interval(torch.tensor([math.nan]))
