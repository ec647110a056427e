"""The shared loop: it learns, it resumes exactly, its checkpoints need no pickle."""

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from genscene.config_io import ConfigError, from_dict, to_dict
from genscene.errors import InputError
from genscene.train.checkpoint import load_training_state
from genscene.train.config import LoopConfig, OptimConfig, TrainConfig
from genscene.train.loop import Trainer

TRUE_W = torch.tensor([[1.5, -2.0, 0.5]])


@dataclass
class LinearStage:
    """A real (tiny) stage: regress y = x @ W^T with dropout, so RNG matters for exact resume."""

    name: str = "linear"

    def config(self, preset: str) -> TrainConfig:
        return TrainConfig(stage=self.name, preset=preset,
                           loop=LoopConfig(steps=6, batch_size=8, grad_accum=2, ema_decay=0.9, log_every=1,
                                           eval_every=3, ckpt_every=3, mixed_precision="no"),
                           optim=OptimConfig(lr=0.05, warmup_steps=2))

    def build_model(self, cfg):
        return nn.Sequential(nn.Dropout(0.1), nn.Linear(3, 1, bias=False))

    def make_batch(self, cfg, step, rank, micro, device):
        g = torch.Generator().manual_seed(cfg.loop.seed * 1000 + step * 10 + micro)
        x = torch.randn(cfg.loop.batch_size, 3, generator=g)
        return {"x": x.to(device), "y": (x @ TRUE_W.T).to(device)}

    def loss(self, model, batch):
        loss = ((model(batch["x"]) - batch["y"]) ** 2).mean()
        return loss, {"loss": loss.item()}

    def evaluate(self, model, cfg, device):
        w = model[1].weight.detach().cpu()
        return {"weight_error": float((w - TRUE_W).norm())}

    def export(self, model, path: Path):
        path.mkdir(parents=True, exist_ok=True)
        from safetensors.torch import save_file

        save_file(model.state_dict(), path / "model.safetensors")

    def load_pretrained(self, path: Path):
        model = self.build_model(None)
        model.load_state_dict(load_file(path / "model.safetensors"))
        return model


def test_training_reduces_loss_and_writes_metrics(tmp_path):
    stage = LinearStage()
    cfg = stage.config("tiny")
    cfg.loop.steps = 40
    metrics = Trainer(stage, cfg, tmp_path).fit()
    assert metrics["history"][-1]["loss"] < 0.2 * metrics["history"][0]["loss"]
    assert [e["step"] for e in metrics["eval_curve"]][-1] == 40
    assert (tmp_path / "metrics.json").is_file() and (tmp_path / "model" / "model.safetensors").is_file()
    assert (tmp_path / "train_config.json").is_file()


def test_resume_is_exact(tmp_path):
    stage = LinearStage()
    straight = Trainer(stage, stage.config("tiny"), tmp_path / "a")
    straight.fit()
    Trainer(stage, stage.config("tiny"), tmp_path / "b").fit(until_step=3)
    resumed = Trainer(stage, stage.config("tiny"), tmp_path / "b", resume=tmp_path / "b" / "checkpoint")
    assert resumed.step == 3
    resumed.fit()
    a = load_file(tmp_path / "a" / "checkpoint" / "model.safetensors")
    b = load_file(tmp_path / "b" / "checkpoint" / "model.safetensors")
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ea = load_training_state(tmp_path / "a" / "checkpoint")
    eb = load_training_state(tmp_path / "b" / "checkpoint")
    for k in ea["ema"]:
        assert torch.equal(ea["ema"][k], eb["ema"][k])
    assert ea["scheduler"]["last_epoch"] == eb["scheduler"]["last_epoch"] == 6


def test_bad_checkpoint_is_one_clear_error(tmp_path):
    with pytest.raises(InputError, match="missing"):
        load_training_state(tmp_path)


def test_config_round_trip_and_typo_rejected():
    cfg = LinearStage().config("tiny")
    again = from_dict(TrainConfig, to_dict(cfg))
    assert again == cfg
    with pytest.raises(ConfigError, match="stepz"):
        from_dict(LoopConfig, {"stepz": 3})
    with pytest.raises(ConfigError, match="loop.steps: expected an integer"):
        from_dict(TrainConfig, {"loop": {"steps": "3"}})


