"""Rectified flow: training units, guidance, and the diffusers-driven sampler against exact fields."""

from __future__ import annotations

import pytest
import torch

from genscene.diffusion.flow_matching import (
    FlowMatchingConfig,
    _scheduler,
    flow_matching_loss,
    guided_velocity,
    guided_velocity_multi,
    model_timestep,
    noisy_latents,
    sample,
    sample_training_times,
    shift_time,
)

SHAPE = (2, 3, 2, 4, 5)  # [B, C, T', h, w]


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# (c) forward process -------------------------------------------------------------------------

def test_noisy_latents_hand_values():
    x0 = torch.full(SHAPE, 2.0)
    eps = torch.full(SHAPE, -1.0)
    x_t, v = noisy_latents(x0, eps, torch.tensor([0.0, 1.0]))
    assert torch.equal(x_t[0], x0[0]) and torch.equal(x_t[1], eps[1])  # t=0 data, t=1 noise
    assert torch.equal(v, torch.full(SHAPE, -3.0))  # eps - x0
    x_t, _ = noisy_latents(x0, eps, torch.tensor([0.25, 0.5]))
    assert torch.allclose(x_t[0], torch.full(SHAPE[1:], 1.25)) and torch.allclose(x_t[1], torch.full(SHAPE[1:], 0.5))
    assert noisy_latents(x0.bfloat16(), eps.bfloat16(), torch.tensor([0.5, 0.5]))[0].dtype == torch.bfloat16


def test_target_is_the_single_point_oracle_velocity():
    """For one data point the field is ``(x_t - x0) / t``; on training pairs it equals the target."""
    x0, eps = torch.randn(SHAPE, generator=_gen(1)), torch.randn(SHAPE, generator=_gen(2))
    t = torch.tensor([0.3, 0.9])
    x_t, v = noisy_latents(x0, eps, t)
    assert torch.allclose((x_t - x0) / t.view(-1, 1, 1, 1, 1), v, atol=1e-5)


# loss ----------------------------------------------------------------------------------------

def test_loss_hand_values_and_mask():
    pred, target = torch.zeros(SHAPE), torch.zeros(SHAPE)
    pred[0] = 2.0  # squared error 4 on sample 0, 0 on sample 1
    assert flow_matching_loss(pred, target).item() == pytest.approx(2.0)
    mask = torch.tensor([1.0, 0.0]).view(2, 1, 1, 1, 1)
    assert flow_matching_loss(pred, target, mask).item() == pytest.approx(4.0)
    assert flow_matching_loss(pred, target, 1 - mask).item() == pytest.approx(0.0)
    assert flow_matching_loss(pred, target, torch.full((1,), 3.0)).item() == pytest.approx(2.0)
    frame_w = torch.tensor([1.0, 3.0]).view(1, 1, 2, 1, 1)  # per latent frame, broadcast
    pred[0, :, 1] = 0.0  # sample 0: error 4 on frame 0 (weight 1) only
    # sum(w se) / sum(w) = (4 * 1 * 60) / ((1 + 3) * 2 * 60)
    assert flow_matching_loss(pred, target, frame_w).item() == pytest.approx(0.5)
    out = flow_matching_loss(pred.bfloat16(), target.bfloat16())
    assert out.dtype == torch.float32 and out.ndim == 0


# (d) training times --------------------------------------------------------------------------

def test_shift_hand_values_and_monotone():
    t = torch.tensor([0.0, 0.25, 0.5, 1.0])
    assert torch.allclose(shift_time(t, 3.0), torch.tensor([0.0, 0.5, 0.75, 1.0]))
    assert torch.equal(shift_time(t, 1.0), t)
    grid = torch.linspace(0, 1, 101)
    s = shift_time(grid, 3.0)
    assert (s[1:] > s[:-1]).all() and (s[1:-1] > grid[1:-1]).all()  # monotone, mass toward 1


