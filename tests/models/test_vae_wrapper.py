"""The ``VideoVAE`` wrapper on a tiny randomly initialised ``AutoencoderKLWan`` (no weights needed).

What the wrapper adds on top of diffusers, checked against calling the wrapped model directly:
our frames ``[B, T, 3, H, W]`` in [0, 1] become diffusers' ``[B, 3, T, H, W]`` in [-1, 1] (and back on
decode), the frame count / size checks, the latent shape, and the fp16 save / load round trip.
"""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from torch.testing import assert_close

from genscene.errors import InputError
from genscene.models.vae import VideoVAE, VideoVAEConfig

B, T, H, W = 2, 5, 16, 24  # non-square so that an H/W mix-up changes the latent shape
Z_DIM = 4


@pytest.fixture(scope="module")
def vae() -> VideoVAE:
    pytest.importorskip("diffusers")
    torch.manual_seed(0)
    return VideoVAE.from_config(VideoVAEConfig(base_dim=8, z_dim=Z_DIM)).eval()


@pytest.fixture(scope="module")
def frames() -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(B, T, 3, H, W, generator=g)
    x[0, 0, 0, 0, 0], x[0, 0, 0, 0, 1] = 0.0, 1.0  # the ends of the range
    return x


@pytest.fixture(autouse=True)
def _no_grad(one_thread):
    with torch.no_grad():
        yield


def test_factors_and_config(vae):
    assert (vae.spatial_factor, vae.temporal_factor) == (8, 4)
    assert vae.vae.config.base_dim == 8 and vae.vae.config.z_dim == Z_DIM


