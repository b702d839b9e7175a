"""The `sop` command: init, validate, help, and errors without tracebacks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sopkit.cli import main
from sopkit.data import load_folder, write_csv_folder


def test_validate_demo_prints_a_summary(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside a workspace
    assert main(["validate", "demo"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Data source: demo\n")
    assert "Data source demo (seed 7): valid." in out
    assert "160 SKUs" in out
    assert "4 families, 3 regions" in out
    assert "history 2022-11 to 2026-10 (48 months); next cycle 2026-11" in out
    assert "sales_history" in out
    assert "order_lines" in out


def test_the_demo_is_used_only_when_asked_for(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside a workspace, no source given
    assert main(["validate"]) == 1
    err = capsys.readouterr().err
    assert "no data source given and no workspace here" in err
    assert "`sop validate demo`" in err


def test_validate_into_a_closed_pipe_is_quiet_and_succeeds(tmp_path):
    """`sop validate demo | head -1`: no BrokenPipeError, and valid data exits 0."""
    sop = Path(sys.executable).with_name("sop")
    res = subprocess.run(
        f"{sop} validate demo | head -1; echo status=${{PIPESTATUS[0]}}",
        shell=True, executable="/bin/bash", capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert res.stdout.splitlines() == ["Data source: demo", "status=0"]
    assert res.stderr == ""


def test_a_folder_that_cannot_be_written_ends_in_a_sentence(tmp_path, capsys, monkeypatch):
    ws = tmp_path / "ws"
    assert main(["init", str(ws)]) == 0
    (ws / "blocked").write_text("a file where the reports folder should be")
    monkeypatch.chdir(ws)
    capsys.readouterr()
    assert main(["run", "-p", "reports_dir", "blocked/reports"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Not a directory: ")
    assert "blocked" in err
    assert "Traceback" not in err


def test_validate_broken_folder_lists_every_problem(tiny_demo, tmp_path, capsys):
    write_csv_folder(tiny_demo, tmp_path)
    products = pd.read_csv(tmp_path / "products.csv", dtype=str, keep_default_na=False)
    products.loc[2, "unit_price"] = "n/a"
    products = pd.concat([products, products.iloc[[3]]], ignore_index=True)
    products.to_csv(tmp_path / "products.csv", index=False)
    routings = pd.read_csv(tmp_path / "routings.csv", dtype=str)
    routings.loc[0, "resource"] = "Laser"
    routings.to_csv(tmp_path / "routings.csv", index=False)
    (tmp_path / "budget.csv").write_text("family,month,revenue\nKettles,2026/11,100\n")

    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: ")
    assert err.startswith("error: 4 problems in the input data")
    for needle in (
        "products.csv row 4, column unit_price: got 'n/a'; expected a number",
        f"products.csv row {len(products) + 1}, column sku: got '{products.loc[3, 'sku']}'; "
        "expected each sku only once (first seen on row 5)",
        "routings.csv row 2, column resource: got 'Laser'; expected a resource that exists in resources.csv",
        "budget.csv row 2, column month: got '2026/11'; expected a month written YYYY-MM",
        "Nothing was run.",
    ):
        assert needle in err, err


def test_console_script_exits_nonzero_without_traceback(tmp_path):
    """The installed `sop` command, as a user runs it."""
    sop = shutil.which("sop", path=str(Path(sys.executable).parent))
    assert sop, "the console script `sop` is installed with the package"
    (tmp_path / "products.csv").write_text("sku,description\nA,Kettle\n")
    res = subprocess.run([sop, "validate", str(tmp_path)], capture_output=True, text=True)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert "products.csv, column family: expected a column named 'family'" in res.stderr
    assert "sales_history: expected the table sales_history" in res.stderr


def test_init_writes_a_workspace_that_validates(tmp_path, capsys, monkeypatch):
    ws = tmp_path / "acme"
    assert main(["init", str(ws), "--seed", "11"]) == 0
    assert "Next: cd" in capsys.readouterr().out
    for path in ("parameters/default.yaml", "parameters/scenarios.yaml", "data/products.csv",
                 "notebooks/01_product_review.ipynb", "notebooks/05_executive_review.ipynb",
                 "reports/README.md"):  # fmt: skip
        assert (ws / path).is_file(), path
    params = yaml.safe_load((ws / "parameters" / "default.yaml").read_text())
    assert params["data"]["source"] == "data"
    assert params["data"]["demo_seed"] == 11
    assert "# months to plan" in (ws / "parameters" / "default.yaml").read_text()  # comments kept
    monkeypatch.chdir(ws / "notebooks")  # the workspace is found from a subfolder too
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Data source: data\n")
    assert "Data source " + str(ws / "data") in out
    assert len(load_folder(ws / "data").products) == 160
    # a second init does not overwrite
    assert main(["init", str(ws)]) == 1
    assert "exists and is not empty" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["init", "validate", "run"])
def test_help_has_examples(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert f"sop {command}" in out


def test_unknown_stage_and_bad_parameter_are_clear(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    assert main(["run", "--only", "planning"]) == 1
    assert "unknown stage 'planning'; the stages are 1 (product_review)" in capsys.readouterr().err
    assert main(["run", "-p", "horizn", "12"]) == 1
    assert "unknown parameter(s): 'horizn' (did you mean 'horizon'?)" in capsys.readouterr().err
    assert main(["run", "-p", "horizon", "twelve"]) == 1
    assert "horizon: Input should be a valid integer" in capsys.readouterr().err
    assert main(["run", "--cycle", "../../etc"]) == 1
    assert "cycle: expected a month written YYYY-MM" in capsys.readouterr().err


def test_validate_in_a_workspace_with_broken_parameters_says_so(tmp_path, capsys, monkeypatch):
    ws = tmp_path / "ws"
    assert main(["init", str(ws)]) == 0
    params = ws / "parameters" / "default.yaml"
    params.write_text(params.read_text().replace("horizon: 18", "horizon: eighteen"))
    monkeypatch.chdir(ws)
    capsys.readouterr()
    assert main(["validate"]) == 1
    err = capsys.readouterr().err
    assert "horizon: Input should be a valid integer" in err
    assert "default.yaml" in err


def test_validate_a_semicolon_csv_says_how_to_save_it(tiny_demo, tmp_path, capsys):
    write_csv_folder(tiny_demo, tmp_path)
    products = pd.read_csv(tmp_path / "products.csv", dtype=str, keep_default_na=False)
    products.to_csv(tmp_path / "products.csv", index=False, sep=";")
    inventory = pd.read_csv(tmp_path / "inventory.csv", dtype=str, keep_default_na=False)
    inventory.loc[0, "sku"] = "Bouilloire électrique"
    inventory.to_csv(tmp_path / "inventory.csv", index=False, encoding="latin-1")

    assert main(["validate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: ")
    assert (
        "products.csv looks separated by ';': save it as comma-separated CSV "
        '(in Excel: "CSV UTF-8 (Comma delimited)")'
    ) in err
    assert 'inventory.csv is not UTF-8 text: save it as "CSV UTF-8"' in err


def test_p_values_are_not_read_by_yaml_rules(tmp_path, capsys, monkeypatch):
    """`-p horizon true` is not 1, and `-p scenario no` is the scenario named "no"."""
    from sopkit.cli import _parse_assignments

    assert _parse_assignments([["scenario", "no"], ["horizon", "12"]]) == {
        "scenario": "no",
        "horizon": "12",
    }
    assert _parse_assignments([["abc_thresholds", "[0.7, 0.9]"]]) == {"abc_thresholds": [0.7, 0.9]}
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    assert main(["run", "-p", "horizon", "true"]) == 1
    assert "horizon: Input should be a valid integer" in capsys.readouterr().err


def test_a_parameters_file_not_in_utf8_ends_in_a_sentence(tmp_path, capsys, monkeypatch):
    ws = tmp_path / "ws"
    assert main(["init", str(ws)]) == 0
    with (ws / "parameters" / "default.yaml").open("ab") as f:
        f.write("# pr\xe9vision\n".encode("latin-1"))
    monkeypatch.chdir(ws)
    capsys.readouterr()
    assert main(["validate"]) == 1
    err = capsys.readouterr().err
    assert "default.yaml is not UTF-8 text" in err
    assert "Traceback" not in err


def test_init_force_on_a_workspace_refreshes_notebooks_and_keeps_the_data(tmp_path, capsys):
    ws = tmp_path / "ws"
    assert main(["init", str(ws)]) == 0
    (ws / "data" / "products.csv").write_text("mine\n")
    (ws / "parameters" / "default.yaml").write_text("# mine\n")
    (ws / "notebooks" / "03_supply_planning.ipynb").write_text("{ broken")
    capsys.readouterr()
    assert main(["init", str(ws), "--force"]) == 0
    assert "kept as they were: parameters, reports/README.md, data" in capsys.readouterr().out
    assert (ws / "data" / "products.csv").read_text() == "mine\n"
    assert (ws / "parameters" / "default.yaml").read_text() == "# mine\n"
    assert (ws / "notebooks" / "03_supply_planning.ipynb").read_text().startswith("{\n")


def test_a_notebook_that_is_not_json_is_named(tmp_path, capsys, monkeypatch):
    ws = tmp_path / "ws"
    assert main(["init", str(ws)]) == 0
    (ws / "notebooks" / "03_supply_planning.ipynb").write_text("<<<<<<< HEAD\n")
    monkeypatch.chdir(ws)
    capsys.readouterr()
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "03_supply_planning.ipynb cannot be read as a notebook" in err
    assert "sop init --force ." in err
    assert "Traceback" not in err


def test_a_missing_scenarios_file_stops_the_run(tmp_path, capsys, monkeypatch):
    ws = tmp_path / "ws"
    assert main(["init", str(ws)]) == 0
    (ws / "parameters" / "scenarios.yaml").unlink()
    monkeypatch.chdir(ws)
    capsys.readouterr()
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "scenarios.yaml does not exist" in err
    assert not (ws / "reports" / "2026-11").exists()


@pytest.mark.parametrize(
    ("reports_dir", "message"),
    [
        ("", "is the workspace itself"),
        (".", "is the workspace itself"),
        ("/", "is the root of the filesystem"),
        ("data/reports", "is inside the data folder"),
        ("../elsewhere", "points outside the workspace"),
    ],
)
def test_reports_dir_must_be_a_folder_of_its_own(
    tmp_path, capsys, monkeypatch, reports_dir, message
):
    ws = tmp_path / "ws"
    assert main(["init", str(ws)]) == 0
    monkeypatch.chdir(ws)
    capsys.readouterr()
    assert main(["run", "-p", "reports_dir", reports_dir]) == 1
    assert message in capsys.readouterr().err


def test_the_cycle_is_given_once(capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    assert main(["run", "--cycle", "2026-10", "-p", "cycle", "2026-11"]) == 1
    assert "--cycle 2026-10 and -p cycle 2026-11 disagree" in capsys.readouterr().err


def test_validate_lists_warnings_grouped_and_capped(tiny_demo, tmp_path, capsys):
    """Twelve warnings of one kind: the first SHOW_PER_KIND, then a count, as for problems."""
    from sopkit.errors import DataValidationError

    write_csv_folder(tiny_demo, tmp_path)
    (tmp_path / "budget.csv").unlink()  # it refers to the families renamed below
    (tmp_path / "sales_inputs.csv").unlink(missing_ok=True)
    products = pd.read_csv(tmp_path / "products.csv", dtype=str, keep_default_na=False)
    products["family"] = [f"Fam{i // 2}" if i % 2 else f"FAM{i // 2}" for i in range(24)]
    products.to_csv(tmp_path / "products.csv", index=False)
    sales = pd.read_csv(tmp_path / "sales_history.csv", dtype=str, keep_default_na=False)
    sales.rename(columns={"qty": "QTY"}).to_csv(tmp_path / "sales_history.csv", index=False)
    assert main(["validate", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "13 warnings (these alone would not stop a run):\n" in out
    assert out.count("differ only in case") == DataValidationError.SHOW_PER_KIND
    assert "    ... and 2 more like the above\n" in out
    assert (
        "  - sales_history.csv has a header that differs from the data contract's column "
        "names only in case or spacing, read as that column: 'QTY' as qty" in out
    )
