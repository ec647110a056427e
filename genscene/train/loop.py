"""The shared training loop on accelerate: CPU, one GPU or several (DDP), exact resume."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from genscene.atomic import atomic_write_json
from genscene.config_io import to_dict
from genscene.io.meta import to_jsonable
from genscene.train.checkpoint import load_training_state, save_training_state, warm_start
from genscene.train.config import TrainConfig
from genscene.train.ema import EMA
from genscene.train.stage import Stage


def lr_lambda(cfg: TrainConfig):
    """Linear warm-up to 1, then cosine to ``min_lr_ratio`` at ``loop.steps``."""
    warm, floor = cfg.optim.warmup_steps, cfg.optim.min_lr_ratio

    def fn(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        total = cfg.loop.steps  # read live: a time-budgeted run may shorten it once it knows its speed
        progress = min(1.0, (step - warm) / max(1, total - warm))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return fn


BUDGET_PROBE_STEPS = 20
"""Steps timed before a time-budgeted run first fixes its length."""
BUDGET_REFIT_AT = (100, 400, 1000)
"""Steps (after the start) at which the length is fitted again from the settled speed (the first
steps include CUDA warm-up and overestimate the per-step time)."""
SKIPPED_KEPT = 64
"""Skipped (non-finite) steps whose logs are kept in the metrics: enough to see which term failed."""


def run_summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """The part of a run's metrics that its descendants keep: steps, samples per step, time, hardware,
    evaluations (steps of runs at different batch sizes are not comparable without the batch)."""
    loop = metrics["config"]["loop"]
    batch = loop["batch_size"] * loop["grad_accum"] * metrics["num_processes"]
    return {"steps": metrics["steps"], "global_batch": batch, "train_time_s": metrics["train_time_s_this_run"],
            "device": metrics["device"], "num_processes": metrics["num_processes"], "final": metrics["final"],
            "eval_curve": metrics.get("eval_curve", [])}


def lineage_of(model_dir: Path) -> list[dict[str, Any]]:
    """Runs that produced the exported model in ``model_dir`` (oldest first), from its ``metrics.json``;
    a model trained by continuing it appends itself, so the metric-vs-steps curve spans all runs."""
    path = model_dir / "metrics.json"
    if not path.is_file():
        return []
    metrics = json.loads(path.read_text())
    return [*metrics.get("lineage", []), run_summary(metrics)]


def compile_for_training(model: nn.Module, backend: str) -> nn.Module:
    """``torch.compile`` with dynamic shapes: views per sample vary between batches, so one graph serves
    every count instead of one compilation per count."""
    if backend == "inductor":
        import torch._inductor.config as inductor_config

        # inductor's coalesce-tiling analysis does not support dynamic shapes and asserts in
        # get_pw_red_splits on CUDA with torch 2.11 (pytorch/pytorch#181563, fixed after 2.11)
        inductor_config.triton.coalesce_tiling_analysis = False
    return torch.compile(model, backend=backend, dynamic=True)


def _step_seed(seed: int, step: int, rank: int) -> int:
    return (seed * 1_000_003 + step * 7919 + rank * 104_729) % (2**63 - 1)


class Trainer:
    """Runs ``stage`` under ``cfg`` and writes checkpoints, the exported model and metrics to ``out``."""

    def __init__(self, stage: Stage, cfg: TrainConfig, out: Path, resume: Path | None = None,
                 init_from: Path | None = None, clock: Callable[[], float] = time.perf_counter):
        """``resume``: a full training checkpoint (exact resume). ``init_from``: an exported model
        folder (e.g. the committed ``weights/``) whose weights start a new optimiser run. ``clock``:
        seconds, the time a budgeted run measures and fits its schedule to (tests pass a fake one)."""
        from accelerate import Accelerator, DistributedDataParallelKwargs

        self.stage, self.cfg, self.out, self.clock = stage, cfg, Path(out), clock
        precision = cfg.loop.mixed_precision if torch.cuda.is_available() else "no"
        # a stage whose steps leave some parameters unused (the VAE's temporal layers on single frames) says so
        ddp = DistributedDataParallelKwargs(find_unused_parameters=getattr(stage, "find_unused_parameters", False))
        self.acc = Accelerator(mixed_precision=precision, cpu=not torch.cuda.is_available(), kwargs_handlers=[ddp])
        torch.manual_seed(cfg.loop.seed)
        model = stage.build_model(cfg)
        self.lineage: list[dict[str, Any]] = []
        self.warm_start: dict[str, Any] | None = None
        if init_from is not None:
            self.warm_start = warm_start(model, Path(init_from))
            if self.warm_start["new"] or self.warm_start["dropped"]:
                self.acc.print(f"init-from {init_from}: {self.warm_start['loaded']} tensors kept, "
                               f"{len(self.warm_start['new'])} start fresh, {len(self.warm_start['dropped'])} dropped")
            self.lineage = lineage_of(Path(init_from))
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.optim.lr, betas=cfg.optim.betas,
                                           weight_decay=cfg.optim.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda(cfg))
        self.ema = EMA(model, cfg.loop.ema_decay) if cfg.loop.ema_decay > 0 else None
        self.step = 0
        self.skipped_steps = 0
        self.skipped: list[dict[str, Any]] = []  # the first SKIPPED_KEPT skipped steps, for diagnosis
        self.history: list[dict[str, Any]] = []
        self.eval_curve: list[dict[str, Any]] = []
        if resume is not None:
            self._load(resume, model)
        self.model, self.optimizer = self.acc.prepare(model, self.optimizer)
        if cfg.loop.compile:  # not accelerate's dynamo plugin: its state is one per process, set by the first run
            self.model = compile_for_training(self.model, cfg.loop.compile)
        if self.ema is not None:
            self.ema.to(self.acc.device)

    # ------------------------------------------------------------------ state
    def _load(self, path: Path, model: nn.Module) -> None:
        state = load_training_state(path)
        model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.ema is not None and state["ema"] is not None:
            self.ema.load_state_dict(state["ema"])
        self.step = state["step"]
        self.history = state["metrics"].get("history", [])
        self.eval_curve = state["metrics"].get("eval_curve", [])
        self.skipped = state["metrics"].get("skipped", [])
        self.skipped_steps = int(state["metrics"].get("skipped_steps", 0))
        if "torch" in state["rng"]:
            torch.set_rng_state(state["rng"]["torch"])

    def _save(self) -> None:
        if not self.acc.is_main_process:
            return
        model = self.plain_model()
        save_training_state(
            self.out / "checkpoint", model.state_dict(), self.optimizer.state_dict(),
            self.scheduler.state_dict(), self.step, to_dict(self.cfg),
            ema_state=self.ema.state_dict() if self.ema else None,
            metrics={"history": self.history, "eval_curve": self.eval_curve, "skipped": self.skipped,
                     "skipped_steps": self.skipped_steps},
        )

    def plain_model(self) -> nn.Module:
        """The model without its DDP and ``torch.compile`` wrappers (what is saved, evaluated, averaged)."""
        return self.acc.unwrap_model(self.model, keep_torch_compile=False)

    def _eval_model(self) -> nn.Module:
        """The unwrapped model, with EMA weights swapped in when EMA is on (a copy, not in place)."""
        model = self.plain_model()
        if self.ema is None:
            return model
        averaged = copy.deepcopy(model)
        self.ema.copy_to(averaged)
        return averaged

    # ------------------------------------------------------------------ loop
    def train_step(self) -> dict[str, float]:
        cfg, acc = self.cfg, self.acc
        torch.manual_seed(_step_seed(cfg.loop.seed, self.step, acc.process_index))
        logs: dict[str, float] = {"data_s": 0.0}
        t_step = time.perf_counter()
        self.model.train()
        for micro in range(cfg.loop.grad_accum):
            t_data = time.perf_counter()
            batch = self.stage.make_batch(cfg, self.step, acc.process_index, micro, acc.device)
            logs["data_s"] += time.perf_counter() - t_data
            sync = micro == cfg.loop.grad_accum - 1
            ctx = acc.no_sync(self.model) if not sync else contextlib.nullcontext()
            with ctx, acc.autocast():
                loss, terms = self.stage.loss(self.model, batch)
                acc.backward(loss / cfg.loop.grad_accum)
            for k, v in terms.items():
                logs[k] = logs.get(k, 0.0) + v / cfg.loop.grad_accum
        if cfg.optim.grad_clip > 0:
            logs["grad_norm"] = float(acc.clip_grad_norm_(self.model.parameters(), cfg.optim.grad_clip))
        finite = math.isfinite(logs.get("grad_norm", 0.0)) and all(math.isfinite(v) for v in logs.values())
        if finite:
            self.optimizer.step()
            if self.ema is not None:
                self.ema.update(self.plain_model())
        else:  # one bad batch must not poison the weights; counted so a diverging run is visible
            self.skipped_steps += 1
            if len(self.skipped) < SKIPPED_KEPT:  # which term went non-finite (or only the gradient)
                self.skipped.append({"step": self.step, "rank": acc.process_index, **logs})
        logs["skipped_steps"] = float(self.skipped_steps)
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        logs["lr"] = self.scheduler.get_last_lr()[0]
        logs["step_s"] = time.perf_counter() - t_step  # wall time; GPU work still queued shows up in later steps
        return logs

    def _fit_steps_to_budget(self, budget_s: float, t0: float, start_step: int, speed_since: tuple[float, int],
                             limit: int) -> int:
        """Set ``loop.steps`` (at most ``limit``) from the speed measured since ``speed_since`` =
        (time, step) so the run ends inside ``budget_s``; returns it."""
        cfg = self.cfg.loop
        now = self.clock()
        per_step = (now - speed_since[0]) / max(1, self.step - speed_since[1])
        # evaluations and the final export take time too: plan on 85% of what is left
        fit = self.step + int(0.85 * (budget_s - (now - t0)) / per_step)
        agreed = self.acc.gather(torch.tensor([fit], device=self.acc.device)).min().item()  # all ranks agree
        cfg.steps = max(self.step + 1, min(limit, int(agreed)))
        cfg.eval_every = max(1, (cfg.steps - start_step) // 4)
        self.acc.print(f"{self.stage.name}: {per_step:.3f} s/step, schedule fitted to {cfg.steps} steps")
        return cfg.steps

    def evaluate(self) -> dict[str, float]:
        """Held-out metrics, computed on the main process only (every rank holds the same weights);
        other ranks get ``{}`` and wait for it."""
        metrics: dict[str, float] = {}
        if self.acc.is_main_process:
            model = self._eval_model()
            model.eval()
            with torch.no_grad():
                metrics = self.stage.evaluate(model, self.cfg, self.acc.device)
            self.eval_curve.append({"step": self.step, **metrics})
        self.acc.wait_for_everyone()
        return metrics

    def fit(self, until_step: int | None = None, time_budget_s: float | None = None) -> dict[str, Any]:
        """Train to ``cfg.loop.steps``, evaluate, export; returns (and writes) the metrics dict.

        ``until_step`` stops early (the schedule still runs to ``cfg.loop.steps``), leaving a
        checkpoint that a later run resumes exactly. ``time_budget_s`` measures the speed over the
        first steps and then shortens ``cfg.loop.steps`` (and spaces four evaluations) so the whole
        schedule, cosine decay included, ends inside the budget.
        """
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        cfg = self.cfg.loop
        if time_budget_s is not None and hasattr(self.stage, "prepare"):
            t_prep = time.perf_counter()
            self.stage.prepare(self.cfg, self.acc.device)
            self.acc.print(f"{self.stage.name}: prepared in {time.perf_counter() - t_prep:.1f} s")
        start_step, t0 = self.step, self.clock()
        preset_steps, speed_since = cfg.steps, (t0, self.step)
        columns = (TextColumn(f"[bold]{self.stage.name}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TextColumn("{task.fields[loss]}"), TimeRemainingColumn())
        with Progress(*columns, disable=not self.acc.is_main_process, transient=False) as bar:
            task = bar.add_task("train", total=cfg.steps, completed=self.step, loss="")
            stop = min(cfg.steps, until_step) if until_step is not None else cfg.steps
            while self.step < stop:
                probing = time_budget_s is not None and self.step - start_step < BUDGET_PROBE_STEPS
                if probing and self.clock() - t0 > time_budget_s:
                    break  # too slow even to measure; after the probe the fitted schedule is the limit
                logs = self.train_step()
                done = self.step - start_step
                if time_budget_s is not None and (done == BUDGET_PROBE_STEPS or done in BUDGET_REFIT_AT):
                    if done > BUDGET_PROBE_STEPS and speed_since[1] == start_step:
                        speed_since = (self.clock(), self.step)  # time from here on, warm-up excluded
                    else:
                        fitted = self._fit_steps_to_budget(time_budget_s, t0, start_step, speed_since, preset_steps)
                        stop = fitted if until_step is None else min(until_step, fitted)
                        bar.update(task, total=cfg.steps)
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    self.history.append({"step": self.step, **logs})
                bar.update(task, completed=self.step, loss=f"loss {logs.get('loss', float('nan')):.4g}")
                if cfg.eval_every and self.step % cfg.eval_every == 0 and self.step < stop:
                    self.evaluate()
                if cfg.ckpt_every and self.step % cfg.ckpt_every == 0 and self.step < stop:
                    self._save()
        train_time = self.clock() - t0
        final = self.evaluate()
        self._save()
        metrics = {
            "stage": self.stage.name, "preset": self.cfg.preset, "steps": self.step,
            "steps_this_run": self.step - start_step, "train_time_s_this_run": round(train_time, 2),
            "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
            "num_processes": self.acc.num_processes, "final": final, "config": to_dict(self.cfg),
            "lineage": self.lineage, "warm_start": self.warm_start,
            "steps_all_runs": self.step + sum(run["steps"] for run in self.lineage),
            "train_time_s_all_runs": round(train_time + sum(run["train_time_s"] for run in self.lineage), 2),
            "eval_curve": self.eval_curve, "history": self.history,
            "skipped_steps": self.skipped_steps, "skipped": self.skipped,
        }
        if self.acc.is_main_process:
            self.stage.export(self._eval_model(), self.out / "model")
            atomic_write_json(self.out / "train_config.json", to_dict(self.cfg))
            atomic_write_json(self.out / "metrics.json", to_jsonable(metrics, "metrics", nonfinite="string"))
        self.acc.wait_for_everyone()
        return metrics

