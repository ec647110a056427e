"""Imports run one way: down the floors of the layout, never up or sideways (docs/architecture.md,
"Packages, lowest first", lists the same floors; a test below keeps the two equal).

A package may import from itself and from packages on lower floors. Lazy imports inside functions
count too: they still make the lower floor depend on the upper one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "genscene"

FLOORS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "atomic", "config_io", "rotations", "weights", "limits"}),  # ground floor: no genscene imports
    frozenset({"cameras"}),
    frozenset({"geometry"}),
    frozenset({"io"}),
    frozenset({"render"}),
    frozenset({"diffusion"}),
    frozenset({"eval"}),
    frozenset({"worlds"}),
    frozenset({"data"}),
    frozenset({"models"}),
    frozenset({"pipelines"}),
    frozenset({"train"}),  # a stage may evaluate through the pipeline a user runs
    frozenset({"viewer"}),
    frozenset({"commands"}),
    frozenset({"cli", "__init__", "__main__"}),
)
"""Lowest first. Every top-level module or package of ``genscene`` sits on exactly one floor."""

FLOOR_OF = {name: level for level, names in enumerate(FLOORS) for name in names}


def unit_of(path: Path, root: Path = ROOT) -> str:
    """The top-level unit of a file: ``genscene/train/loop.py`` -> ``train``, ``genscene/errors.py`` -> ``errors``."""
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else Path(parts[0]).stem


def imported_units(tree: ast.AST) -> list[tuple[str, int]]:
    """``(unit, line)`` of every ``genscene`` import in a module, at any depth (lazy ones included)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "genscene" else [f"genscene.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found += [(name.split(".")[1], node.lineno) for name in names if name.startswith("genscene.")]
    return found


def violations(root: Path = ROOT) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        unit = unit_of(path, root)
        for target, line in imported_units(ast.parse(path.read_text(), str(path))):
            if target == unit:
                continue
            if FLOOR_OF[target] > FLOOR_OF[unit] or (FLOOR_OF[target] == FLOOR_OF[unit] and FLOOR_OF[unit] > 0):
                out.append(f"{path.relative_to(root.parent)}:{line}: {unit} (floor {FLOOR_OF[unit]}) imports "
                           f"{target} (floor {FLOOR_OF[target]})")
    return out


def test_every_unit_has_a_floor():
    units = {unit_of(p) for p in ROOT.rglob("*.py")}
    assert units <= set(FLOOR_OF), f"give these a floor: {sorted(units - set(FLOOR_OF))}"


def test_no_import_runs_up_a_floor():
    assert violations() == []


def test_the_ground_floor_imports_only_itself():
    for name in FLOORS[0]:
        path = ROOT / f"{name}.py"
        targets = {t for t, _ in imported_units(ast.parse(path.read_text()))}
        assert targets <= FLOORS[0], f"{name}.py imports {sorted(targets - FLOORS[0])}"


def test_the_check_catches_an_upward_import(tmp_path):
    fake = tmp_path / "genscene"
    (fake / "cameras").mkdir(parents=True)
    (fake / "cameras" / "x.py").write_text("def f():\n    from genscene.train.config import TrainConfig\n")
    (fake / "models").mkdir()
    (fake / "models" / "y.py").write_text("from genscene import cameras\nfrom genscene.errors import InputError\n")
    assert violations(fake) == ["genscene/cameras/x.py:2: cameras (floor 1) imports train (floor 11)"]


@pytest.mark.parametrize("floor", range(len(FLOORS)))
def test_floors_are_disjoint(floor):
    for other in range(floor + 1, len(FLOORS)):
        assert not FLOORS[floor] & FLOORS[other]


def test_the_architecture_page_lists_every_package_on_its_floor():
    page = (ROOT.parent / "docs" / "architecture.md").read_text()
    rows = {}
    for line in page.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 3 and cells[1].isdigit():
            rows[int(cells[1])] = {n.strip("`/ ") for n in cells[2].split(",")}
    assert rows == {level: set(names) for level, names in enumerate(FLOORS)}
