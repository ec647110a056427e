"""Rectified flow (flow matching) as Wan 2.1 trains it: small units for the loss and the sampler.

Conventions (other code depends on them):

* latents ``x0 [B, C, T', h, w]``; time ``t [B]`` in ``[0, 1]``, ``t = 1`` is pure noise;
* ``x_t = (1 - t) * x0 + t * eps`` and the model predicts the velocity ``v = eps - x0``
  (so ``dx_t/dt = v``; sampling integrates from ``t = 1`` down to ``t = 0``);
* the model sees ``timestep = t * num_train_timesteps`` (``t * 1000``, float ``[B]``).

diffusers' ``FlowMatchEulerDiscreteScheduler`` uses the same convention with ``sigma = t``
(``scale_noise``: ``sigma * eps + (1 - sigma) * x0``; ``step``: ``x + (sigma_next - sigma) * v``;
``timesteps = sigmas * num_train_timesteps``); ``tests/diffusion/test_flow_matching.py`` asserts it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

_EDGE = 1e-6  # training times stay in the open interval (0, 1)


@dataclass
class FlowMatchingConfig:
    """Training-time sampling and schedule of a rectified-flow model."""

    shift: float = 3.0
    """Time shift as SD3/Wan: ``t' = shift * t / (1 + (shift - 1) * t)``; ``> 1`` favours noisy times."""
    timestep_sampling: str = "logit_normal"
    """``"logit_normal"`` (``t = sigmoid(N(logit_mean, logit_std^2))``) or ``"uniform"``, before the shift."""
    logit_mean: float = 0.0
    """Mean of the normal inside the sigmoid (logit-normal sampling only)."""
    logit_std: float = 1.0
    """Standard deviation of the normal inside the sigmoid (logit-normal sampling only)."""
    num_train_timesteps: int = 1000
    """Scale from ``t`` to the model's ``timestep`` input (``timestep = t * num_train_timesteps``)."""

    def __post_init__(self):
        if self.shift <= 0:
            raise ValueError(f"shift must be > 0, got {self.shift}")
        if self.timestep_sampling not in ("logit_normal", "uniform"):
            raise ValueError(f"timestep_sampling must be 'logit_normal' or 'uniform', got {self.timestep_sampling!r}")
        if self.logit_std <= 0 or self.num_train_timesteps <= 0:
            raise ValueError("logit_std and num_train_timesteps must be > 0")


def shift_time(t: Tensor, shift: float) -> Tensor:
    """``shift * t / (1 + (shift - 1) * t)``: monotone map of [0, 1] onto itself (any shape)."""
    return shift * t / (1 + (shift - 1) * t)


def model_timestep(t: Tensor, cfg: FlowMatchingConfig) -> Tensor:
    """The model's ``timestep`` input ``[B]`` (0..1000) for times ``t [B]`` in [0, 1]."""
    return t * cfg.num_train_timesteps


def sample_training_times(batch: int, cfg: FlowMatchingConfig, generator: torch.Generator,
                          device: torch.device | str) -> Tensor:
    """Training times ``[B]`` float32 in (0, 1), after the shift.

    Drawn on ``generator``'s device and then moved, so a seed gives the same times on any ``device``.
    """
    gen_device = generator.device
    if cfg.timestep_sampling == "uniform":
        u = torch.rand(batch, generator=generator, device=gen_device)
    else:
        z = torch.randn(batch, generator=generator, device=gen_device)
        u = torch.sigmoid(cfg.logit_mean + cfg.logit_std * z)
    return shift_time(u, cfg.shift).clamp(_EDGE, 1 - _EDGE).to(device)