def test_training_times():
    n = 20000
    uni = sample_training_times(n, FlowMatchingConfig(shift=1.0, timestep_sampling="uniform"), _gen(0), "cpu")
    assert uni.shape == (n,) and uni.dtype == torch.float32
    assert ((uni > 0) & (uni < 1)).all() and abs(uni.mean().item() - 0.5) < 0.01
    ln1 = sample_training_times(n, FlowMatchingConfig(shift=1.0), _gen(0), "cpu")
    assert abs(ln1.mean().item() - 0.5) < 0.01 and abs(ln1.median().item() - 0.5) < 0.01
    ln3 = sample_training_times(n, FlowMatchingConfig(shift=3.0), _gen(0), "cpu")
    assert torch.allclose(ln3, shift_time(ln1, 3.0))  # same draws, shifted after
    assert ln3.median().item() == pytest.approx(0.75, abs=0.01) and ln3.mean() > ln1.mean() + 0.15
    assert torch.equal(ln3, sample_training_times(n, FlowMatchingConfig(shift=3.0), _gen(0), "cpu"))
    assert torch.equal(model_timestep(torch.tensor([0.25, 1.0]), FlowMatchingConfig()), torch.tensor([250.0, 1000.0]))


def test_config_rejects_bad_values():
    for bad in ({"timestep_sampling": "cosine"}, {"shift": 0.0}, {"logit_std": 0.0}):
        with pytest.raises(ValueError):
            FlowMatchingConfig(**bad)


# (e) guidance --------------------------------------------------------------------------------

def test_guidance():
    c, u = torch.tensor([3.0, -1.0]), torch.tensor([1.0, 1.0])
    assert torch.equal(guided_velocity(c, u, 1.0), c) and torch.equal(guided_velocity(c, u, 0.0), u)
    assert torch.equal(guided_velocity(c, u, 5.0), torch.tensor([11.0, -9.0]))
    full, drop_a, none = torch.tensor([4.0]), torch.tensor([2.0]), torch.tensor([1.0])
    assert torch.equal(guided_velocity_multi(full, drop_a, none, 1.0, 1.0), full)
    assert torch.equal(guided_velocity_multi(full, drop_a, none, 0.0, 0.0), none)
    assert torch.equal(guided_velocity_multi(full, drop_a, none, 0.0, 1.0), drop_a)
    # 1 + 3 * (2 - 1) + 2 * (4 - 2) = 8
    assert torch.equal(guided_velocity_multi(full, drop_a, none, 2.0, 3.0), torch.tensor([8.0]))


# (g) diffusers' scheduler uses our convention ------------------------------------------------

def test_scheduler_convention():
    cfg, steps = FlowMatchingConfig(shift=3.0), 12
    sched = _scheduler(cfg, steps, "cpu")
    sig = sched.sigmas
    assert sig.shape == (steps + 1,) and sig[0].item() == pytest.approx(1.0) and sig[-1].item() == 0.0
    assert (sig[1:] < sig[:-1]).all()
    assert torch.allclose(sched.timesteps, sig[:-1] * cfg.num_train_timesteps)  # timestep = t * 1000
    # sigmas are our shift of a linear grid from 1 (diffusers' grid ends at an already-shifted 1/1000)
    assert torch.allclose(sig[:-1], shift_time(torch.linspace(1.0, sched.sigma_min, steps), cfg.shift), atol=1e-6)
    sigma_min0 = shift_time(torch.tensor(1 / cfg.num_train_timesteps), cfg.shift).item()
    assert sched.sigma_min == pytest.approx(sigma_min0, rel=1e-5)

    # forward process: scale_noise(x0, timestep, eps) == our x_t with t = sigma
    fresh = _scheduler(cfg, steps, "cpu")
    fresh._begin_index = None  # look the timesteps up, as in training use
    x0, eps = torch.randn(SHAPE, generator=_gen(1)), torch.randn(SHAPE, generator=_gen(2))
    idx = torch.tensor([2, 7])
    ours, _ = noisy_latents(x0, eps, sig[idx])
    assert torch.allclose(fresh.scale_noise(x0, sched.timesteps[idx], eps), ours, atol=1e-6)

    # Euler step: x + (sigma_next - sigma) * v, in step order
    x = torch.randn(SHAPE, generator=_gen(3))
    for i, ts in enumerate(sched.timesteps):
        v = torch.randn(SHAPE, generator=_gen(10 + i))
        nxt = sched.step(v, ts, x, return_dict=False)[0]
        assert torch.allclose(nxt, x + (sig[i + 1] - sig[i]) * v, atol=1e-6)
        x = nxt


