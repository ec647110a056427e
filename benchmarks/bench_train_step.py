"""Training throughput per stage and batch size: seconds per step, samples per second, peak GPU memory.

Runs the real loop's step (data, forward, backward, clip, optimiser, EMA) on a small clip bank at the
preset's resolution, so the choice of batch size for a GPU run rests on measurements::

    python benchmarks/bench_train_step.py --stage geometry --batch 16 32 64 --stage vae --batch 8 16 32
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from genscene.eval.report import emit
from genscene.train.loop import Trainer
from genscene.train.stages import get_stage


def time_steps(stage_name: str, preset: str, batch: int, steps: int, warmup: int,
               compile: str = "") -> dict[str, float]:
    """Mean wall seconds per step over ``steps`` steps after ``warmup`` untimed ones (which include
    the compilation when a ``compile`` backend is named)."""
    stage = get_stage(stage_name)
    cfg = stage.config(preset)
    cfg.loop.batch_size = batch
    cfg.loop.compile = compile
    cfg.data.train_pool, cfg.data.bank_paths = 2, 2  # a small bank: the step, not the bank, is measured
    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(stage, cfg, Path(out))
        stage.prepare(cfg, trainer.acc.device)
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        for _ in range(warmup):
            trainer.train_step()
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        data_s = sum(trainer.train_step()["data_s"] for _ in range(steps))
        if cuda:
            torch.cuda.synchronize()
        per_step = (time.perf_counter() - t0) / steps
    peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
    return {"s_per_step": per_step, "data_s": data_s / steps, "samples_per_s": batch / per_step, "peak_gib": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stage", action="append", required=True, help="stage name; each --stage takes the next --batch")
    ap.add_argument("--batch", action="append", nargs="+", type=int, required=True, help="batch sizes to time")
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--compile", default="", help="torch.compile backend, e.g. inductor (LoopConfig.compile)")
    ap.add_argument("--out", type=Path, default=None, help="also write the table here (markdown)")
    args = ap.parse_args()
    if len(args.stage) != len(args.batch):
        ap.error("give one --batch list per --stage")
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    mode = f", torch.compile {args.compile}" if args.compile else ""
    lines = [f"Training step, preset {args.preset}{mode}, {device}, mean of {args.steps} steps after {args.warmup}",
             "", "| stage | batch | s/step | of which data | samples/s | peak GiB |", "|---|---|---|---|---|---|"]
    for stage, batches in zip(args.stage, args.batch):
        for b in batches:
            r = time_steps(stage, args.preset, b, args.steps, args.warmup, args.compile)
            lines.append(f"| {stage} | {b} | {r['s_per_step']:.3f} | {r['data_s']:.3f} | {r['samples_per_s']:.1f} "
                         f"| {r['peak_gib']:.1f} |")
            print(lines[-1], flush=True)
    emit("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
