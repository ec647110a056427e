"""Two geometry checkpoints on the same validation worlds: means, paired differences and their spread.

    python benchmarks/compare_geometry.py OLD_DIR NEW_DIR --worlds 32 [--views 8] [--out FILE]

A gain of one or two AUC points on 16 worlds can be noise; this scores both models clip by clip
(the training run's own evaluation code, one clip per world) and reports, per metric, the paired
difference NEW - OLD with a 95% bootstrap interval over the worlds. Make OLD from git, e.g.
``mkdir -p /tmp/old && git archive REV weights/geometry | tar -x -C /tmp/old``.

This chooses between checkpoints, so it scores the ``val`` split; ``--split test`` is for reporting a
choice already made (``genscene.worlds.seeds``: test seeds from ``REPORT_START``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from genscene.eval.bootstrap import bootstrap_mean_interval
from genscene.eval.geometry_eval import evaluate_geometry
from genscene.eval.report import emit
from genscene.models.geometry import GeometryNet
from genscene.train.stages.geometry import GeometryStage

METRICS = ("auc@30", "rra@30", "rta@30", "depth_delta1.25", "depth_delta1.25_conf50", "chamfer")


def per_clip_scores(net: torch.nn.Module, clips: list[dict], views: int) -> dict[str, torch.Tensor]:
    """``{metric: [N]}`` over the clips (nan where a clip has no score, e.g. all sky)."""
    rows = [evaluate_geometry(net, [clip], views) for clip in clips]
    return {k: torch.tensor([r.get(k, float("nan")) for r in rows], dtype=torch.float64) for k in METRICS}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path)
    ap.add_argument("new", type=Path)
    ap.add_argument("--worlds", type=int, default=32, help="held-out worlds, families in turn")
    ap.add_argument("--split", choices=("val", "test"), default="val",
                    help="val to choose (default); test only to report a choice already made")
    ap.add_argument("--views", type=int, default=8)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    stage = GeometryStage()
    cfg = stage.config("tiny")
    device = torch.device("cpu")
    with torch.no_grad():
        clips = list(stage.clips(cfg, device).eval_items(split=args.split, count=args.worlds))
        scores = [per_clip_scores(GeometryNet.from_pretrained(d).eval(), clips, args.views)
                  for d in (args.old, args.new)]
    lines = [f"# Geometry: `{args.new}` against `{args.old}` on {len(clips)} {args.split} worlds, {args.views} views",
             "", f"`python benchmarks/compare_geometry.py {args.old} {args.new} --worlds {args.worlds} "
             f"--views {args.views} --split {args.split}`",
             "", "| metric | old | new | new - old | 95% interval (paired bootstrap over worlds) |",
             "|---|---:|---:|---:|---|"]
    for k in METRICS:
        old, new = scores[0][k], scores[1][k]
        diff = new - old
        lo, hi = bootstrap_mean_interval(diff)
        lines.append(f"| {k} | {old.nanmean():.3f} | {new.nanmean():.3f} | {diff.nanmean():+.3f} | "
                     f"{lo:+.3f} to {hi:+.3f} |")
    lines += ["", "Chamfer: lower is better. An interval that spans 0 is no evidence of a difference.", ""]
    emit("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
