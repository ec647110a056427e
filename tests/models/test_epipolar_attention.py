"""Epipolar attention: the token mask against the frame-level masks, the processor against diffusers' own,
masking that really blocks, and full attention where the camera is dropped."""

import pytest
import torch

pytest.importorskip("diffusers")

from genscene.cameras.cameras import Cameras
from genscene.cameras.epipolar import epipolar_attention_mask
from genscene.models.epipolar_attention import EpipolarAttnProcessor, token_epipolar_mask
from genscene.models.generator import GeneratorConfig, VideoGenerator

TINY = {"num_layers": 2, "num_attention_heads": 2, "attention_head_dim": 12, "ffn_dim": 32, "text_dim": 16,
        "camera_channels": 8, "null_context_tokens": 2, "use_image": False, "use_cache": False}
T, TL, H, W = 9, 3, 64, 64  # frames 0, 4, 8 are the latent frames' cameras; 8 x 8 latents, 4 x 4 tokens


def _cameras(batch: int = 1) -> Cameras:
    """A camera sliding right and turning slightly, frame by frame (distinct centres: real epipolar lines)."""
    K = torch.tensor([[60.0, 0, 32], [0, 60, 32], [0, 0, 1]], dtype=torch.float64).expand(batch, T, 3, 3)
    angle = torch.linspace(0, 0.3, T, dtype=torch.float64)
    R = torch.zeros(T, 3, 3, dtype=torch.float64)
    R[:, 0, 0], R[:, 0, 2], R[:, 1, 1], R[:, 2, 0], R[:, 2, 2] = angle.cos(), angle.sin(), 1, -angle.sin(), angle.cos()
    t = torch.stack([-torch.linspace(0, 1, T, dtype=torch.float64), torch.zeros(T, dtype=torch.float64),
                     torch.full((T,), 0.1, dtype=torch.float64)], -1)
    return Cameras.from_Rt(K, R.expand(batch, T, 3, 3), t.expand(batch, T, 3), W, H)


def test_token_mask_is_the_frame_mask_of_every_fourth_camera():
    cams = _cameras(2)
    got = token_epipolar_mask(cams, 4, 4, 4, threshold=1.0)
    want = epipolar_attention_mask(cams[1][[0, 4, 8]], 4, 4, 1.0).reshape(TL * 16, TL * 16)
    assert got.shape == (2, 1, TL * 16, TL * 16)
    assert torch.equal(got[1, 0], want)
    assert not want.all() and want[:16, :16].all()  # restrictive across frames, full within frame 0


def _pair(seed: int = 0):
    torch.manual_seed(seed)
    plain = VideoGenerator(GeneratorConfig(**TINY)).eval()
    epi = VideoGenerator(GeneratorConfig(**TINY, use_epipolar=True)).eval()
    epi.load_state_dict(plain.state_dict())
    with torch.no_grad():  # a trained-looking camera branch, so the camera matters
        for m in (plain, epi):
            torch.manual_seed(1)
            m.camera_encoder.proj_out.weight.normal_(0, 0.1)
    return plain, epi


def _call(model, mask=None, drop_camera=None, seed=2):
    g = torch.Generator().manual_seed(seed)
    noisy = torch.randn(1, 16, TL, 8, 8, generator=g)
    plucker = torch.randn(1, 6, T, H, W, generator=g)
    kwargs = {} if mask is None else {"epipolar_mask": mask}
    with torch.no_grad():
        return model(noisy, torch.tensor([500.0]), plucker=plucker, drop_camera=drop_camera, **kwargs)


def test_an_all_true_mask_is_plain_attention(one_thread):
    plain, epi = _pair()
    full = torch.ones(1, 1, TL * 16, TL * 16, dtype=torch.bool)
    torch.testing.assert_close(_call(epi, full), _call(plain), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(_call(epi), _call(plain), atol=1e-5, rtol=1e-5)  # no mask: full attention


def test_the_epipolar_mask_changes_the_output_and_a_dropped_camera_attends_fully(one_thread):
    plain, epi = _pair()
    mask = token_epipolar_mask(_cameras(), 4, 4, 4, threshold=1.0)
    assert not torch.allclose(_call(epi, mask), _call(plain), atol=1e-4)
    dropped = torch.tensor([True])
    torch.testing.assert_close(_call(epi, mask, dropped), _call(plain, drop_camera=dropped), atol=1e-5, rtol=1e-5)


def test_a_blocked_token_cannot_reach_the_query(one_thread):
    _, epi = _pair()
    attn = epi.transformer.blocks[0].attn1
    assert isinstance(attn.processor, EpipolarAttnProcessor)
    n = 6
    mask = torch.ones(1, 1, n, n, dtype=torch.bool)
    mask[0, 0, 0, 1:] = False  # token 0 sees only itself
    x = torch.randn(1, n, attn.to_q.in_features, generator=torch.Generator().manual_seed(3))
    y = x.clone()
    y[0, 1:] += 1.0  # change every other token
    attn.processor.mask = mask
    try:
        with torch.no_grad():
            out_x, out_y = attn(x), attn(y)
    finally:
        attn.processor.mask = None
    torch.testing.assert_close(out_x[0, 0], out_y[0, 0])
    assert not torch.allclose(out_x[0, 1], out_y[0, 1])


def test_a_mask_needs_the_switch():
    torch.manual_seed(0)
    plain = VideoGenerator(GeneratorConfig(**TINY)).eval()
    with pytest.raises(ValueError, match="use_epipolar"):
        _call(plain, torch.ones(1, 1, TL * 16, TL * 16, dtype=torch.bool))
