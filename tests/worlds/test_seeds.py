"""Seed splits: disjoint ranges, and training code cannot draw a held-out seed."""

import pytest
import torch

from genscene.worlds.dataset import WorldClipDataset, WorldDatasetConfig
from genscene.worlds.seeds import (
    SPLITS, HeldOutSeedError, check_seeds, draw_seeds, seed_range, split_of, training_seeds,
)


def test_splits_are_disjoint_and_classify_seeds():
    ranges = sorted(SPLITS.values(), key=lambda r: r.start)
    assert all(a.stop <= b.start for a, b in zip(ranges, ranges[1:]))
    assert split_of(7) == "train" and split_of(SPLITS["val"][3]) == "val" and split_of(SPLITS["test"][0]) == "test"
    assert split_of(SPLITS["test"].stop) is None


def test_training_cannot_draw_held_out_seeds():
    with pytest.raises(HeldOutSeedError):
        seed_range("test", 5)
    with pytest.raises(HeldOutSeedError):
        draw_seeds("test", 3, torch.Generator().manual_seed(0))
    with pytest.raises(HeldOutSeedError):
        check_seeds([1, 2, SPLITS["test"][10]], "training")
    with pytest.raises(HeldOutSeedError):
        WorldClipDataset(WorldDatasetConfig(split="test", num_worlds=2))
    # Evaluation asks explicitly and gets the held-out range.
    assert list(seed_range("test", 2, purpose="evaluation")) == [SPLITS["test"][0], SPLITS["test"][1]]
    assert len(WorldClipDataset(WorldDatasetConfig(split="test", purpose="evaluation", num_worlds=2))) > 0
    assert training_seeds(3) == [0, 1, 2]


def test_draws_are_seeded_and_inside_the_split():
    a = draw_seeds("val", 50, torch.Generator().manual_seed(4))
    b = draw_seeds("val", 50, torch.Generator().manual_seed(4))
    assert a == b and all(s in SPLITS["val"] for s in a)
    assert a != draw_seeds("val", 50, torch.Generator().manual_seed(5))
