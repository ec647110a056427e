"""``genscene train STAGE --preset tiny [--resume] [--out DIR] [--set FIELD=VALUE ...]``."""

from __future__ import annotations

from pathlib import Path

import typer

from genscene.commands import finite_float, one_line_errors
from genscene.errors import InputError

MAX_STEPS = 10**9
"""Largest step count."""
MAX_MINUTES = 10**7
"""Largest time budget (about 19 years)."""
MAX_BATCH = 1 << 16
"""Largest per-process batch."""
MAX_LR = 10.0
"""Largest peak learning rate."""


def check_init_from(folder: Path) -> None:
    """``--init-from``: a folder with one readable safetensors file whose tensors are finite, checked before
    training starts (a pickle renamed ``.safetensors`` is refused without being unpickled)."""
    from safetensors.torch import load_file

    from genscene.weights import first_non_finite, safetensors_shapes

    files = sorted(Path(folder).glob("*.safetensors")) if Path(folder).is_dir() else []
    if len(files) != 1:
        raise InputError(folder, f"--init-from needs a folder with one exported model (*.safetensors), "
                                 f"found {len(files)}")
    safetensors_shapes(files[0])
    bad = first_non_finite(load_file(files[0]))
    if bad is not None:
        raise InputError(files[0], f"tensor {bad!r} holds NaN or infinite values; the weights are corrupt")


@one_line_errors
def train(
    stage: str = typer.Argument(..., help="Stage to train: vae, geometry, generator, decoder."),
    preset: str = typer.Option("tiny", help="Named config preset (tiny = the embedded default)."),
    out: Path = typer.Option(Path("runs/train"), "--out", "-o", help="Output folder (checkpoint, model, metrics)."),
    resume: bool = typer.Option(False, help="Resume exactly from OUT/checkpoint."),
    init_from: Path = typer.Option(None, help="Start from an exported model folder (e.g. weights/vae)."),
    steps: int = typer.Option(0, min=0, max=MAX_STEPS, help="Override the preset's total steps (0 keeps it)."),
    minutes: float = typer.Option(0.0, min=0.0, max=MAX_MINUTES,
                                  help="Stop after this many minutes and checkpoint (0: no limit)."),
    batch_size: int = typer.Option(0, min=0, max=MAX_BATCH,
                                   help="Override the preset's per-process batch size (0 keeps it)."),
    lr: float = typer.Option(0.0, min=0.0, max=MAX_LR, help="Override the preset's peak learning rate (0 keeps it)."),
    warmup_steps: int = typer.Option(-1, min=-1, max=MAX_STEPS,
                                     help="Override the preset's warm-up steps (-1 keeps it; a warm start "
                                          "from trained weights needs few)."),
    compile: str = typer.Option("", help="torch.compile backend to train through, e.g. inductor ('' keeps eager)."),
    set_: list[str] = typer.Option([], "--set", help="Override any config field, typed by the field: "
                                   "--set data.eval_worlds=32 --set model.dense_head=dpt (JSON values; repeatable)."),
) -> None:
    """Train one stage on procedural worlds, evaluate on validation worlds, write checkpoint + metrics."""
    from genscene.config_io import ConfigError, apply_override
    from genscene.train.loop import Trainer
    from genscene.train.stages import get_stage

    finite_float("--minutes", minutes, 0.0, MAX_MINUTES)
    finite_float("--lr", lr, 0.0, MAX_LR)
    if init_from is not None:
        check_init_from(init_from)
    st = get_stage(stage)
    cfg = st.config(preset)
    for text in set_:
        try:
            apply_override(cfg, text)
        except ConfigError as err:
            raise InputError("--set", str(err)) from None
    if steps:
        cfg.loop.steps = steps
    if batch_size:
        cfg.loop.batch_size = batch_size
    if lr:
        cfg.optim.lr = lr
    if warmup_steps >= 0:
        cfg.optim.warmup_steps = warmup_steps
    if compile:
        from accelerate.utils import DynamoBackend

        if compile.upper() not in {b.value for b in DynamoBackend} - {"NO"}:
            raise InputError("--compile", f"unknown torch.compile backend {compile!r} (e.g. inductor, aot_eager)")
        cfg.loop.compile = compile
    resume_from = None
    if resume:
        resume_from = out / "checkpoint"
        if not (resume_from / "state.json").is_file():
            raise InputError(resume_from, "--resume given but there is no checkpoint here")
    trainer = Trainer(st, cfg, out, resume=resume_from, init_from=init_from)
    metrics = trainer.fit(time_budget_s=minutes * 60 if minutes else None)
    if metrics["final"]:  # empty on the ranks of a multi-GPU run that do not evaluate
        typer.echo(f"{stage}: step {metrics['steps']}, final {metrics['final']}")
