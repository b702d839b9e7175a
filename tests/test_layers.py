"""Layering: stage functions stay pure, so notebooks, dashboards and benchmarks share them.

The contract of STYLE.md (as kedro does with import-linter): the stage modules never import
the presentation or I/O layers, and never read files themselves.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sopkit"
STAGE_MODULES = ("portfolio", "demand", "supply", "finance", "scenarios", "kpi")
FORBIDDEN = ("charts", "dashboard", "store", "cycle", "cli", "report", "data")
IO_CALLS = ("read_csv", "read_parquet", "read_excel", "read_sql", "to_csv", "to_parquet", "open")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # from . import x / from .x import y
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
    imported = _imports(PACKAGE / f"{module}.py")
    assert not imported & set(FORBIDDEN), f"sopkit.{module} imports {imported & set(FORBIDDEN)}"


@pytest.mark.parametrize("module", STAGE_MODULES)
def test_stage_modules_do_no_file_io(module):
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    calls = {
        (n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", ""))
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
    }
    assert not calls & set(IO_CALLS), f"sopkit.{module} calls {calls & set(IO_CALLS)}"


def test_the_checker_sees_imports():
    """The contract test itself can fail: cycle.py does import store."""
    assert "store" in _imports(PACKAGE / "cycle.py")
