"""Every command the README shows runs, so the README cannot drift from the CLI.

The README's ``bash`` blocks are parsed; each ``genscene ...`` command runs in a temporary folder (its
``out/`` and inputs relative to it) through the real app, in README order (``render out/street3``
reads what ``worlds sample`` wrote). Slow commands get extra options that shrink them (:data:`TINY`:
the last value of an option wins, so the README's own options stay as written); commands that are not
genscene's are skipped with the reason in :data:`SKIPPED`. The first block's commands run exactly as
written, twice: the README promises they run again as written.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genscene.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"

TINY: dict[tuple[str, ...], list[str]] = {
    ("worlds", "sample"): ["--res", "32", "--frames", "5"],
    ("worlds", "preview"): ["--res", "16", "--families", "room,street", "--seeds", "1"],
    ("render",): ["--frames", "3", "--width", "32", "--height", "24"],
    ("reconstruct",): ["--size", "32"],
    ("generate",): ["--frames", "5", "--steps", "1"],
    ("interpolate",): ["--frames", "5", "--steps", "1"],
    ("scene",): ["--size", "32", "--frames", "5", "--steps", "1", "--fit-steps", "2"],
    ("view",): ["--port", "0", "--timeout", "0.2"],
}
"""Options appended to a README command (keyed by its sub-command words) to keep it to seconds."""
SKIPPED: dict[tuple[str, ...], str] = {
    ("pip", "install"): "installs packages; the test runs in the installed environment",
    ("python", "-m", "pytest"): "runs this test suite itself",
    ("genscene", "reconstruct", "photos/", "--weights"): "needs the released VGGT-1B weights (5 GB, a local file); "
                                                         "tests/models/test_vggt*.py check the model and its loading",
    ("genscene", "train"): "trains for minutes even on the smallest preset (renders a clip bank first); "
                           "tests/train runs the loop on tiny configs",
}
"""Commands (by their first words) not run, and why."""
INPUT_PHOTOS = ("a.jpg", "b.jpg", "c.jpg", "photo.jpg")
"""Photos the README's examples name; made from a procedural world's frames (also copied into ``photos/``)."""
INTRINSICS = {"fx": 40.0, "fy": 40.0, "cx": 16.0, "cy": 16.0, "width": 32, "height": 32}
"""``K.json``, the known intrinsics the README's ``--intrinsics`` example reads."""


def bash_blocks(text: str) -> list[list[list[str]]]:
    """Every ``bash`` block of a Markdown text as its commands, each a list of words (``#`` comments dropped,
    ``a && b`` split into two commands)."""
    blocks = []
    for body in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        commands = []
        for line in body.splitlines():
            words = shlex.split(line, comments=True)
            while words:
                cut = words.index("&&") if "&&" in words else len(words)
                commands.append(words[:cut])
                words = words[cut + 1:]
        blocks.append(commands)
    return blocks


def skip_reason(words: list[str]) -> str | None:
    return next((why for start, why in SKIPPED.items() if tuple(words[:len(start)]) == start), None)


def tiny_options(words: list[str]) -> list[str]:
    sub = [w for w in words[1:3] if not w.startswith("-")]
    return next((extra for key, extra in TINY.items() if tuple(sub[:len(key)]) == key), [])


BLOCKS = bash_blocks(README.read_text())
FIRST = BLOCKS[0]
LATER = [c for block in BLOCKS[1:] for c in block]


def run(words: list[str], extra: list[str] = ()) -> None:
    assert words[0] == "genscene", f"not a genscene command: {shlex.join(words)} (add it to SKIPPED with a reason)"
    result = CliRunner().invoke(app, [*words[1:], *extra])
    assert result.exit_code == 0, f"{shlex.join(words)}: exit {result.exit_code}\n{result.output}"


def test_the_readme_shows_commands_and_names_every_sub_command():
    assert len(FIRST) >= 3 and len(LATER) >= 10
    shown = {tuple(c[1:2]) for c in LATER if c[0] == "genscene" and not c[1].startswith("-")}
    registered = {(c.name,) for c in app.registered_commands} | {(g.name,) for g in app.registered_groups}
    assert shown == registered, "the Commands block and the CLI disagree"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A working folder with the photos the README names (frames of a tiny procedural world)."""
    path = tmp_path_factory.mktemp("readme")
    result = CliRunner().invoke(app, ["worlds", "sample", "--family", "room", "--seed", "5", "--res", "32",
                                      "--frames", "5", "-o", str(path / "world")])
    assert result.exit_code == 0, result.output
    (path / "photos").mkdir()
    for i, name in enumerate(INPUT_PHOTOS):
        frame = np.asarray(Image.open(path / "world" / "frames" / f"{i:05d}.png"))
        Image.fromarray(frame).save(path / name, quality=95)
        Image.fromarray(frame).save(path / "photos" / name, quality=95)
    (path / "K.json").write_text(json.dumps(INTRINSICS))
    return path


@pytest.mark.parametrize("words", LATER, ids=[" ".join(c[:3]) for c in LATER])
def test_every_command_of_the_readme_runs(words, folder, monkeypatch):
    why = skip_reason(words)
    if why:
        pytest.skip(why)
    monkeypatch.chdir(folder)
    run(words, tiny_options(words))
    for word in words:  # whatever it names as its output now exists
        if word.startswith(("out/", "scene/")):
            assert (folder / word).exists(), word


@pytest.mark.slow
def test_the_first_command_runs_twice_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runnable = [c for c in FIRST if not skip_reason(c)]
    assert [c[:2] for c in runnable] == [["genscene", "worlds"], ["genscene", "scene"]]
    for attempt in range(2):
        for words in runnable:
            run(words)
    assert (tmp_path / "out" / "room_scene" / "gaussians.ply").exists()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["room", "room_scene"]  # no leftovers
