"""The executive dashboard's panels, driven as Voila drives them: widget values set, the
re-plan and the cards checked (the browser test of `sop serve` checks the page itself)."""

from __future__ import annotations

import json

import pytest
from test_replan import _inputs

from sopkit.dashboard import CARD_FIGURES, DecisionPanel, ScenarioPanel
from sopkit.decisions import DecisionLog, plan_hash
from sopkit.scenarios import replan


def _card(panel: ScenarioPanel, key: str) -> str:
    text = panel.cards.value
    start = text.index(f'data-kpi="{key}"')
    return text[start : text.index("</div></div>", start)]


def test_the_panel_starts_at_the_plan_and_a_slider_re_plans_through_the_seam():
    panel = ScenarioPanel(_inputs(), months=12)
    assert panel.summary == panel.base_summary
    assert all(f'data-kpi="{k}"' in panel.cards.value for k in CARD_FIGURES)
    assert "as planned" in _card(panel, "revenue")
    assert set(panel.demand) == {"Bikes", "Parts"}
    assert set(panel.capacity) == {"Press", "Lathe"}
    assert panel.material.options == ("(none)", "Steel")
    panel.demand["Parts"].value = 20  # B: 50 a month -> 60, 10 each
    expected = replan(_inputs(), {"family_demand_change_pct": {"Parts": 20}}).summary(12)
    assert panel.summary["revenue"] == pytest.approx(expected["revenue"])
    assert panel.summary["revenue"] == pytest.approx(panel.base_summary["revenue"] + 3 * 10 * 10)
    assert "+300 against the plan" in _card(panel, "revenue")
    assert "Parts +20 %" in panel.cards.value
    assert panel.last_seconds > 0
    # a shortage of steel: A is made from it, so less ships and the fill rate falls
    panel.material.value = "Steel"
    panel.shortage.value = 50
    assert panel.scenario()["material_supplier_change_pct"] == {"Steel": -50.0}
    assert panel.summary["fill_rate"] < panel.base_summary["fill_rate"]
    assert "points against the plan" in _card(panel, "fill_rate")
    panel.back_to_plan()
    assert panel.summary == panel.base_summary


def test_a_change_the_scenario_refuses_is_said_in_the_panel_and_the_plan_stays():
    panel = ScenarioPanel(_inputs(), {"capacity_change_pct": -50})
    before = panel.summary
    panel.capacity["Press"].value = -100  # -50 and -100: -150 %, below what can be lost
    assert 'data-role="error"' in panel.message.value
    assert "resource_capacity_change_pct" in panel.message.value
    assert panel.summary == before
    panel.capacity["Press"].value = -10  # back to a valid change: planned, message gone
    assert panel.message.value == ""
    assert panel.scenario()["resource_capacity_change_pct"] == {"Press": -60.0}


def test_the_decision_panel_records_one_row_for_the_plan_or_the_what_if(tmp_path):
    log = DecisionLog(f"sqlite:///{tmp_path / 'decisions.sqlite'}")
    scen = ScenarioPanel(_inputs())
    panel = DecisionPanel(
        log, "2026-11", scen.base_plan, "baseline",
        lambda: (scen.plan, json.dumps(scen.scenario(), sort_keys=True)),
    )  # fmt: skip
    assert "No decision" in panel.history.value
    assert panel.record() is None  # no name given
    assert 'data-role="error"' in panel.status.value
    assert log.history().empty
    panel.person.value = "Ann Lee"
    row = panel.record()
    assert (row["decision"], row["scenario"]) == ("approve", "baseline")
    base = scen.base_plan
    assert row["plan_hash"] == plan_hash(base.demand_plan, base.supply_plan, base.financials)
    assert len(log.history()) == 1
    assert "Ann Lee" in panel.history.value
    # reject the what-if shown, with a comment
    scen.price.value = 5
    panel.target.value = "what-if"
    panel.decision.value = "reject"
    panel.comment.value = "price rise too risky"
    row = panel.record()
    assert row["scenario"] == "what-if"
    assert json.loads(row["inputs"])["price_change_pct"] == 5.0
    assert row["plan_hash"] != plan_hash(base.demand_plan, base.supply_plan, base.financials)
    assert log.history("2026-11")["decision"].tolist() == ["approve", "reject"]
    log.dispose()


def test_the_other_stages_are_selectable_as_their_reports(tmp_path):
    from sopkit.dashboard import StageReports
    from sopkit.store import CycleStore

    store = CycleStore(tmp_path, "2026-11")
    store.write_manifest({"status": "complete", "stages": {
        "product_review": {"html": "01_product_review.html"},
        "demand_planning": {"html": "02_demand_planning.html"},
        "supply_planning": {},
    }})  # fmt: skip
    (store.root / "01_product_review.html").write_text('<h1>Portfolio</h1><p>"A" & B</p>')
    reports = StageReports(store)  # stage 2's file is missing, stage 3 has none
    assert reports.choice.options == ("(choose a stage)", "1. Product review")
    reports.choice.value = "1. Product review"
    assert 'sandbox=""' in reports.view.value
    assert "&lt;h1&gt;Portfolio&lt;/h1&gt;" in reports.view.value  # escaped into srcdoc
    assert "&quot;A&quot; &amp; B" in reports.view.value
    reports.choice.value = "(choose a stage)"
    assert reports.view.value == ""


def test_the_serve_command_keeps_its_token_off_the_command_line_and_checks_its_options(
    tmp_path,
):
    from sopkit.errors import SopError
    from sopkit.serve import serve_command
    from sopkit.store import CycleStore

    ws = tmp_path / "ws"
    (ws / "parameters").mkdir(parents=True)
    (ws / "parameters" / "default.yaml").write_text("data:\n  source: demo\n")
    (ws / "parameters" / "scenarios.yaml").write_text("scenarios:\n  baseline: {}\n")
    (ws / "notebooks").mkdir()
    (ws / "notebooks" / "05_executive_review.ipynb").write_text("{}")
    with pytest.raises(SopError, match="holds no cycle yet"):
        serve_command(ws)
    for cycle, status in (("2026-10", "complete"), ("2026-11", "partial")):
        CycleStore(ws / "reports", cycle).write_manifest({"status": status, "stages": {}})
    with pytest.raises(SopError, match="the latest cycle, 2026-11, is partial"):
        serve_command(ws)
    cmd, env, _, url = serve_command(ws, cycle="2026-10", token="a&b#c", run_dir=tmp_path / "r")
    assert not any("a&b#c" in part for part in cmd)  # `ps` shows the command line
    assert env["JUPYTER_TOKEN"] == "a&b#c"
    assert url.endswith("/?token=a%26b%23c")
    assert "--Voila.port_retries=0" in cmd
    assert "--strip_sources=True" in cmd
    assert env["SOPKIT_LIVE_CYCLE_DIR"].endswith("2026-10")
    for bad, why in (({"token": " "}, "must not be empty"), ({"port": 0}, "TCP port"),
                     ({"cull_idle": 0}, "60 seconds or more")):  # fmt: skip
        with pytest.raises(SopError, match=why):
            serve_command(ws, cycle="2026-10", run_dir=tmp_path / "r", **bad)
