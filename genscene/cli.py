"""The ``genscene`` command. Sub-commands live in ``genscene.commands`` and import heavy deps lazily."""

from __future__ import annotations

import sys

import typer

from genscene.commands import doctor, reconstruct, render, train, trajectory
from genscene.commands import worlds as worlds_cmd
from genscene.errors import InputError

app = typer.Typer(help="genscene: generative 3D scene reconstruction.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
app.command("doctor")(doctor.doctor)
app.command("train")(train.train)
app.command("reconstruct")(reconstruct.reconstruct)
app.add_typer(trajectory.app, name="trajectory")
app.command("render")(render.render)
app.add_typer(worlds_cmd.app, name="worlds")


@app.callback()
def _root() -> None:
    """genscene: generative 3D scene reconstruction."""


def main() -> None:
    """Entry point: bad input becomes one line on stderr and exit status 2."""
    try:
        app()
    except InputError as err:
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
