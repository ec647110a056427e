"""The committed tiny weights load with ``from_pretrained`` and do their job on a held-out world.

Floors sit a little under values measured on the first held-out evaluation clip (VAE first frame
30.3 dB; geometry depth delta<1.25 0.67 against 0.29 for a constant depth; 8-view AUC@30 48.2, median
relative-rotation error 12.7 degrees where the cameras turn by 35.9): a broken file, a loader that
drops weights or a changed convention fails them (random weights give ~12 dB, ~0.3).
"""

import pytest
import torch

from genscene.cameras.formats.vggt import pose_encoding_to_cameras
from genscene.eval.geometry_eval import sample_views
from genscene.eval.geometry_metrics import depth_delta_accuracy
from genscene.eval.image_metrics import psnr
from genscene.eval.pose_metrics import relative_pose_errors, relative_pose_metrics
from genscene.models.geometry import GeometryNet
from genscene.train.stages.geometry import GeometryStage
from genscene.weights import found_checkpoints


@pytest.fixture(scope="module")
def clip():
    stage = GeometryStage()
    cfg = stage.config("tiny")
    # the clip the floors were measured on (test seed 0; a floor check chooses nothing)
    item = next(iter(stage.clips(cfg, torch.device("cpu")).eval_items(split="test", count=1, start=0)))
    return item, sample_views(item, cfg.data.eval_views)


def test_weights_are_found_within_the_size_budget():
    found = found_checkpoints()
    assert {"vae", "geometry"} <= set(found)
    sizes = [f.stat().st_size for name in ("vae", "geometry") for f in found[name].iterdir()]
    assert max(sizes) < 16 * 2**20 and sum(sizes) <= 40 * 10**6


def test_vae_reconstructs_a_held_out_frame(clip):
    pytest.importorskip("diffusers")
    from genscene.models.vae import VideoVAE

    vae = VideoVAE.from_pretrained(found_checkpoints()["vae"]).eval()
    frame = clip[0]["rgb"][None, :1]  # [1, 1, 3, 128, 128]
    with torch.no_grad():
        recon = vae.decode(vae.encode(frame)).clamp(0, 1)
    assert psnr(recon, frame).item() > 28.0


def test_geometry_predicts_held_out_depth(clip):
    net = GeometryNet.from_pretrained(found_checkpoints()["geometry"]).eval()
    s = clip[1]
    with torch.no_grad():
        out = net(s["images"][None])
    assert out["depth"].shape == s["depth"][None].shape and torch.isfinite(out["points"]).all()
    ours = depth_delta_accuracy(out["depth"][0], s["depth"], s["valid"])
    constant = depth_delta_accuracy(torch.ones_like(s["depth"]), s["depth"], s["valid"])
    assert ours > 0.6 and ours > constant + 0.25


def test_geometry_recovers_held_out_cameras(clip):
    net = GeometryNet.from_pretrained(found_checkpoints()["geometry"]).eval()
    s = clip[1]
    with torch.no_grad():
        out = net(s["images"][None])
    h, w = s["depth"].shape[-2:]
    gt = pose_encoding_to_cameras(s["pose_enc"].double(), w, h)
    pred = pose_encoding_to_cameras(out["pose_enc"][0].double(), w, h)
    rot_err, _ = relative_pose_errors(pred, gt)
    turn, _ = relative_pose_errors(gt[[0] * len(gt)], gt)  # predicting "no motion" errs by the true turn
    assert rot_err.median() < 0.5 * turn.median()
    assert relative_pose_metrics(pred, gt)["auc@30"] > 35.0
