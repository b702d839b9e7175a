"""Typed parameters: the shipped files load, and every mistake gets a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from sopkit.config import (
    NOTEBOOK_PARAMETERS,
    get_scenario,
    load_scenarios,
    notebook_values,
    parse_month,
    resolve_parameters,
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
