"""The geometry stage's held-out evaluation scores an oracle (the ground truth itself) as perfect, a
constant depth as poor, and a confidence that ranks errors above one that does not."""

import pytest
import torch
from torch import nn

from genscene.eval.geometry_eval import evaluate_geometry, sample_views
from genscene.train.stages.geometry import GeometryStage


class Oracle(nn.Module):
    """Returns the ground truth of one sample, with an optional wrong depth and a chosen confidence."""

    def __init__(self, sample: dict, depth=None, depth_conf=None):
        super().__init__()
        self.sample, self.depth, self.depth_conf = sample, depth, depth_conf

    def forward(self, images):
        s = self.sample
        depth = s["depth"] if self.depth is None else self.depth
        conf = torch.full_like(depth, 2.0) if self.depth_conf is None else self.depth_conf
        return {"pose_enc": s["pose_enc"][None], "depth": depth[None], "depth_conf": conf[None],
                "points": s["points"][None], "points_conf": torch.full_like(depth, 2.0)[None]}


@pytest.fixture(scope="module")
def item_and_sample():
    stage = GeometryStage()
    cfg = stage.config("smoke")
    item = next(iter(stage.clips(cfg, torch.device("cpu")).eval_items()))
    return stage, item, sample_views(item, 3)


def test_the_ground_truth_scores_perfectly(item_and_sample, one_thread):
    stage, item, sample = item_and_sample
    m = evaluate_geometry(Oracle(sample), [item], 3)
    assert m["auc@30"] == pytest.approx(100.0) and m["rra@30"] == 100.0 and m["rta@30"] == 100.0
    assert m["depth_delta1.25"] == 1.0 and m["depth_delta1.25_conf50"] == 1.0
    assert m["chamfer"] < 1e-6


def test_confidence_that_ranks_errors_lifts_the_confident_half(item_and_sample, one_thread):
    stage, item, sample = item_and_sample
    gt, valid = sample["depth"], sample["valid"]
    g = torch.Generator().manual_seed(0)
    wrong = torch.rand(gt.shape, generator=g) < 0.4  # 40% of pixels off by a factor of 2
    depth = torch.where(wrong, 2 * gt, gt)
    honest = torch.where(wrong, 1.5, 3.0)  # lower confidence exactly where the depth is wrong
    flat = evaluate_geometry(Oracle(sample, depth), [item], 3)
    ranked = evaluate_geometry(Oracle(sample, depth, honest), [item], 3)
    share_right = float((~wrong & valid).sum() / valid.sum())
    assert flat["depth_delta1.25"] == pytest.approx(share_right, abs=1e-6)
    assert flat["depth_delta1.25_conf50"] == pytest.approx(share_right, abs=1e-6)  # ties: all pixels kept
    assert ranked["depth_delta1.25_conf50"] == 1.0  # the confident half holds only correct pixels


def test_one_view_reports_depth_and_no_pose(item_and_sample, one_thread):
    stage, item, _ = item_and_sample
    one = sample_views(item, 1)
    m = evaluate_geometry(Oracle(one), [item], 1)
    assert "auc@30" not in m and m["depth_delta1.25"] == 1.0
