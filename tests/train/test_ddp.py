"""Two-process data-parallel training on the CPU (gloo): the loop, the shared bank cache and the
VAE's single-frame steps (which leave temporal layers unused) all work under DDP."""

import json
import os
import subprocess
import sys

import pytest


def test_vae_trains_on_two_processes(tmp_path):
    pytest.importorskip("diffusers")
    env = {**os.environ, "GENSCENE_BANK_CACHE": str(tmp_path / "bank"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "genscene.cli", "train",
           "vae", "--preset", "smoke", "--steps", "4", "--out", str(tmp_path / "run")]  # step 3 is single-frame
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["num_processes"] == 2 and metrics["steps"] == 4
    assert done.stdout.count("final {") == 1 and "psnr_video" in metrics["final"]  # evaluated once, by rank 0
    assert len(list((tmp_path / "bank").glob("bank-*.safetensors"))) == 1  # rendered once, shared by both ranks
