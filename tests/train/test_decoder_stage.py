"""The decoder stage: batches of input latents and held-out targets, world normalisation, export -> same outputs."""

import dataclasses
import math

import pytest
import torch

from genscene.errors import InputError
from genscene.models.gaussian_decoder import LatentGaussianDecoder
from genscene.rotations import quat_to_rotmat
from genscene.train.loop import Trainer
from genscene.train.stages import get_stage
from genscene.train.stages.decoder import normalize_world

pytest.importorskip("transformers")  # the Mamba-2 mixer (extra "decoder")


def test_normalize_world_puts_the_first_input_frame_at_the_identity_with_unit_median_depth():
    g = torch.Generator().manual_seed(0)
    w2c = torch.eye(4).repeat(2, 3, 1, 1)
    w2c[..., :3, :3] = quat_to_rotmat(torch.nn.functional.normalize(torch.randn(2, 3, 4, generator=g), dim=-1))
    w2c[..., :3, 3] = torch.randn(2, 3, 3, generator=g)
    depth = 4.0 * torch.ones(2, 3, 8, 8)
    K = torch.tensor([[10.0, 0, 4], [0, 10, 4], [0, 0, 1]]).expand(2, 3, 3, 3)
    cams, scaled = normalize_world(K, w2c, depth)
    assert torch.allclose(cams.w2c[0, 0], torch.eye(4), atol=1e-5) and torch.allclose(scaled, depth / 4)
    # relative poses are kept, translations scaled by 1/4
    rel_before = w2c[1, 2] @ torch.linalg.inv(w2c[0, 1])
    rel_after = cams.w2c[1, 2] @ torch.linalg.inv(cams.w2c[0, 1])
    assert torch.allclose(rel_after[:3, :3], rel_before[:3, :3], atol=1e-5)
    assert torch.allclose(rel_after[:3, 3], rel_before[:3, 3] / 4, atol=1e-5)


def test_smoke_run_batches_losses_and_an_export_with_identical_outputs(tmp_path):
    stage = get_stage("decoder")
    cfg = stage.config("smoke")
    trainer = Trainer(stage, cfg, tmp_path)
    metrics = trainer.fit()
    assert metrics["steps"] == 2 and set(metrics["final"]) == {"psnr", "ssim", "depth_si"}
    assert all(math.isfinite(v) for v in metrics["final"].values())
    assert {"mse", "ssim", "depth", "opacity"} <= set(metrics["history"][-1])
    batch = stage.make_batch(cfg, 0, 0, 0, torch.device("cpu"))
    d, b = cfg.data, cfg.loop.batch_size
    s = d.heldout_targets + d.input_targets
    assert batch["latents"].shape[:3] == (b, d.input_paths, cfg.model.latent_channels)
    assert batch["plucker"].shape[2] == 2 * cfg.model.latent_channels
    assert batch["target_rgb"].shape == (b, s, 3, d.size, d.size) and batch["target_K"].shape == (b, s, 3, 3)
    assert all(torch.equal(x, y) for x, y in zip(batch.values(), stage.make_batch(cfg, 0, 0, 0, "cpu").values()))
    reloaded = LatentGaussianDecoder.from_pretrained(tmp_path / "model").eval()
    assert reloaded.config.image_size == d.size  # inference resizes clips to the side it was trained at
    trained = trainer.plain_model().eval()
    with torch.no_grad():
        assert torch.equal(reloaded(batch["latents"], batch["plucker"]), trained(batch["latents"], batch["plucker"]))


def _distill_config(stage, fraction: float):
    cfg = stage.config("smoke")
    d = cfg.data
    d.vae, d.families, d.generated_pool, d.generated_fraction, d.generated_steps = "vae", ("room",), 1, fraction, 1
    return cfg


def test_self_distillation_samples_are_the_generators_clips_of_a_training_photo(tmp_path):
    stage = get_stage("decoder")
    cfg = _distill_config(stage, 1.0)
    d = cfg.data
    batch = stage.make_batch(cfg, 0, 0, 0, torch.device("cpu"))
    generated, world_bank = stage.generated_bank(cfg), stage.clips(cfg, torch.device("cpu")).bank
    v, p = d.input_paths, len(d.generated_trajectories)
    assert generated["rgb"].shape[:3] == (d.generated_pool, p, d.frames)
    # every trajectory starts at the photo (frame 0 of the world's first GT clip), at the identity, unit median depth
    photo = world_bank.rgb[0, 0]
    assert all(torch.equal(generated["rgb"][0, k, 0], photo) for k in range(p))
    assert torch.allclose(generated["w2c"][0, :, 0], torch.eye(4).expand(p, 4, 4), atol=1e-6)
    first_depth = generated["depth"][0, 0, 0].float()
    assert torch.median(first_depth[first_depth > 0]) == pytest.approx(1.0, abs=2e-2)
    # a sample's inputs are the first trajectories' latents; every target frame is one of the generated frames
    assert torch.equal(batch["latents"][0], generated["latents"][0].float())
    frames = generated["rgb"][0].flatten(0, 1).float() / 255  # [P T, 3, H, W]
    for target in batch["target_rgb"].flatten(0, 1):
        assert (frames - target).abs().flatten(1).amax(1).min() == 0
    assert batch["K"].shape[1] == v
    metrics = Trainer(stage, cfg, tmp_path).fit()
    assert metrics["steps"] == 2 and all(math.isfinite(x) for x in metrics["final"].values())


def test_self_distillation_settings_are_checked():
    stage = get_stage("decoder")
    cfg = _distill_config(stage, 0.5)
    cfg.data.generated_pool = 0
    with pytest.raises(InputError, match="generated_pool"):
        stage.make_batch(cfg, 0, 0, 0, torch.device("cpu"))
    cfg = _distill_config(stage, 1.5)
    with pytest.raises(InputError, match="generated_fraction"):
        cfg.data.check()


def test_distill_preset_is_the_second_phase_of_tiny():
    """``distill`` warm-starts from a ``tiny`` decoder: same model and GT data, only generated clips drawn."""
    stage = get_stage("decoder")
    tiny, distill = stage.config("tiny"), stage.config("distill")
    assert distill.model == tiny.model
    assert distill.data.generated_fraction == 1.0 and distill.data.generated_pool > 0
    assert dataclasses.replace(distill.data, generated_pool=0, generated_fraction=0.0) == tiny.data
    distill.data.check()
