"""Seed splits: disjoint ranges, and training code cannot draw a held-out seed."""

import pytest
import torch

from genscene.worlds.dataset import WorldClipDataset, WorldDatasetConfig
from genscene.worlds.seeds import (
    REPORT_START,
    SPLITS,
    HeldOutSeedError,
    check_seeds,
    draw_seeds,
    report_seeds,
    seed_range,
    split_of,
    training_seeds,
)


def test_splits_are_disjoint_and_classify_seeds():
    ranges = sorted(SPLITS.values(), key=lambda r: r.start)
    assert all(a.stop <= b.start for a, b in zip(ranges, ranges[1:]))
    assert split_of(7) == "train" and split_of(SPLITS["val"][3]) == "val" and split_of(SPLITS["test"][0]) == "test"
    assert split_of(SPLITS["test"].stop) is None


def test_training_cannot_draw_held_out_seeds():
    for split in ("val", "test"):
        with pytest.raises(HeldOutSeedError):
            seed_range(split, 5)
        with pytest.raises(HeldOutSeedError):
            draw_seeds(split, 3, torch.Generator().manual_seed(0))
        with pytest.raises(HeldOutSeedError):
            check_seeds([1, 2, SPLITS[split][10]], "training")
        with pytest.raises(HeldOutSeedError):
            WorldClipDataset(WorldDatasetConfig(split=split, num_worlds=2))
    assert training_seeds(3) == [0, 1, 2]
    check_seeds([1, SPLITS["train"].stop + 12_345], "training")  # a seed of no split is the user's own


def test_selection_reads_val_but_never_test():
    assert list(seed_range("val", 2, purpose="selection")) == [SPLITS["val"][0], SPLITS["val"][1]]
    check_seeds([3, SPLITS["val"][7]], "selection")  # scoring on training worlds is allowed (overfit checks)
    with pytest.raises(HeldOutSeedError, match="report"):
        seed_range("test", 2, purpose="selection")
    with pytest.raises(HeldOutSeedError):
        check_seeds([SPLITS["test"][0]], "selection")
    with pytest.raises(ValueError, match="purpose"):
        check_seeds([1], "evaluation")


def test_reports_read_test_from_the_report_offset():
    seeds = report_seeds(3)
    assert list(seeds) == [SPLITS["test"][REPORT_START + i] for i in range(3)]
    check_seeds([SPLITS["test"][0], SPLITS["val"][0], 5], "report")
    assert len(WorldClipDataset(WorldDatasetConfig(split="test", purpose="report", num_worlds=2))) > 0


def test_draws_are_seeded_and_inside_the_split():
    a = draw_seeds("val", 50, torch.Generator().manual_seed(4), "selection")
    b = draw_seeds("val", 50, torch.Generator().manual_seed(4), "selection")
    assert a == b and all(s in SPLITS["val"] for s in a)
    assert a != draw_seeds("val", 50, torch.Generator().manual_seed(5), "selection")
