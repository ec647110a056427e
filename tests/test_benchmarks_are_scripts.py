"""``benchmarks/`` holds plain scripts: each imports only ``genscene`` and third-party libraries.

Reusable code lives in the package; a benchmark importing a sibling (``from report import emit``,
``import benchmarks.x``) would give that module two identities (script and package).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(BENCHMARKS.glob("*.py"))


def imported_top_level_names(tree: ast.AST) -> set[str]:
    """Top-level module names of every absolute import; relative imports count as ``"."``."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." if node.level else node.module.split(".")[0])
    return names


def test_benchmarks_folder_has_scripts_and_is_not_a_package():
    assert SCRIPTS, f"no scripts under {BENCHMARKS}"
    assert not (BENCHMARKS / "__init__.py").exists()


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_benchmark_imports_no_sibling(script: Path):
    siblings = {p.stem for p in SCRIPTS} | {"benchmarks", "."}
    bad = imported_top_level_names(ast.parse(script.read_text(), filename=str(script))) & siblings
    assert not bad, f"{script.name} imports sibling benchmark module(s) {sorted(bad)}: move shared code into genscene"


def test_the_check_sees_sibling_imports():
    tree = ast.parse("import os\nfrom report import emit\nimport benchmarks.x as y\nfrom . import z\n"
                     "def f():\n    from colmap_baseline import run_colmap\n")
    assert imported_top_level_names(tree) == {"os", "report", "benchmarks", ".", "colmap_baseline"}
