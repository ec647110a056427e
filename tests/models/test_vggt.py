"""VGGT at its published layout, without the real weights.

- ``fixtures/vggt_manifest.json.gz``: every state-dict key and shape of the released VGGT-1B, made by
  instantiating (on the meta device) a transcription of the released module definitions of
  facebookresearch/vggt at their defaults. Our model at its default config must have exactly those
  keys and shapes, the tracking head's excepted.
- ``fixtures/vggt_small_fixture.json.gz``: outputs, in float64, of an independent transcription of the
  released forward pass at a reduced configuration, with the weights of :func:`seeded_state` and
  seeded random images. It is a transcription, not the official package run (which cannot be
  installed here); its limits are those of the reading of the reference.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest
import torch

from genscene.models.vggt import VGGT, VGGTConfig
from genscene.models.vggt.checkpoint import IGNORED_PREFIXES

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _load(name: str) -> dict:
    return json.loads(gzip.decompress((FIXTURES / name).read_bytes()))


def seeded_state(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, torch.Tensor]:
    """The fixture's weights: float64 normals drawn in sorted key order from one generator, scaled by
    kind (tokens and position tables 0.5; matrices 1/sqrt(fan-in); norm weights and layer scales
    1 + 0.1 n; biases 0.1 n)."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name in sorted(shapes):
        shape = tuple(shapes[name])
        x = torch.randn(shape, generator=g, dtype=torch.float64)
        if "token" in name or "pos_embed" in name:
            x = 0.5 * x
        elif len(shape) >= 2:
            x = x / math.sqrt(math.prod(shape[1:]))
        elif name.endswith((".weight", ".gamma")):
            x = 1.0 + 0.1 * x
        else:
            x = 0.1 * x
        out[name] = x
    return out


def small_config(doc: dict) -> VGGTConfig:
    c = doc["config"]
    return VGGTConfig(img_size=c["img_size"], patch_size=c["patch_size"], embed_dim=c["embed_dim"], depth=c["depth"],
                      num_heads=c["num_heads"], dino_depth=c["dino_depth"], dino_heads=c["num_heads"],
                      camera_depth=c["trunk_depth"], camera_heads=c["num_heads"], dpt_features=c["features"],
                      dpt_channels=tuple(c["out_channels"]), dpt_layers=tuple(c["layers"]))


def test_full_config_has_exactly_the_released_keys_and_shapes():
    manifest = _load("vggt_manifest.json.gz")["keys"]
    with torch.device("meta"):
        model = VGGT(VGGTConfig())
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    ignored = {k for k in manifest if k.startswith(IGNORED_PREFIXES)}
    assert ignored and all(k.startswith("track_head.") for k in ignored)
    assert ours == {k: v for k, v in manifest.items() if k not in ignored}
    n = sum(math.prod(s) for s in manifest.values())
    assert 1.25e9 < n < 1.26e9  # "VGGT-1B": 1,256,537,516 parameters with the tracking head


@pytest.fixture(scope="module")
def small():
    doc = _load("vggt_small_fixture.json.gz")
    model = VGGT(small_config(doc)).double().eval()
    state = seeded_state({k: tuple(v.shape) for k, v in model.state_dict().items()}, doc["weight_seed"])
    model.load_state_dict(state, strict=True)
    return doc, model


OUTPUTS = {"pose_enc": lambda o, s: o["pose_enc"][0].reshape(-1),
           "pose_enc_first_pass": lambda o, s: o["pose_enc_list"][0][0].reshape(-1),
           "depth_sub": lambda o, s: o["depth"][0, :, ::s, ::s].reshape(-1),
           "depth_conf_sub": lambda o, s: o["depth_conf"][0, :, ::s, ::s].reshape(-1),
           "points_sub": lambda o, s: o["points"][0, :, ::s, ::s].reshape(-1),
           "points_conf_sub": lambda o, s: o["points_conf"][0, :, ::s, ::s].reshape(-1)}


def _inputs(case: dict, dtype) -> torch.Tensor:
    g = torch.Generator().manual_seed(case["input_seed"])
    return torch.rand(1, case["views"], 3, case["height"], case["width"], generator=g, dtype=torch.float64).to(dtype)


@pytest.mark.parametrize("name", ["nonsquare", "square"])
def test_small_model_reproduces_the_reference_forward(small, name):
    doc, model = small
    case = doc["cases"][name]
    with torch.no_grad():
        out = model(_inputs(case, torch.float64))
    for key, pick in OUTPUTS.items():
        ref = torch.tensor(case[key], dtype=torch.float64)
        assert torch.allclose(pick(out, doc["stride"]), ref, rtol=1e-9, atol=1e-10), key
    for key, full in (("depth_mean", "depth"), ("points_mean", "points"), ("points_conf_mean", "points_conf")):
        assert out[full].mean().item() == pytest.approx(case[key], rel=1e-9)


def test_small_model_in_float32_stays_close(small):
    doc, model = small
    case = doc["cases"]["nonsquare"]
    with torch.no_grad():
        out = model.float()(_inputs(case, torch.float32))
    model.double()
    assert out["depth"].dtype == torch.float32
    for key, pick in OUTPUTS.items():
        ref = torch.tensor(case[key], dtype=torch.float32)
        assert torch.allclose(pick(out, doc["stride"]), ref, rtol=1e-4, atol=1e-4), key


def test_first_frame_is_the_reference_and_the_others_are_exchangeable(small):
    """Frames 1..S-1 share tokens, so permuting them permutes the outputs; frame 0 is special."""
    doc, model = small
    images = _inputs(doc["cases"]["nonsquare"], torch.float64)
    with torch.no_grad():
        out = model(images)
        swapped = model(images[:, [0, 2, 1]])
        rolled = model(images[:, [1, 0, 2]])
    assert torch.allclose(swapped["depth"], out["depth"][:, [0, 2, 1]], atol=1e-10)
    assert torch.allclose(swapped["pose_enc"], out["pose_enc"][:, [0, 2, 1]], atol=1e-10)
    assert not torch.allclose(rolled["depth"], out["depth"][:, [1, 0, 2]], atol=1e-6)


def test_refuses_sizes_off_the_patch_grid(small):
    _, model = small
    with pytest.raises(ValueError, match="multiple of the patch size"):
        model(torch.rand(1, 2, 3, 40, 56, dtype=torch.float64))