def noisy_latents(x0: Tensor, eps: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    """``x_t = (1 - t) x0 + t eps`` and the target velocity ``v = eps - x0``.

    Args: ``x0``, ``eps`` ``[B, C, T', h, w]`` (any ``[B, ...]``); ``t`` ``[B]``.
    Returns: ``(x_t, target_v)``, both shaped and typed as ``x0``.
    """
    tb = t.to(x0.dtype).reshape(-1, *([1] * (x0.ndim - 1)))
    return (1 - tb) * x0 + tb * eps, eps - x0


def flow_matching_loss(pred_v: Tensor, target_v: Tensor, weight_mask: Tensor | None = None) -> Tensor:
    """Scalar float32 MSE between ``pred_v`` and ``target_v`` ``[B, C, T', h, w]``.

    ``weight_mask`` (broadcastable to the latents, e.g. ``[B, 1, T', h, w]``) makes it the
    weighted mean ``sum(w * (pred - target)^2) / sum(w)`` over all elements: a 0/1 mask gives
    the MSE of the kept elements; all-equal weights give the plain mean.
    """
    se = (pred_v.float() - target_v.float()).square()
    if weight_mask is None:
        return se.mean()
    w = weight_mask.float().expand_as(se)
    return (w * se).sum() / w.sum().clamp_min(1e-12)


def guided_velocity(v_cond: Tensor, v_uncond: Tensor, scale: float) -> Tensor:
    """Classifier-free guidance: ``v_uncond + scale * (v_cond - v_uncond)`` (1: cond, 0: uncond)."""
    return v_uncond + scale * (v_cond - v_uncond)


def guided_velocity_multi(v_full: Tensor, v_drop_a: Tensor, v_none: Tensor, scale_a: float,
                          scale_b: float) -> Tensor:
    """Compositional guidance over two condition groups ``a`` and ``b`` (InstructPix2Pix style).

    ``v_full``: both groups given; ``v_drop_a``: only ``b`` (group ``a`` dropped); ``v_none``: neither.
    Returns ``v_none + scale_b * (v_drop_a - v_none) + scale_a * (v_full - v_drop_a)``:
    ``scale_b`` pushes along ``b`` alone, ``scale_a`` along ``a`` given ``b``.
    Both scales 1 give ``v_full``; both 0 give ``v_none``.
    """
    return v_none + scale_b * (v_drop_a - v_none) + scale_a * (v_full - v_drop_a)


def _scheduler(cfg: FlowMatchingConfig, steps: int, device):
    try:
        from diffusers import FlowMatchEulerDiscreteScheduler
    except ImportError as err:
        raise ImportError("flow-matching sampling needs diffusers: pip install diffusers") from err
    sched = FlowMatchEulerDiscreteScheduler(num_train_timesteps=cfg.num_train_timesteps, shift=cfg.shift)
    sched.set_timesteps(steps, device=device)
    sched.set_begin_index(0)  # step through the schedule in order; no timestep look-ups
    return sched


def sample(velocity_fn: Callable[[Tensor, Tensor], Tensor], shape: tuple[int, ...], steps: int,
           generator: torch.Generator, cfg: FlowMatchingConfig, device: torch.device | str,
           dtype: torch.dtype = torch.float32,
           progress: Callable[[int, int], None] | None = None) -> Tensor:
    """Integrate the velocity field from seeded noise (``t = 1``) to data (``t = 0``), Euler steps.

    Args:
        velocity_fn: ``(x_t [B, C, T', h, w] in dtype, timestep [B] float32 in 0..1000) -> v``.
        shape: ``(B, C, T', h, w)``.
        steps: Euler steps of diffusers' ``FlowMatchEulerDiscreteScheduler`` (shifted by ``cfg.shift``).
        generator: seeds the starting noise (drawn on its own device, then moved to ``device``).
        progress: optional ``progress(i, steps)``, called after step ``i`` (1..steps) is done.

    Returns:
        ``x0 [B, C, T', h, w]`` in ``dtype``. The state is integrated in float32 whatever ``dtype``.
    """
    sched = _scheduler(cfg, steps, device)
    x = torch.randn(shape, generator=generator, device=generator.device, dtype=torch.float32).to(device)
    for i, ts in enumerate(sched.timesteps):
        timestep = ts.to(device=device, dtype=torch.float32).expand(shape[0])
        v = velocity_fn(x.to(dtype), timestep)
        x = sched.step(v.float(), ts, x, return_dict=False)[0]
        if progress is not None:
            progress(i + 1, steps)
    return x.to(dtype)
