"""The ``genscene`` command. Sub-commands live in ``genscene.commands`` and import heavy deps lazily."""

from __future__ import annotations

import sys

import typer

from genscene.commands import (
    debug_enabled,
    doctor,
    generate,
    passes_through,
    reconstruct,
    render,
    report,
    scene,
    set_debug,
    train,
    trajectory,
    view,
)
from genscene.commands import worlds as worlds_cmd
from genscene.limits import set_max_memory

app = typer.Typer(help="genscene: generative 3D scene reconstruction.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
app.command("doctor")(doctor.doctor)
app.command("train")(train.train)
app.command("reconstruct")(reconstruct.reconstruct)
app.command("generate")(generate.generate)
app.command("interpolate")(generate.interpolate)
app.command("scene")(scene.scene)
app.add_typer(trajectory.app, name="trajectory")
app.command("render")(render.render)
app.add_typer(worlds_cmd.app, name="worlds")
app.command("view")(view.view)


def _show_version(value: bool) -> None:
    if value:
        import genscene

        typer.echo(f"genscene {genscene.__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help="Print genscene's version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of a failure (also GENSCENE_DEBUG=1)."),
    max_memory: float | None = typer.Option(None, "--max-memory", metavar="GB",
                                            help="Memory a request may use (default: what is available now; "
                                                 "also GENSCENE_MAX_MEMORY_GB)."),
) -> None:
    """genscene: generative 3D scene reconstruction."""
    set_debug(debug)
    set_max_memory(max_memory)


USAGE_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
"""The usage error of the click that typer runs on (recent typer vendors its own click)."""


def main() -> None:
    """Entry point: every failure is one line on stderr: bad input (a bad option value included) exits with
    status 2, an internal error with 1; ``--debug`` or ``GENSCENE_DEBUG=1`` shows the traceback instead."""
    try:
        code = app(prog_name="genscene", standalone_mode=False)
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
    except Exception as err:  # raised outside a command's own boundary (one_line_errors)
        if passes_through(err) or debug_enabled():
            raise
        sys.exit(report(err))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
