"""Held-out metrics against training steps over every run behind a committed model.

    python benchmarks/training_curve.py weights/geometry [--out benchmarks/results/curve_geometry.md]

Reads the model folder's ``metrics.json`` (its ``lineage`` of earlier runs, then the last run) and
prints one row per held-out evaluation, with steps counted across runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from genscene.eval.report import emit
from genscene.train.loop import run_summary


def curve_rows(metrics: dict) -> list[dict]:
    """``[{run, step_all_runs, device, <metric>: value, ...}]`` over the lineage and the last run."""
    runs = [*metrics.get("lineage", []), run_summary(metrics)]
    rows, offset = [], 0
    for i, run in enumerate(runs):
        seen = set()
        for point in run["eval_curve"]:
            if point["step"] in seen:  # the final evaluation repeats the last scheduled one
                continue
            seen.add(point["step"])
            values = {k: v for k, v in point.items() if k != "step"}
            rows.append({"run": i + 1, "step_all_runs": offset + point["step"], "batch": run.get("global_batch", "n/r"),
                         "device": f"{run['num_processes']}x {run['device']}", **values})
        offset += run["steps"]
    return rows


def markdown(rows: list[dict], title: str) -> str:
    keys = [k for k in rows[0] if k not in ("run", "step_all_runs", "batch", "device")]
    lines = [f"# {title}", "",
             "Batch: samples per optimiser step over all processes (n/r: the run did not record it).", "",
             "| run | steps (all runs) | batch | " + " | ".join(keys) + " | device |",
             "|---:|---:|---:|" + "---:|" * len(keys) + "---|"]
    for r in rows:
        vals = " | ".join(f"{r[k]:.3f}" if isinstance(r[k], float) else str(r[k]) for k in keys)
        lines.append(f"| {r['run']} | {r['step_all_runs']} | {r['batch']} | {vals} | {r['device']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, help="a model folder holding metrics.json (e.g. weights/vae)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    metrics = json.loads((args.model / "metrics.json").read_text())
    text = markdown(curve_rows(metrics), f"{metrics['stage']}: held-out metrics against steps "
                                         f"(`python benchmarks/training_curve.py {args.model}`)")
    emit(text, args.out)


if __name__ == "__main__":
    main()
