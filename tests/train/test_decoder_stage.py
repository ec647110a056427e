"""The decoder stage: batches of input latents and held-out targets, world normalisation, export -> same outputs."""

import math

import pytest
import torch

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
