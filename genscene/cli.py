"""The ``genscene`` command. Sub-commands live in ``genscene.commands`` and import heavy deps lazily."""

from __future__ import annotations

import sys

import typer

from genscene.commands import doctor, generate, reconstruct, render, train, trajectory
from genscene.commands import worlds as worlds_cmd
from genscene.errors import InputError

app = typer.Typer(help="genscene: generative 3D scene reconstruction.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
app.command("doctor")(doctor.doctor)
app.command("train")(train.train)
app.command("reconstruct")(reconstruct.reconstruct)
app.command("generate")(generate.generate)
app.command("interpolate")(generate.interpolate)
app.add_typer(trajectory.app, name="trajectory")
app.command("render")(render.render)
app.add_typer(worlds_cmd.app, name="worlds")


@app.callback()
def _root() -> None:
    """genscene: generative 3D scene reconstruction."""


USAGE_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
"""The usage error of the click that typer runs on (recent typer vendors its own click)."""


def main() -> None:
    """Entry point: bad input, a bad option value included, becomes one line on stderr and exit status 2."""
    try:
        code = app(prog_name="genscene", standalone_mode=False)
    except InputError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)
    except USAGE_ERROR as err:  # typer's own validation (ranges, choices, missing arguments)
        if type(err).__name__ == "NoArgsIsHelpError":  # a bare group: its help, as click shows it
            err.show()
            sys.exit(err.exit_code)
        where = err.ctx.command_path if err.ctx else "genscene"
        typer.echo(f"error: {where}: {err.format_message()}".replace("\n", " "), err=True)
        sys.exit(2)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
