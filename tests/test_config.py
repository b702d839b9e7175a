"""Typed parameters: the shipped files load, and every mistake gets a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from sopkit.config import (
    NOTEBOOK_PARAMETERS,
    describe_difference,
    get_scenario,
    hide_password,
    load_scenarios,
    notebook_values,
    parse_month,
    resolve_parameters,
    resolve_run,
    scrub_password,
)
from sopkit.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, text, name="default.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_parameters_load():
    p = resolve_parameters(ROOT / "parameters" / "default.yaml")
    assert p.cycle is None
    assert p.horizon == 18
    assert p.data.source == "demo"
    assert p.portfolio.abc_thresholds == (0.8, 0.95)
    scen = load_scenarios(ROOT / "parameters" / "scenarios.yaml")
    assert "baseline" in scen
    assert scen["demand_upside"].demand_change_pct == 10
    assert scen["capacity_loss"].changes()["capacity_change_pct"] == -15


def test_unknown_key_suggests_the_right_one(tmp_path):
    path = write(tmp_path, "horizon: 12\nportfolio:\n  abc_tresholds: [0.7, 0.9]\n")
    with pytest.raises(
        ConfigError,
        match=r"portfolio.abc_tresholds: unknown setting \(did you mean 'abc_thresholds'\?\)",
    ):
        resolve_parameters(path)


def test_wrong_types_are_all_listed(tmp_path):
    path = write(tmp_path, "horizon: soon\nservice_level: 1.5\ncycle: 2026-13\n")
    with pytest.raises(ConfigError) as info:
        resolve_parameters(path)
    text = str(info.value)
    assert str(path) in text
    assert "3 problem(s)" in text
    assert "horizon: Input should be a valid integer" in text
    assert "'soon'" in text
    assert "service_level: Input should be less than 1" in text
    assert "cycle: expected a month written YYYY-MM" in text


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match=r"parameters file .*nope.yaml does not exist"):
        resolve_parameters(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        resolve_parameters(write(tmp_path, "horizon: [12\n"))
    with pytest.raises(ConfigError, match="must hold a mapping"):
        resolve_parameters(write(tmp_path, "- 1\n- 2\n"))


def test_overrides_go_through_the_schema():
    p = resolve_parameters(None, horizon=6, data_source="data", review_months=None)
    assert (p.horizon, p.data.source, p.portfolio.review_months) == (6, "data", 12)
    with pytest.raises(
        ConfigError, match=r"unknown parameter\(s\): 'horizn' \(did you mean 'horizon'\?\)"
    ):
        resolve_parameters(None, horizn=6)
    with pytest.raises(
        ConfigError, match=r"(?s)with horizon='six'.*horizon: Input should be a valid integer"
    ):
        resolve_parameters(None, horizon="six")


def test_notebook_values_cover_every_parameter():
    values = notebook_values(resolve_parameters(None, review_months=9))
    assert set(values) == set(NOTEBOOK_PARAMETERS)
    assert values["review_months"] == 9
    assert values["data_source"] == "demo"


def test_scenarios_errors(tmp_path):
    path = write(
        tmp_path,
        "scenarios:\n  up:\n    demand_change: 10\n  down:\n    demand_change_pct: -120\n",
        "scenarios.yaml",
    )
    with pytest.raises(ConfigError) as info:
        load_scenarios(path)
    text = str(info.value)
    assert "scenarios.up.demand_change: unknown setting (did you mean 'demand_change_pct'?)" in text
    assert "scenarios.down.demand_change_pct: Input should be greater than or equal to -100" in text
    ok = load_scenarios(write(tmp_path, "scenarios:\n  base: {}\n", "s2.yaml"))
    with pytest.raises(
        ConfigError, match=r"scenario .upside. is not in scenarios\.yaml; there are: base"
    ):
        get_scenario(ok, "upside")


@pytest.mark.parametrize("bad", ["2026-1", "26-11", "2026-00", "../2026-11", 202611])
def test_parse_month_rejects(bad):
    with pytest.raises(ConfigError, match="must be a month written YYYY-MM"):
        parse_month(bad, "cycle")


def test_threshold_order_is_checked_when_the_file_is_loaded(tmp_path):
    """Cross-field rules live in the typed model: a bad file fails at load, not in stage 1."""
    path = write(
        tmp_path,
        "data: {source: demo}\nportfolio:\n  abc_thresholds: [0.95, 0.8]\n"
        "  xyz_thresholds: [1.0, 0.5]\n  decline_threshold: 0.1\n",
    )
    with pytest.raises(ConfigError) as info:
        resolve_parameters(path)
    text = str(info.value)
    assert "3 problem(s)" in text
    assert "portfolio.abc_thresholds: expected two increasing cumulative revenue shares" in text
    assert "got [0.95, 0.8]" in text
    assert "portfolio.xyz_thresholds: expected two increasing coefficients of variation" in text
    assert "portfolio.decline_threshold: Input should be less than 0" in text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (".inf", "Input should be a finite number"),
        ("5000", "Input should be less than or equal to 1000"),
        ("-150", "Input should be greater than or equal to -100"),
    ],
)
def test_scenario_changes_are_bounded(tmp_path, value, message):
    path = write(tmp_path, f"scenarios:\n  s:\n    demand_change_pct: {value}\n", "scenarios.yaml")
    with pytest.raises(ConfigError, match=message):
        load_scenarios(path)


def test_a_file_without_a_data_source_is_refused_with_its_other_problems(tmp_path):
    path = write(tmp_path, "horizon: soon\n")
    with pytest.raises(ConfigError) as info:
        resolve_parameters(path)
    text = str(info.value)
    assert "horizon: Input should be a valid integer" in text
    assert "data.source: the file does not say where the input data is" in text
    # an override that says where the data is is enough
    assert resolve_parameters(write(tmp_path, "horizon: 6\n"), data_source="data").horizon == 6


def test_any_setting_can_be_overridden_by_name_or_dotted_path():
    p = resolve_parameters(None, service_level=0.9, **{"finance.summary_months": 3})
    assert (p.service_level, p.finance.summary_months) == (0.9, 3)
    assert NOTEBOOK_PARAMETERS["top_bottlenecks"] == "supply.top_bottlenecks"
    assert NOTEBOOK_PARAMETERS["data_source"] == "data.source"


def test_the_run_identity_ignores_locations_and_names_differences(tmp_path):
    base = resolve_run(None)
    moved = resolve_run(None, reports_dir="elsewhere", data_source="erp.xlsx")
    assert moved.hash == base.hash, "where things are is not what the plan is"
    other = resolve_run(None, horizon=6, scenario=None)
    assert other.hash != base.hash
    assert describe_difference(other.identity(), base.identity()) == ["horizon: 6 here, 18 there"]
    described = resolve_run(None)
    described.scenarios["baseline"] = described.scenarios["baseline"].model_copy(
        update={"description": "another text"}
    )
    assert described.hash != base.hash, "stage 4 shows the description: it is part of the plan"
    assert base.with_cycle("2026-11").hash != base.hash
    # the record written into a cycle folder resolves to the very same set
    record = base.with_cycle("2026-11").write(tmp_path / "cycle")
    assert resolve_run(record).hash == base.with_cycle("2026-11").hash
    assert resolve_run(record).scenarios.keys() == base.scenarios.keys()


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        (
            "postgresql+psycopg://planner:S3c@ret@db:5432/erp",
            "postgresql+psycopg://planner:***@db:5432/erp",
        ),
        ("postgresql://u:p/w@h/db", "postgresql://u:***@h/db"),
        ("postgresql://planner:S3cretPW@[::1/erp", "postgresql://planner:***@[::1/erp"),
        ("postgresql://planner@db/erp", "postgresql://planner@db/erp"),
        ("sqlite:///erp.db", "sqlite:///erp.db"),
        ("data", "data"),
    ],
)
def test_a_password_is_hidden_whole(source, shown):
    assert hide_password(source) == shown


def test_a_drivers_message_loses_every_piece_of_the_password():
    url = "postgresql://planner:S3c@retPW@127.0.0.1:1/erp"
    said = "failed to resolve host 'retPW@127.0.0.1': S3c@retPW"
    assert scrub_password(said, url) == "failed to resolve host '***@127.0.0.1': ***"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"service_level": 0.4}, "service_level: Input should be greater than or equal to 0.5"),
        ({"supply.solver": "OSQP"}, "not an installed cvxpy solver of linear programs"),
        ({"supply.unmet": "maybe"}, "supply.unmet: Input should be 'backlog' or 'lost'"),
    ],
)
def test_supply_settings_are_checked_before_any_stage(override, message):
    with pytest.raises(ConfigError, match=message):
        resolve_parameters(None, **override)


@pytest.mark.parametrize(
    ("address", "kept"),
    [
        ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"),
        ("  tls://scheduler.example.com:8786 ", "tls://scheduler.example.com:8786"),
        ("10.0.0.5:8786", "10.0.0.5:8786"),
        ("tcp://[::1]:8786", "tcp://[::1]:8786"),
        ("inproc://10.0.0.5/4242/1", "inproc://10.0.0.5/4242/1"),
        ("", None),
        (None, None),
    ],
)
def test_a_dask_scheduler_address_is_kept_and_empty_means_this_machine(address, kept):
    p = resolve_parameters(None, scheduler=address)
    assert p.demand.scheduler == kept
    assert NOTEBOOK_PARAMETERS["scheduler"] == "demand.scheduler"
    assert resolve_parameters(ROOT / "parameters" / "default.yaml").demand.scheduler is None


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("10.0.0.5", r"demand\.scheduler: expected a Dask scheduler address such as tcp://"),
        ("tcp://10.0.0.5", r"demand\.scheduler: .*got 'tcp://10\.0\.0\.5'$"),
        ("ftp://10.0.0.5:8786", r"demand\.scheduler: .*schemes: tcp://, tls://"),
        ("tcp://10.0.0.5:0", r"demand\.scheduler: .*got 'tcp://10\.0\.0\.5:0'"),
        ("http://10.0.0.5:8787/status", r"a web address \(the dashboard's\?\).*port 8786"),
        (8786, r"demand\.scheduler: .*got 8786"),
    ],
)
def test_a_malformed_scheduler_address_is_refused_naming_the_key(tmp_path, address, message):
    path = write(tmp_path, f"data:\n  source: demo\ndemand:\n  scheduler: {address}\n")
    with pytest.raises(ConfigError, match=message):
        resolve_parameters(path)


def test_the_scheduler_is_where_the_forecast_runs_not_what_the_plan_is():
    base = resolve_run(None)
    assert resolve_run(None, scheduler="tcp://10.0.0.5:8786").hash == base.hash


def test_the_levels_above_sku_x_region_have_their_own_candidates():
    """demand.level_models: by default the SKU x region candidates without ARIMA (its
    search was three quarters of the levels' time; MinT as accurate without it on the
    demo's backtest); checked like demand.models."""
    from sopkit.config import resolve_run

    demand_params = resolve_run(None).params.demand
    assert "arima" in demand_params.models
    assert demand_params.level_models == ["seasonal_naive", "ets", "theta", "ets+theta"]
    with pytest.raises(ConfigError, match=r"demand\.level_models: expected unknown model"):
        resolve_run(None, level_models=["nope"])
