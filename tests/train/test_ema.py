"""EMA with warm-up: known values after a few updates, and a state that resumes exactly."""

import torch
from torch import nn

from genscene.train.ema import EMA


def _model(value: float) -> nn.Linear:
    m = nn.Linear(2, 1)
    with torch.no_grad():
        m.weight.fill_(value)
        m.bias.fill_(value)
    return m


def test_warm_up_decays_follow_the_formula():
    ema = EMA(_model(0.0), decay=0.999)
    target = _model(1.0)
    ema.update(target)  # d = 1/10: shadow = 0.1 * 0 + 0.9 * 1
    assert torch.allclose(ema.shadow["weight"], torch.full((1, 2), 0.9))
    ema.update(target)  # d = 2/11
    assert torch.allclose(ema.shadow["weight"], torch.full((1, 2), 1 - 0.1 * 2 / 11))
    ema.num_updates = 10**6
    assert ema.current_decay() == 0.999


def test_state_round_trip_keeps_the_count():
    ema = EMA(_model(0.0), decay=0.99)
    for _ in range(3):
        ema.update(_model(2.0))
    other = EMA(_model(5.0), decay=0.99)
    other.load_state_dict(ema.state_dict())
    assert other.num_updates == 3 and torch.equal(other.shadow["bias"], ema.shadow["bias"])
    averaged = _model(-1.0)
    other.copy_to(averaged)
    assert torch.equal(averaged.bias.data, ema.shadow["bias"])
