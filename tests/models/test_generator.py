"""VideoGenerator, tiny: shapes, size budget, Wan I2V's mask layout, the camera branch (a no-op when
fresh, dropped per sample), per-sample condition dropout, config switches, save/load, latent
normalisation and gradient flow."""

import pytest
import torch

pytest.importorskip("diffusers")

from genscene.models.generator import GeneratorConfig, VideoGenerator, fold_camera_frames, fold_frame_mask

TINY = {"num_layers": 1, "num_attention_heads": 2, "attention_head_dim": 16, "ffn_dim": 32, "text_dim": 16,
        "camera_channels": 8, "null_context_tokens": 2}
B, C, TL, h, w = 2, 16, 2, 4, 6  # latents [2, 16, 2, 4, 6]
T, H, W = 5, 32, 48  # plucker [2, 6, 5, 32, 48]


def _model(**overrides) -> VideoGenerator:
    torch.manual_seed(0)
    return VideoGenerator(GeneratorConfig(**{**TINY, **overrides})).eval()


def _inputs(seed: int = 1) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    frame_mask = torch.zeros(B, T, h, w)
    frame_mask[:, 0] = 1
    cache_frames = (torch.rand(B, T, h, w, generator=g) > 0.3).float()
    image_latent = torch.zeros(B, C, TL, h, w)
    image_latent[:, :, 0] = torch.randn(B, C, h, w, generator=g)
    return {
        "noisy": torch.randn(B, C, TL, h, w, generator=g),
        "timestep": torch.tensor([100.0, 750.0]),
        "image_latent": image_latent,
        "image_mask": fold_frame_mask(frame_mask),
        "cache_latent": torch.randn(B, C, TL, h, w, generator=g),
        "cache_mask": fold_frame_mask(cache_frames),
        "plucker": torch.randn(B, 6, T, H, W, generator=g),
    }


def _perturb_camera(model: VideoGenerator) -> None:
    with torch.no_grad():
        last = model.camera_encoder.proj_out
        last.weight.copy_(torch.randn(last.weight.shape, generator=torch.Generator().manual_seed(5)) * 0.1)


def test_output_shape(one_thread):
    model = _model()
    with torch.no_grad():
        v = model(**_inputs())
    assert v.shape == (B, C, TL, h, w) and torch.isfinite(v).all()
    assert model.transformer.config.in_channels == C + 2 * (C + 4)
    with pytest.raises(ValueError, match="plucker must be"):
        model(**{**_inputs(), "plucker": torch.randn(B, 6, T, H, W + 8)})


def test_default_config_fits_the_parameter_budget():
    model = VideoGenerator(GeneratorConfig())
    n = sum(p.numel() for p in model.parameters())
    assert 2_000_000 < n <= 8_000_000


def _wan_i2v_mask(batch: int, num_frames: int, lh: int, lw: int, last_image: bool, tf: int = 4) -> torch.Tensor:
    """Literal transcription of diffusers' ``WanImageToVideoPipeline.prepare_latents`` mask lines."""
    mask_lat_size = torch.ones(batch, 1, num_frames, lh, lw)
    if not last_image:
        mask_lat_size[:, :, list(range(1, num_frames))] = 0
    else:
        mask_lat_size[:, :, list(range(1, num_frames - 1))] = 0
    first_frame_mask = mask_lat_size[:, :, 0:1]
    first_frame_mask = torch.repeat_interleave(first_frame_mask, dim=2, repeats=tf)
    mask_lat_size = torch.concat([first_frame_mask, mask_lat_size[:, :, 1:, :]], dim=2)
    mask_lat_size = mask_lat_size.view(batch, -1, tf, lh, lw)
    mask_lat_size = mask_lat_size.transpose(1, 2)
    return mask_lat_size


