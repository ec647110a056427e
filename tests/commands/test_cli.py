"""The CLI shell: doctor reports real facts, bad input is one line and exit status 2."""

import subprocess
import sys

import torch
from typer.testing import CliRunner

from genscene.cli import app
from genscene.commands.doctor import collect
from genscene.errors import InputError


def test_doctor_reports_versions_and_backends():
    rep = collect()
    assert rep["torch"] == torch.__version__
    assert set(rep["optional"]) >= {"gsplat", "pycolmap", "mamba_ssm", "viser"}
    assert rep["weight_dirs"], "doctor must say where it looks for weights"
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0
    assert "torch" in result.output and "gsplat" in result.output


def test_input_error_is_one_line():
    err = InputError("cams.json", "expected 4x4, got 3x4", field="frames[2].w2c")
    assert str(err) == "cams.json: frames[2].w2c: expected 4x4, got 3x4"
    assert "\n" not in str(InputError("a\nb", "c\nd"))


def test_main_turns_input_error_into_exit_2(tmp_path):
    code = (
        "import genscene.cli as c\n"
        "from genscene.errors import InputError\n"
        "@c.app.command('boom')\n"
        "def boom():\n"
        "    raise InputError('in.ply', 'no vertex element')\n"
        "import sys; sys.argv = ['genscene', 'boom']\n"
        "c.main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["error: in.ply: no vertex element"]