class StepClock:
    """A fake clock that advances a fixed time per training step: the budget test measures no real time."""

    def __init__(self, per_step: float):
        self.now, self.per_step = 0.0, per_step

    def __call__(self) -> float:
        return self.now


def test_time_budget_shortens_the_schedule_to_fit(tmp_path):
    from genscene.train.loop import BUDGET_PROBE_STEPS

    stage = LinearStage()
    cfg = stage.config("tiny")
    cfg.loop.steps = 10**7
    clock = StepClock(per_step=0.125)
    trainer = Trainer(stage, cfg, tmp_path, clock=clock)
    step = trainer.train_step

    def timed_step():
        clock.now += clock.per_step
        return step()

    trainer.train_step = timed_step
    budget = 40.0
    metrics = trainer.fit(time_budget_s=budget)
    # fitted once after the probe: 85% of the time left at the measured 0.125 s/step
    probe = BUDGET_PROBE_STEPS
    expected = probe + int(0.85 * (budget - probe * clock.per_step) / clock.per_step)
    assert metrics["steps"] == cfg.loop.steps == expected == 275
    assert trainer.scheduler.get_last_lr()[0] == pytest.approx(cfg.optim.lr * cfg.optim.min_lr_ratio, rel=1e-6)
    spacing = expected // 4  # the probe evaluates every eval_every=3 steps, then four spaced ones, then the final
    probe_evals = list(range(3, probe + 1, 3))
    assert [e["step"] for e in metrics["eval_curve"]] == [*probe_evals, *range(spacing, expected, spacing), expected]
    assert metrics["train_time_s_this_run"] == round(expected * clock.per_step, 2)


def test_continued_run_keeps_the_lineage(tmp_path):
    import shutil

    stage = LinearStage()
    cfg = stage.config("tiny")
    cfg.loop.steps = 10
    first = Trainer(stage, cfg, tmp_path / "a").fit()
    shutil.copy(tmp_path / "a" / "metrics.json", tmp_path / "a" / "model" / "metrics.json")  # as weights/ holds it
    cfg.loop.steps = 6
    second = Trainer(stage, cfg, tmp_path / "b", init_from=tmp_path / "a" / "model").fit()
    assert [run["steps"] for run in second["lineage"]] == [10]
    assert second["lineage"][0]["final"] == first["final"]
    assert second["lineage"][0]["global_batch"] == cfg.loop.batch_size * cfg.loop.grad_accum
    assert second["steps_all_runs"] == 16


@dataclass
class PoisonedStage(LinearStage):
    """The linear stage with a non-finite loss on chosen steps (as a bad bf16 batch gives)."""

    poisoned: tuple[int, ...] = (1, 4)

    def make_batch(self, cfg, step, rank, micro, device):
        batch = super().make_batch(cfg, step, rank, micro, device)
        if step in self.poisoned:
            batch["y"][0] = float("inf")
        return batch


def test_non_finite_steps_are_skipped_recorded_and_survive_resume(tmp_path):
    import json

    stage = PoisonedStage()
    trainer = Trainer(stage, stage.config("tiny"), tmp_path)
    trainer.fit(until_step=3)
    before = trainer.acc.unwrap_model(trainer.model)[1].weight.detach().clone()
    resumed = Trainer(stage, stage.config("tiny"), tmp_path, resume=tmp_path / "checkpoint")
    assert resumed.skipped_steps == 1 and [s["step"] for s in resumed.skipped] == [1]
    assert torch.equal(resumed.acc.unwrap_model(resumed.model)[1].weight, before)
    metrics = resumed.fit()
    assert metrics["skipped_steps"] == 2 and [s["step"] for s in metrics["skipped"]] == [1, 4]
    assert metrics["history"][-1]["skipped_steps"] == 2.0
    saved = json.loads((tmp_path / "metrics.json").read_text(), parse_constant=lambda c: pytest.fail(c))
    assert saved["skipped"][0]["loss"] == "inf"  # which term failed, written as strict JSON
    assert [s["step"] for s in saved["skipped"]] == [1, 4]
    assert torch.isfinite(resumed.acc.unwrap_model(resumed.model)[1].weight).all()
