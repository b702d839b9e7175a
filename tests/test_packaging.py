"""The project's promises about itself: dependencies, set-up commands, clean notebooks."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest
import tomllib
import yaml
from packaging.requirements import Requirement

from sopkit.config import LOCATION_PARAMETERS, NOTEBOOK_PARAMETERS
from sopkit.store import STAGES

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# conda names that differ from PyPI's
CONDA_ALIASES: dict[str, str] = {}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {}
    for spec in project["dependencies"] + project["optional-dependencies"]["test"]:
        req = Requirement(spec)
        wanted[_norm(req.name)] = req.specifier
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    have = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and not dep.startswith(("python", "pip")):
            req = Requirement(dep)
            have[_norm(CONDA_ALIASES.get(req.name, req.name))] = req.specifier
    assert have == wanted


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", readme, flags=re.S)
    setup, tests = blocks[0].strip(), blocks[1].strip()
    assert "pip install" in setup
    assert setup.endswith("sop run")
    assert "pytest" in tests
    assert readme.index(blocks[0]) < readme.index("## ")  # before any other section
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci, "the CI script must run the README's test command verbatim"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebooks_carry_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{path.name}: strip outputs"
            assert cell.execution_count is None, f"{path.name}: strip execution counts"
    assert "widgets" not in nb.metadata, f"{path.name}: strip widget state"


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.id)
def test_each_stage_notebook_declares_typed_parameters(stage):
    path = ROOT / "notebooks" / stage.notebook
    declared = pm.inspect_notebook(str(path))
    assert {"cycle", "params_file", "cycle_dir", "run_id", "horizon", "scenario"} <= set(declared)
    assert set(declared) <= set(NOTEBOOK_PARAMETERS) | set(LOCATION_PARAMETERS)
    for name, info in declared.items():
        assert info["help"], f"{stage.notebook}: parameter {name} needs a comment"
        assert info["inferred_type_name"] != "None", f"{stage.notebook}: annotate {name}"
        if name in NOTEBOOK_PARAMETERS:  # the default must mean "as in the parameters file"
            assert info["default"] == "None", f"{stage.notebook}: {name} should default to None"
    text = path.read_text()
    assert "def " not in text.replace("undefined", ""), "functions belong in sopkit"
    assert "reports/" not in text, "notebooks hold no literal paths"


@pytest.mark.slow
def test_the_wheel_ships_everything_sop_init_copies(tmp_path):
    """A wheel install (not editable) has the notebooks, parameters and reports/README.md."""
    import subprocess
    import sys
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    wheel = next(tmp_path.glob("sopkit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("reports/README.md", "parameters/default.yaml", "parameters/scenarios.yaml",
                    *(f"notebooks/{s.notebook}" for s in STAGES)):  # fmt: skip
        assert f"sopkit/_workspace/{shipped}" in names, shipped
    assert "sopkit/templates/index.html.j2" in names


def test_the_readme_table_of_artifacts_is_the_contract():
    """sopkit.schemas is the one source: the README's table is generated from it."""
    from sopkit.schemas import ARTIFACTS, markdown_table

    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme, "regenerate with sopkit.schemas.markdown_table()"
    for artifact in ARTIFACTS.values():
        for col in artifact.columns:
            assert col.meaning, f"{artifact.name}.{col.name} has no meaning"
    # the table can fail: a column renamed in the contract is no longer in the README
    assert "| `portfolio` | SKU" in readme
