"""Layering: stage functions stay pure, so notebooks, dashboards and benchmarks share them.

The contract of STYLE.md (as kedro does with import-linter): the stage modules never import
the presentation or I/O layers, and never read files themselves.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sopkit"
STAGE_MODULES = ("portfolio", "demand", "supply", "finance", "scenarios", "kpi", "schemas")
FORBIDDEN = ("charts", "dashboard", "decisions", "store", "cycle", "cli", "report", "data")
IO_CALLS = ("read_csv", "read_parquet", "read_excel", "read_sql", "to_csv", "to_parquet", "open")


def _files(module: str) -> list[Path]:
    """The source files of a module or a package."""
    package = PACKAGE / module
    return sorted(package.rglob("*.py")) if package.is_dir() else [PACKAGE / f"{module}.py"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level and path.parent != PACKAGE:
                raise AssertionError(f"{path}: subpackages use absolute imports")
            if node.level:  # from . import x / from .x import y (top-level modules only)
                found.update([module] if module else [a.name for a in node.names])
            elif module.startswith("sopkit"):
                rest = module.removeprefix("sopkit").lstrip(".")
                found.update([rest] if rest else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            found.update(
                a.name.removeprefix("sopkit.") for a in node.names if a.name.startswith("sopkit")
            )
    return {name.split(".")[0] for name in found}


@pytest.mark.parametrize("module", STAGE_MODULES)
def test_stage_modules_do_not_import_io_or_presentation(module):
    imported = set().union(*(_imports(f) for f in _files(module)))
    assert not imported & set(FORBIDDEN), f"sopkit.{module} imports {imported & set(FORBIDDEN)}"


@pytest.mark.parametrize("module", STAGE_MODULES)
def test_stage_modules_do_no_file_io(module):
    calls = {
        (n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", ""))
        for f in _files(module)
        for n in ast.walk(ast.parse(f.read_text()))
        if isinstance(n, ast.Call)
    }
    assert not calls & set(IO_CALLS), f"sopkit.{module} calls {calls & set(IO_CALLS)}"


def test_the_checker_sees_imports():
    """The contract test itself can fail: the runner does import store and report."""
    assert {"store", "report"} <= _imports(PACKAGE / "cycle" / "runner.py")
    assert "store" in set().union(*(_imports(f) for f in _files("cycle")))