def test_encode_permutes_and_scales_to_diffusers_input(vae, frames, monkeypatch):
    """The wrapped model receives exactly ``x[b, c, t] = 2 * frames[b, t, c] - 1``."""
    seen = []
    inner_encode = vae.vae.encode

    def recording_encode(x, *args, **kwargs):
        seen.append(x.clone())
        return inner_encode(x, *args, **kwargs)

    monkeypatch.setattr(vae.vae, "encode", recording_encode)
    latents = vae.encode(frames)
    (x,) = seen
    assert x.shape == (B, 3, T, H, W)
    for b, t, c in [(0, 0, 0), (1, 4, 2), (0, 3, 1)]:
        assert_close(x[b, c, t], 2 * frames[b, t, c] - 1, rtol=0, atol=0)
    assert x[0, 0, 0, 0, 0] == -1.0 and x[0, 0, 0, 0, 1] == 1.0  # 0 -> -1, 1 -> +1
    assert x.min() >= -1 and x.max() <= 1
    assert latents.shape == (B, Z_DIM, 2, H // 8, W // 8)


def test_encode_matches_direct_diffusers_call(vae, frames):
    ours = vae.encode(frames)
    direct = vae.vae.encode(frames.permute(0, 2, 1, 3, 4) * 2 - 1).latent_dist
    assert_close(ours, direct.mode(), rtol=0, atol=0)  # the mean by default
    assert_close(vae.posterior(frames).mean, direct.mean, rtol=0, atol=0)
    # the comparison is sensitive: unscaled [0, 1] input would give other latents
    unscaled = vae.vae.encode(frames.permute(0, 2, 1, 3, 4)).latent_dist.mode()
    assert (ours - unscaled).abs().max() > 1e-3
    # sampling: reproducible with a generator, and not the mean
    s1 = vae.encode(frames, sample=True, generator=torch.Generator().manual_seed(3))
    s2 = vae.encode(frames, sample=True, generator=torch.Generator().manual_seed(3))
    assert_close(s1, s2, rtol=0, atol=0)
    assert s1.shape == ours.shape and not torch.allclose(s1, ours)


def test_decode_matches_direct_diffusers_call(vae):
    z = torch.randn(B, Z_DIM, 2, H // 8, W // 8, generator=torch.Generator().manual_seed(2))
    ours = vae.decode(z)
    raw = vae.vae.decode(z).sample  # [B, 3, T, H, W] in [-1, 1]
    assert raw.shape == (B, 3, T, H, W)
    assert ours.shape == (B, T, 3, H, W)
    assert_close(ours, (raw.permute(0, 2, 1, 3, 4) + 1) / 2, rtol=0, atol=0)
    assert_close(ours[1, 3, 2], (raw[1, 2, 3] + 1) / 2, rtol=0, atol=0)  # frame 3, channel 2
    # diffusers' Wan decoder clamps to [-1, 1], so the frames come back inside [0, 1]
    assert ours.min() >= 0 and ours.max() <= 1 and ours.std() > 1e-3


@pytest.mark.parametrize("t, t_latent", [(1, 1), (5, 2), (9, 3)])
def test_latent_shape(vae, t, t_latent):
    x = torch.rand(1, t, 3, H, W, generator=torch.Generator().manual_seed(t))
    z = vae.encode(x)
    assert z.shape == (1, Z_DIM, t_latent, H // 8, W // 8)  # T' = 1 + (T - 1) / 4
    assert vae.decode(z).shape == (1, t, 3, H, W)


@pytest.mark.parametrize(
    "shape, message",
    [
        ((1, 4, 3, 16, 16), r"T=4 frames; the causal VAE needs T = 1 \+ 4k"),
        ((1, 2, 3, 16, 16), r"T=2 frames; the causal VAE needs T = 1 \+ 4k"),
        ((1, 5, 3, 12, 16), r"12x16 is not a multiple of 8"),
        ((1, 5, 3, 16, 20), r"16x20 is not a multiple of 8"),
        ((1, 5, 4, 16, 16), r"frames must be \[B, T, 3, H, W\], got \(1, 5, 4, 16, 16\)"),
        ((1, 3, 5, 16, 16), r"frames must be \[B, T, 3, H, W\]"),  # diffusers' [B, 3, T, H, W] layout
        ((5, 3, 16, 16), r"frames must be \[B, T, 3, H, W\]"),
    ],
)
def test_bad_frames_raise_before_the_model_runs(vae, shape, message, monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("the wrapped model ran on frames that should have been refused")

    monkeypatch.setattr(vae.vae, "encode", must_not_run)
    x = torch.rand(shape)
    for call in (vae.encode, vae.posterior, vae.forward):
        with pytest.raises(ValueError, match=message):
            call(x)


def test_forward_reconstructs_through_a_sample(vae, frames):
    recon, kl = vae(frames, generator=torch.Generator().manual_seed(4))
    assert recon.shape == frames.shape and kl.shape == (B,)
    assert torch.all(kl >= 0)
    dist = vae.posterior(frames)
    assert_close(kl, dist.kl().reshape(B, -1).mean(-1), rtol=0, atol=0)


def test_fp16_save_and_load_round_trip(vae, frames, tmp_path):
    before = {k: v.clone() for k, v in vae.state_dict().items()}
    vae.save_pretrained(tmp_path / "fp16", dtype=torch.float16)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fp16"]  # written atomically: no leftovers
    files = sorted(p.name for p in (tmp_path / "fp16").iterdir())
    assert "config.json" in files
    (weights,) = [f for f in files if f.endswith(".safetensors")]
    stored = load_file(tmp_path / "fp16" / weights)
    float_keys = [k for k, v in before.items() if v.is_floating_point()]
    assert {f"vae.{k}" for k in stored} == set(before)  # the wrapper's state dict prefixes "vae."
    assert all(stored[k[len("vae."):]].dtype == torch.float16 for k in float_keys)
    # saving cast a copy: the live model is still float32 and unchanged
    after = vae.state_dict()
    assert all(torch.equal(after[k], before[k]) and after[k].dtype == before[k].dtype for k in before)

    loaded = VideoVAE.from_pretrained(tmp_path / "fp16").eval()
    state = loaded.state_dict()
    assert set(state) == set(before)
    for k in float_keys:
        assert state[k].dtype == torch.float32, k  # loaded back as float32 ...
        assert torch.equal(state[k], before[k].half().float()), k  # ... holding the fp16-rounded weights
    assert loaded.vae.config.base_dim == 8 and loaded.vae.config.z_dim == Z_DIM
    z = vae.encode(frames)
    assert_close(loaded.encode(frames), z, rtol=0, atol=2e-3)  # measured 1e-4
    assert_close(loaded.decode(z), vae.decode(z), rtol=0, atol=5e-3)  # measured 9e-4
    assert not torch.equal(loaded.decode(z), vae.decode(z))  # fp16 really did round something

    # without dtype the weights and outputs come back bit for bit
    vae.save_pretrained(tmp_path / "fp32")
    exact = VideoVAE.from_pretrained(tmp_path / "fp32").eval()
    assert all(torch.equal(exact.state_dict()[k], before[k]) for k in before)
    assert_close(exact.decode(z), vae.decode(z), rtol=0, atol=0)


def test_from_pretrained_refuses_a_folder_without_config(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="config.json is missing"):
        VideoVAE.from_pretrained(tmp_path / "empty")