# (a), (b), (f) sampler -----------------------------------------------------------------------

def test_sample_recovers_single_point_with_oracle():
    x0 = torch.randn(SHAPE, generator=_gen(5)) * 2 + 0.5
    seen = []

    def oracle(x_t, timestep):
        seen.append(timestep.clone())
        t = (timestep / 1000).view(-1, 1, 1, 1, 1)
        return (x_t - x0) / t

    out = sample(oracle, SHAPE, 20, _gen(0), FlowMatchingConfig(shift=3.0), "cpu")
    assert (out - x0).abs().max().item() < 1e-4
    assert len(seen) == 20 and seen[0].shape == (2,) and seen[0].dtype == torch.float32
    assert torch.allclose(seen[0], torch.full((2,), 1000.0))
    seen = torch.stack(seen)  # [steps, B]: strictly decreasing, never 0
    assert (seen[1:] < seen[:-1]).all() and seen[-1].min() > 0


def test_sample_gaussian_data_with_exact_field():
    """x0 ~ N(mu, s^2) iid: E[x0|x_t], E[eps|x_t] are linear in x_t with
    V = (1-t)^2 s^2 + t^2, so v(x, t) = (t - (1-t) s^2) / V * (x - (1-t) mu) - mu."""
    mu, s = 1.5, 0.5

    def exact(x_t, timestep):
        t = (timestep / 1000).view(-1, 1, 1, 1, 1)
        var = (1 - t) ** 2 * s**2 + t**2
        return (t - (1 - t) * s**2) / var * (x_t - (1 - t) * mu) - mu

    shape, cfg = (4096, 1, 1, 2, 2), FlowMatchingConfig(shift=3.0)
    coarse = sample(exact, shape, 30, _gen(7), cfg, "cpu")
    out = sample(exact, shape, 100, _gen(7), cfg, "cpu")
    # the mean path (1 - t) mu is linear, so Euler keeps it exactly; the spread carries the
    # O(1/steps) Euler error (std ~0.453 at 30 steps, ~0.486 at 100 for this schedule)
    assert abs(out.mean().item() - mu) < 0.02 and abs(coarse.mean().item() - mu) < 0.02
    assert abs(out.std().item() - s) < 0.03
    assert abs(out.std().item() - s) < 0.5 * abs(coarse.std().item() - s)  # converges with steps
    assert torch.equal(out, sample(exact, shape, 100, _gen(7), cfg, "cpu"))  # seeded


def test_sample_deterministic_shapes_dtype_progress():
    calls = []

    def field(x_t, timestep):
        assert x_t.dtype == torch.bfloat16 and timestep.dtype == torch.float32
        return -x_t * 0.5

    cfg = FlowMatchingConfig()
    a = sample(field, SHAPE, 4, _gen(3), cfg, "cpu", dtype=torch.bfloat16, progress=lambda i, n: calls.append((i, n)))
    b = sample(field, SHAPE, 4, _gen(3), cfg, "cpu", dtype=torch.bfloat16)
    c = sample(field, SHAPE, 4, _gen(4), cfg, "cpu", dtype=torch.bfloat16)
    assert a.shape == SHAPE and a.dtype == torch.bfloat16
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    # zero field: the sample is the seeded starting noise itself
    noise = torch.randn(SHAPE, generator=_gen(3))
    assert torch.equal(sample(lambda x, t: torch.zeros_like(x), SHAPE, 3, _gen(3), cfg, "cpu"), noise)
