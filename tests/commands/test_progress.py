"""The progress line: each phase is drawn on a terminal with the elapsed time, and nothing is left behind."""

import io

from rich.console import Console
from typer.testing import CliRunner

from genscene.cli import app
from genscene.commands.progress import phases


def test_phases_draws_each_phase_on_a_terminal_and_clears_it():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    with phases("rendering 17 frames", console=console) as phase:
        phase("writing the scene folder")
    text = out.getvalue()
    assert "rendering 17 frames" in text and "writing the scene folder" in text
    assert "0:00:00" in text  # the elapsed-time column
    assert "\x1b[2K" in text  # transient: the line is erased at the end


def test_commands_print_only_their_summary_when_not_on_a_terminal(tmp_path):
    result = CliRunner().invoke(app, ["worlds", "sample", "--res", "16", "--frames", "2", "-o", str(tmp_path / "w")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [f"wrote {tmp_path / 'w'} (2 frames, 16x16, room seed 0, orbit)"]
