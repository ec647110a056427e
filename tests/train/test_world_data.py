"""Which worlds a run scores: its evaluations read ``val``; only reports read ``test``, from REPORT_START."""

import pytest
import torch

from genscene.train.world_data import WorldClips, WorldDataConfig
from genscene.worlds.seeds import REPORT_START, SPLITS, HeldOutSeedError


@pytest.fixture
def recorded(monkeypatch):
    """World clips whose ``clip`` records ``(family, seed, path_seed, purpose)`` instead of rendering."""
    clips = WorldClips(WorldDataConfig(families=("room", "street"), eval_worlds=3), torch.device("cpu"))
    calls = []

    def clip(family, seed, path_seed, frames=None, purpose="training"):
        calls.append((family, seed, path_seed, purpose))
        return {}

    monkeypatch.setattr(clips, "clip", clip)
    return clips, calls


def test_a_runs_evaluation_reads_the_first_val_worlds(recorded):
    clips, calls = recorded
    list(clips.eval_items())
    val = SPLITS["val"]
    assert calls == [("room", val[0], 0, "selection"), ("street", val[1], 1, "selection"),
                     ("room", val[2], 2, "selection")]


def test_reports_read_test_from_the_report_offset(recorded):
    clips, calls = recorded
    list(clips.eval_items(split="test", count=2))
    test = SPLITS["test"]
    assert calls == [("room", test[REPORT_START], 0, "report"), ("street", test[REPORT_START + 1], 1, "report")]
    calls.clear()
    list(clips.eval_items(split="test", count=1, start=0))  # a floor check on the clip it was measured on
    assert calls == [("room", test[0], 0, "report")]


def test_selection_cannot_render_a_test_world():
    clips = WorldClips(WorldDataConfig(size=16, frames=2), torch.device("cpu"))
    with pytest.raises(HeldOutSeedError):
        clips.clip("room", SPLITS["test"][REPORT_START], 0, purpose="selection")
    with pytest.raises(HeldOutSeedError):
        clips.clip("room", SPLITS["val"][0], 0)  # training reads neither held-out split