@pytest.mark.parametrize("last_image", [False, True])
def test_fold_frame_mask_matches_wan_i2v(last_image):
    frames = 9
    mask = torch.zeros(2, frames, 3, 5)
    mask[:, 0] = 1
    if last_image:
        mask[:, -1] = 1
    ours = fold_frame_mask(mask)
    assert ours.shape == (2, 4, 3, 3, 5)
    assert torch.equal(ours, _wan_i2v_mask(2, frames, 3, 5, last_image))
    # arbitrary masks follow the same layout: channel k of latent frame j is frame 4(j-1)+k+1
    rand = torch.rand(1, frames, 2, 2)
    folded = fold_frame_mask(rand)
    assert torch.equal(folded[0, :, 0], rand[0, 0:1].expand(4, -1, -1))
    assert torch.equal(folded[0, 2, 1], rand[0, 3]) and torch.equal(folded[0, 3, 2], rand[0, 8])


def test_fold_camera_frames_matches_wan_fun():
    video = torch.randn(1, 6, 9, 16, 8)
    # transcription of VideoX-Fun's camera-control fold
    lat = torch.concat([torch.repeat_interleave(video[:, :, 0:1], repeats=4, dim=2), video[:, :, 1:]], dim=2).transpose(1, 2)
    b, f, c, hh, ww = lat.shape
    lat = lat.contiguous().view(b, f // 4, 4, c, hh, ww).transpose(2, 3)
    lat = lat.contiguous().view(b, f // 4, c * 4, hh, ww).transpose(1, 2)
    assert torch.equal(fold_camera_frames(video), lat)


def test_fresh_camera_branch_is_a_no_op_until_trained(one_thread):
    model = _model()
    inputs = _inputs()
    with torch.no_grad():
        with_cam = model(**inputs)
        without = model(**{**inputs, "plucker": None})
        assert torch.equal(with_cam, without)
        _perturb_camera(model)
        assert not torch.allclose(model(**inputs), without, atol=1e-4)


def test_dropping_the_camera_for_one_sample(one_thread):
    model = _model()
    _perturb_camera(model)
    inputs = _inputs()
    with torch.no_grad():
        dropped = model(**inputs, drop_camera=torch.tensor([True, False]))
        with_cam = model(**inputs)
        without = model(**{**inputs, "plucker": None})
    assert torch.equal(dropped[0], without[0])
    assert torch.equal(dropped[1], with_cam[1])
    assert not torch.allclose(with_cam[0], without[0], atol=1e-4)


@pytest.mark.parametrize("name", ["image", "cache"])
def test_dropping_a_concatenated_condition_zeroes_it_for_that_sample(name, one_thread):
    model = _model()
    inputs = _inputs()
    zeroed = dict(inputs)
    for key in (f"{name}_latent", f"{name}_mask"):
        zeroed[key] = inputs[key].clone()
        zeroed[key][1] = 0
    with torch.no_grad():
        dropped = model(**inputs, **{f"drop_{name}": torch.tensor([False, True])})
        reference = model(**zeroed)
        full = model(**inputs)
        absent = model(**{**inputs, f"{name}_latent": None, f"{name}_mask": None})
    assert torch.equal(dropped, reference)
    assert torch.equal(dropped[0], full[0]) and not torch.allclose(dropped[1], full[1], atol=1e-4)
    assert torch.equal(absent[1], dropped[1])  # an enabled condition given as None counts as dropped


def test_switches_remove_channels_and_refuse_their_inputs(one_thread):
    inputs = _inputs()
    full = _model().transformer.config.in_channels
    no_image = _model(use_image=False)
    assert no_image.transformer.config.in_channels == full - (C + 4)
    no_all = _model(use_image=False, use_cache=False, use_camera=False)
    assert no_all.transformer.config.in_channels == C and no_all.camera_encoder is None
    with torch.no_grad():
        v = no_all(inputs["noisy"], inputs["timestep"])
        assert v.shape == (B, C, TL, h, w)
        no_image(**{**inputs, "image_latent": None, "image_mask": None})
    with pytest.raises(ValueError, match="use_image"):
        no_image(**inputs)
    with pytest.raises(ValueError, match="use_image"):
        no_image(**{**inputs, "image_latent": None, "image_mask": None}, drop_image=torch.tensor([True, False]))
    with pytest.raises(ValueError, match="use_cache"):
        no_all(inputs["noisy"], inputs["timestep"], cache_latent=inputs["cache_latent"], cache_mask=inputs["cache_mask"])
    with pytest.raises(ValueError, match="use_camera"):
        no_all(inputs["noisy"], inputs["timestep"], plucker=inputs["plucker"])
    with pytest.raises(ValueError, match="together"):
        _model()(**{**inputs, "image_mask": None})


def test_save_and_load_round_trip(tmp_path, one_thread):
    stats = {"latent_mean": tuple(0.1 * i for i in range(C)), "latent_std": tuple(1.0 + 0.05 * i for i in range(C))}
    model = _model(**stats)
    _perturb_camera(model)
    inputs = _inputs()
    model.save_pretrained(tmp_path / "fp32")
    model.save_pretrained(tmp_path / "fp16", dtype=torch.float16)
    exact = VideoGenerator.from_pretrained(tmp_path / "fp32").eval()
    half = VideoGenerator.from_pretrained(tmp_path / "fp16").eval()
    assert exact.config == model.config and half.config == model.config
    assert exact.config.latent_mean == stats["latent_mean"] and exact.config.latent_std == stats["latent_std"]
    with torch.no_grad():
        ref = model(**inputs)
        assert torch.equal(exact(**inputs), ref)
        assert torch.allclose(half(**inputs), ref, atol=2e-2, rtol=1e-2)


def test_latent_normalisation_inverts():
    latents = torch.randn(B, C, TL, h, w)
    identity = _model()
    assert torch.equal(identity.normalize_latents(latents), latents)
    model = _model(latent_mean=tuple(float(i) for i in range(C)), latent_std=tuple(0.5 + 0.1 * i for i in range(C)))
    normed = model.normalize_latents(latents * 3 + 2)
    assert not torch.allclose(normed, latents * 3 + 2)
    assert torch.allclose(model.denormalize_latents(normed), latents * 3 + 2, atol=1e-5)
    assert torch.allclose(normed[:, 3], (latents[:, 3] * 3 + 2 - 3.0) / 0.8, atol=1e-5)
    with pytest.raises(ValueError, match="latent_mean"):
        _model(latent_mean=(0.0, 1.0))


def test_gradients_reach_the_camera_encoder_and_null_context(one_thread):
    model = _model().train()
    v = model(**_inputs())
    v.square().mean().backward()
    assert model.null_context.grad is not None and model.null_context.grad.abs().sum() > 0
    last = model.camera_encoder.proj_out
    assert last.weight.grad is not None and last.weight.grad.abs().sum() > 0
    # with a nonzero last layer, the gradient goes on into the first conv
    model.zero_grad()
    _perturb_camera(model)
    model(**_inputs()).square().mean().backward()
    assert model.camera_encoder.proj_in.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("withheld, removed", [(("camera",), "plucker"), (("cache",), "cache_latent"),
                                               (("image", "cache"), "image_latent")])
def test_withholding_a_condition_samples_as_if_it_were_absent(withheld, removed, one_thread):
    from dataclasses import replace

    from genscene.pipelines.generate import GenerateConfig, GenerationInputs, sample_latents

    model = _model()
    _perturb_camera(model)
    raw = _inputs()
    inputs = GenerationInputs(**{k: raw[k] for k in ("image_latent", "image_mask", "cache_latent", "cache_mask",
                                                      "plucker")})
    absent = {"plucker": {"plucker": None}, "cache_latent": {"cache_latent": None, "cache_mask": None},
              "image_latent": {"image_latent": None, "image_mask": None, "cache_latent": None, "cache_mask": None}}
    cfg = GenerateConfig(steps=2, guidance=2.0, camera_guidance=1.5, seed=4)
    shape = (B, C, TL, h, w)
    got = sample_latents(model, inputs, shape, replace(cfg, withhold=withheld))
    want = sample_latents(model, replace(inputs, **absent[removed]), shape, cfg)
    torch.testing.assert_close(got, want)
    assert not torch.allclose(got, sample_latents(model, inputs, shape, cfg))  # withholding changes the sample


def test_unknown_withheld_condition_is_refused():
    from genscene.pipelines.generate import GenerateConfig

    with pytest.raises(ValueError, match="text"):
        GenerateConfig(withhold=("text",))
