"""Every stage trains for two steps on tiny worlds on the CPU, evaluates, exports and reloads."""

import dataclasses
import json
import math

import pytest
import torch

from genscene.errors import InputError
from genscene.train.loop import Trainer
from genscene.train.stages import STAGES, get_stage


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_trains_two_steps_and_exports(name, tmp_path):
    stage = get_stage(name)
    cfg = stage.config("smoke")
    metrics = Trainer(stage, cfg, tmp_path).fit()
    assert metrics["steps"] == 2
    assert all(math.isfinite(h["loss"]) for h in metrics["history"])
    assert metrics["final"] and all(math.isfinite(v) for v in metrics["final"].values())
    reloaded = stage.load_pretrained(tmp_path / "model")
    original = Trainer(stage, cfg, tmp_path / "again", init_from=tmp_path / "model")
    for (k, a), b in zip(reloaded.state_dict().items(), original.model.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-3), k


def test_unknown_preset_is_an_input_error():
    with pytest.raises(InputError, match="no preset"):
        get_stage("vae").config("huge")


@pytest.mark.parametrize("name", sorted(STAGES))
def test_a_run_adjusting_its_config_leaves_the_preset_alone(name):
    stage = get_stage(name)
    first = stage.config("tiny")
    first.loop.steps, first.optim.lr = 7, 1.0  # what a time-budgeted run does to its own config
    again = stage.config("tiny")
    assert again.loop.steps == 20000 and again.optim.lr != 1.0


def test_the_wide_vae_preset_fits_the_weight_budget_and_shares_tiny_data():
    stage = get_stage("vae")
    wide, tiny = stage.config("wide"), stage.config("tiny")
    assert wide.data == tiny.data  # same clips (one shared bank), only the width differs
    params = sum(p.numel() for p in stage.build_model(wide).parameters())
    assert 2 * params < 16 * 2**20  # one fp16 file under the 16 MiB limit
    assert params > 2 * sum(p.numel() for p in stage.build_model(tiny).parameters())


def test_geometry_with_the_dpt_head_trains_two_steps_and_reloads(tmp_path):
    stage = get_stage("geometry")
    cfg = stage.config("smoke")
    cfg.model.dense_head = "dpt"
    metrics = Trainer(stage, cfg, tmp_path).fit()
    assert metrics["steps"] == 2 and all(math.isfinite(h["loss"]) for h in metrics["history"])
    reloaded = stage.load_pretrained(tmp_path / "model")
    assert reloaded.config.dense_head == "dpt"


def test_the_dpt_geometry_preset_differs_from_tiny_only_in_its_dense_head():
    stage = get_stage("geometry")
    dpt, tiny = stage.config("dpt"), stage.config("tiny")
    assert dpt.data == tiny.data and dpt.loop == tiny.loop and dpt.optim == tiny.optim
    assert dataclasses.replace(dpt.model, dense_head=tiny.model.dense_head) == tiny.model
    assert dpt.model.dense_head == "dpt" != tiny.model.dense_head


def test_cli_overrides_of_batch_size_and_lr_reach_the_saved_config(tmp_path):
    import json

    from typer.testing import CliRunner

    from genscene.cli import app

    args = ["train", "geometry", "--preset", "smoke", "--steps", "1", "--batch-size", "2", "--lr", "5e-4",
            "--warmup-steps", "0", "--out", str(tmp_path)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    saved = json.loads((tmp_path / "train_config.json").read_text())
    assert saved["loop"]["batch_size"] == 2 and saved["optim"]["lr"] == 5e-4 and saved["optim"]["warmup_steps"] == 0
    bad = CliRunner().invoke(app, ["train", "geometry", "--preset", "smoke", "--batch-size", "-1", "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "--batch-size" in bad.output
    bad = CliRunner().invoke(app, ["train", "geometry", "--preset", "smoke", "--warmup-steps", "-2",
                                   "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "--warmup-steps" in bad.output


def test_compiled_training_matches_eager_and_exports_the_plain_module(tmp_path):
    """aot_eager traces forward and backward through dynamo as inductor does, without its codegen
    (minutes on a CPU): the loop's plumbing is under test, the kernels are torch's."""
    stage = get_stage("geometry")
    runs = {}
    for backend in ("", "aot_eager"):
        cfg = stage.config("smoke")
        cfg.loop.compile = backend
        trainer = Trainer(stage, cfg, tmp_path / (backend or "eager"))
        assert hasattr(trainer.model, "_orig_mod") == bool(backend)  # compiled only when asked
        runs[backend] = trainer.fit()
    eager, compiled = runs[""], runs["aot_eager"]
    for a, b in zip(eager["history"], compiled["history"]):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
    plain = stage.load_pretrained(tmp_path / "eager" / "model").state_dict()
    traced = stage.load_pretrained(tmp_path / "aot_eager" / "model").state_dict()
    assert plain.keys() == traced.keys()  # no "_orig_mod." prefix in the export
    for k in plain:
        assert torch.allclose(plain[k].float(), traced[k].float(), atol=2e-3), k


def test_cli_rejects_an_unknown_compile_backend(tmp_path):
    from typer.testing import CliRunner

    from genscene.cli import app

    bad = CliRunner().invoke(app, ["train", "geometry", "--preset", "smoke", "--compile", "warp-drive",
                                   "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "--compile" in bad.output and not (tmp_path / "metrics.json").exists()


def test_set_overrides_are_typed_and_reach_the_saved_config(tmp_path):
    from typer.testing import CliRunner

    from genscene.cli import app

    args = ["train", "geometry", "--preset", "smoke", "--steps", "1", "--out", str(tmp_path),
            "--set", "data.views=[2,2]", "--set", "model.dense_head=dpt", "--set", "data.photometric=null"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    saved = json.loads((tmp_path / "train_config.json").read_text())
    assert saved["data"]["views"] == [2, 2] and saved["model"]["dense_head"] == "dpt"
    assert saved["data"]["photometric"] is None
    for bad, word in (("data.veiws=[2,2]", "veiws"), ("data.views=3", "list"), ("loop.steps=1.5", "integer"),
                      ("data.views", "FIELD.PATH=VALUE"), ("model.dim.x=1", "no fields")):
        out = CliRunner().invoke(app, ["train", "geometry", "--preset", "smoke", "--set", bad, "--out",
                                       str(tmp_path / "bad")])
        assert out.exit_code == 2 and word in out.output and "--set" in out.output, (bad, out.output)
        assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_preset_is_a_typed_config_that_round_trips_through_json(name):
    from genscene.config_io import from_dict, to_dict

    stage = get_stage(name)
    for preset in stage.presets:
        cfg = stage.config(preset)
        assert cfg.stage == name and cfg.preset == preset
        assert dataclasses.is_dataclass(cfg.model) and dataclasses.is_dataclass(cfg.data)
        again = from_dict(type(cfg), json.loads(json.dumps(to_dict(cfg))))
        assert again == cfg
        cfg.loop.steps += 1  # a run's change never reaches the preset
        assert stage.config(preset).loop.steps == cfg.loop.steps - 1
