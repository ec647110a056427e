"""The CLI shell: doctor reports real facts, bad input is one line and exit status 2."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from genscene.cli import app
from genscene.commands.doctor import collect
from genscene.errors import InputError


def test_doctor_reports_versions_and_backends():
    rep = collect()
    assert rep["torch"] == torch.__version__
    assert set(rep["optional"]) >= {"gsplat", "pycolmap"}
    assert rep["core"]["diffusers"] is not None  # a required dependency is installed
    assert rep["weight_dirs"], "doctor must say where it looks for weights"
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0
    assert "torch" in result.output and "gsplat" in result.output


def test_doctor_names_the_install_line_of_a_missing_extra(monkeypatch):
    from genscene.commands import doctor

    real = doctor._version
    monkeypatch.setattr(doctor, "_version", lambda name: None if name == "pycolmap" else real(name))
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0
    line = next(row for row in result.output.splitlines() if "pycolmap" in row)
    assert 'not installed: pip install "genscene[colmap]"' in line and "--poses" in line


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


def run_main(monkeypatch, capsys, *argv: str) -> tuple[int, str, str]:
    """``genscene ARGV`` through the real entry point, in process: exit status, stdout, stderr."""
    import pytest

    from genscene.cli import main

    monkeypatch.setattr(sys, "argv", ["genscene", *argv])
    with pytest.raises(SystemExit) as done:
        main()
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def test_main_turns_typer_usage_errors_into_one_line(monkeypatch, capsys, tmp_path):
    cases = [
        (("render", "x.ply", "-t", "orbit", "-o", str(tmp_path / "v.mp4"), "--fps", "0"), "'--fps'"),
        (("render", "x.ply", "-t", "orbit", "-o", str(tmp_path / "v.mp4"), "--use", "nope"), "'--use'"),
        (("render",), "Missing argument"),
        (("no-such-command",), "No such command"),
    ]
    for argv, word in cases:
        code, out, err = run_main(monkeypatch, capsys, *argv)
        assert code == 2 and out == "", argv
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: genscene") and word in lines[0], (argv, err)
    assert list(tmp_path.iterdir()) == []


def test_main_shows_help_for_a_bare_group_and_exits_0_on_success(monkeypatch, capsys):
    code, out, err = run_main(monkeypatch, capsys, "trajectory")
    assert code == 2 and "Usage: genscene trajectory" in out + err  # click's own convention
    code, out, _ = run_main(monkeypatch, capsys, "trajectory", "list")
    assert code == 0 and "orbit" in out


def test_version_prints_the_package_version(monkeypatch, capsys):
    import genscene
    from genscene import cli

    monkeypatch.setattr("sys.argv", ["genscene", "--version"])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"genscene {genscene.__version__}"
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert f'\nversion = "{genscene.__version__}"\n' in pyproject  # the package's version, one source of truth


def test_doctor_names_the_extra_of_each_backend_and_only_backends_genscene_imports():
    import ast

    import tomllib

    from genscene.commands.doctor import BACKENDS, install_hint

    root = Path(__file__).resolve().parents[2]
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for backend in BACKENDS:
        requirements = extras[backend.extra]  # the extra exists
        assert any(r.split(">")[0].split("=")[0].strip() == backend.module for r in requirements), backend
        tree = ast.parse((root / backend.used_in).read_text())  # the feature exists and imports the backend
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert backend.module in imported, backend
        assert install_hint(backend) == f'pip install "genscene[{backend.extra}]"'
    # no backend of a feature genscene does not have
    modules = {b.module for b in BACKENDS}
    assert not modules & {"mamba_ssm", "peft"}


def test_doctor_prints_the_install_command_of_a_missing_backend(monkeypatch):
    from genscene.commands import doctor as doctor_module

    real = doctor_module._version
    monkeypatch.setattr(doctor_module, "_version", lambda name: None if name == "pycolmap" else real(name))
    result = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "pycolmap" in line)
    assert "not installed" in line and 'pip install "genscene[colmap]"' in line
