"""The monthly cycle, run for real: papermill executes the five notebooks on a tiny demo."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml

from sopkit.cli import main
from sopkit.cycle import run_cycle
from sopkit.data import load_folder, write_csv_folder
from sopkit.errors import ConfigError, DataValidationError, StageError
from sopkit.schemas import ARTIFACTS, columns
from sopkit.store import STAGES, CycleStore, PlanArchive

pytestmark = pytest.mark.slow
CYCLE = "2026-11"


def _make_workspace(path: Path, tiny_demo) -> Path:
    assert main(["init", str(path)]) == 0
    shutil.rmtree(path / "data")
    write_csv_folder(tiny_demo, path / "data")
    params = path / "parameters" / "default.yaml"
    params.write_text(params.read_text().replace("horizon: 18 ", "horizon: 12 "))
    return path


@pytest.fixture(scope="module")
def cycle_run(tmp_path_factory, tiny_demo):
    """One complete cycle of the tiny demo, run through `sop run`."""
    ws = _make_workspace(tmp_path_factory.mktemp("ws") / "acme", tiny_demo)
    lines: list[str] = []
    result = run_cycle(workspace=ws, progress=lines.append)
    return ws, result, lines


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cycle_leaves_a_complete_report(cycle_run):
    ws, result, lines = cycle_run
    root = ws / "reports" / CYCLE
    assert result.status == "complete"
    assert result.root == root
    assert result.stages == [s.id for s in STAGES]
    for s in STAGES:
        assert (root / s.notebook).is_file()
        assert (root / f"{s.name}.html").is_file()
    assert (root / "index.html").is_file()
    assert (root / f"plan_{CYCLE}.xlsx").is_file()
    assert [ln for ln in lines if ln.startswith("[")] == [
        f"[{s.number}/5] {s.title} ({s.notebook}) ..." for s in STAGES
    ]
    assert not list(root.rglob(".*tmp*")), "no temporary files are left behind"


def test_manifest_explains_the_run(cycle_run, tiny_demo):
    ws, _, _ = cycle_run
    manifest = json.loads((ws / "reports" / CYCLE / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["cycle"] == CYCLE
    assert manifest["parameters"]["horizon"] == 12
    assert manifest["input_fingerprint"] == tiny_demo.fingerprint()
    assert manifest["input_rows"]["sales_history"] == len(tiny_demo.sales_history)
    assert manifest["versions"]["pandas"] == pd.__version__
    for s in STAGES:
        entry = manifest["stages"][s.id]
        assert entry["status"] == "complete"
        assert entry["duration_s"] > 0
        assert entry["artifacts"] == list(s.writes)
        assert entry["parameters"]["cycle"] == CYCLE


def test_inputs_snapshot_is_what_every_stage_read(cycle_run, tiny_demo):
    ws, _, _ = cycle_run
    root = ws / "reports" / CYCLE
    assert load_folder(root / "inputs").fingerprint() == tiny_demo.fingerprint()
    nb = nbformat.read(root / "03_supply_planning.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    # sop run hands every notebook the cycle's recorded parameters, nothing else
    assert f'params_file = "{root / "parameters.yaml"}"' in injected.source
    assert 'cycle = "2026-11"' in injected.source
    assert "horizon" not in injected.source


def test_every_artifact_says_which_plan_made_it(cycle_run):
    """One parameter set per cycle: every artifact carries the cycle's hash and data."""
    ws, _, _ = cycle_run
    store = CycleStore(ws / "reports", CYCLE)
    manifest = store.read_manifest()
    record = yaml.safe_load(store.record_path.read_text())
    assert record["horizon"] == 12
    assert record["cycle"] == CYCLE
    for name in ARTIFACTS:
        prov = store.provenance(name)
        assert prov["params_hash"] == manifest["params_hash"], name
        assert prov["input_fingerprint"] == manifest["input_fingerprint"], name
        assert prov["run_id"] == manifest["run_id"], name
        assert prov["identity"]["horizon"] == 12


def test_artifacts_have_their_columns_and_sane_values(cycle_run, tiny_demo):
    ws, _, _ = cycle_run
    store = CycleStore(ws / "reports", CYCLE)
    art = {name: store.read(name) for name in ARTIFACTS}
    # a first cycle has no earlier plan to track or to explain a change against
    first_cycle_empty = {"plan_tracking", "plan_changes"}
    for name, df in art.items():
        assert list(df.columns[: len(columns(name))]) == columns(name), name
        assert (len(df) == 0) == (name in first_cycle_empty), name

    # ABC classes split revenue in the stated proportions (80 % / 95 %)
    pf = art["portfolio"].sort_values("revenue", ascending=False)
    total = pf["revenue"].sum()
    a = pf[pf["abc"] == "A"]
    assert a["revenue"].sum() / total >= 0.8
    assert (a["revenue"].sum() - a["revenue"].iloc[-1]) / total < 0.8
    ab = pf[pf["abc"].isin(["A", "B"])]
    assert ab["revenue"].sum() / total >= 0.95
    assert set(pf["sku"]) == set(tiny_demo.products["sku"])

    # the plan covers the horizon and is never negative
    plan = art["demand_plan"]
    months = pd.date_range("2026-11-01", periods=12, freq="MS")
    assert sorted(plan["month"].unique()) == list(months)
    assert (plan["consensus"] >= 0).all()
    assert (art["forecast"]["yhat_lo_80"] <= art["forecast"]["yhat"]).all()

    # capacity used equals the hours of the plan
    sp, cap = art["supply_plan"], art["capacity"]
    hours = sp.merge(tiny_demo.routings, on="sku")
    hours = (hours["production"] * hours["hours_per_unit"]).groupby(hours["resource"]).sum()
    used = cap.groupby("resource")["required_hours"].sum()
    pd.testing.assert_series_equal(used.loc[hours.index], hours, check_names=False, rtol=1e-9)
    assert np.allclose(cap["utilisation"], cap["required_hours"] / cap["available_hours"])
    assert set(cap["resource"]) == set(tiny_demo.resources["resource"])

    # revenue of the plan is what the supply plan ships x price; every unit of demand is
    # shipped or still owed (backlog) or lost, month by month
    prices = tiny_demo.products.set_index("sku")["unit_price"]
    expected = (sp["shipments"] * sp["sku"].map(prices)).sum()
    assert art["financials"]["revenue"].sum() == pytest.approx(expected, rel=1e-9)
    owed = sp.groupby("sku")["backlog"].transform("last") + sp.groupby("sku")["lost"].transform(
        "sum"
    )
    both = sp.groupby("sku")[["demand", "shipments"]].sum()
    assert np.allclose(both["demand"], both["shipments"] + owed.groupby(sp["sku"]).first())
    assert sp["demand"].sum() == pytest.approx(plan["consensus"].sum(), rel=1e-9)
    # the supply model's costs add up, and stage 3 says what binds and what it is worth
    assert (art["supply_costs"]["total"] >= -1e-6).all()
    assert cap["binding"].dtype == bool
    assert (cap.loc[cap["binding"], "shadow_price"] > 0).all()
    scen = art["scenarios"].set_index("scenario")
    assert list(scen.index) == [
        "baseline",
        "demand_upside",
        "capacity_loss",
        "price_increase",
        "supplier_shortage",
    ]
    assert scen.loc["demand_upside", "revenue"] > scen.loc["baseline", "revenue"]
    assert scen.loc["capacity_loss", "available_hours"] == pytest.approx(
        0.85 * scen.loc["baseline", "available_hours"]
    )

    kpis = art["kpis"].set_index("kpi")
    assert 0.5 < kpis.loc["otif", "value"] < 1
    assert kpis.loc["otif", "value"] <= kpis.loc["fill_rate", "value"]


def test_html_reports_hide_code_and_need_no_network(cycle_run):
    ws, _, _ = cycle_run
    root = ws / "reports" / CYCLE
    for s in STAGES:
        html = (root / f"{s.name}.html").read_text()
        assert "open_stage(" not in html, "code cells are left out"
        assert "<svg" in html or "image/svg+xml" in html, f"{s.name}: charts are inline SVG"
        assert "cdnjs" not in html
        assert '<script src="http' not in html
    index = (root / "index.html").read_text()
    for s in STAGES:
        assert f'href="{s.name}.html"' in index
    assert 'data-kpi="otif"' in index
    assert f"plan_{CYCLE}.xlsx" in index


def test_workbook_holds_the_plan_tables(cycle_run):
    ws, _, _ = cycle_run
    sheets = pd.read_excel(ws / "reports" / CYCLE / f"plan_{CYCLE}.xlsx", sheet_name=None)
    assert list(sheets)[:4] == ["README", "kpis", "portfolio", "demand_plan"]
    assert sheets["demand_plan"]["month"].iloc[0] == CYCLE


def test_second_run_is_up_to_date(cycle_run):
    ws, _, _ = cycle_run
    lines: list[str] = []
    result = run_cycle(workspace=ws, progress=lines.append)
    assert result.status == "up to date"
    assert "is up to date" in lines[-1]


@pytest.fixture
def workspace_copy(cycle_run, tmp_path):
    ws, _, _ = cycle_run
    copy = tmp_path / "ws"
    shutil.copytree(ws, copy)
    return copy


def test_changed_parameters_need_force_and_say_what_changed(workspace_copy):
    with pytest.raises(
        StageError,
        match=r"(?s)already holds a complete cycle 2026-11.*portfolio.review_months: 6 here, "
        r"12 there.*Use --force",
    ):
        run_cycle(workspace=workspace_copy, overrides={"review_months": 6}, progress=lambda _: None)


def _break_notebook(ws: Path, name: str = "03_supply_planning.ipynb") -> str:
    nb_path = ws / "notebooks" / name
    original = nb_path.read_text()
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.insert(
        4, nbformat.v4.new_code_cell('raise RuntimeError("no routings for the Laser line")')
    )
    nbformat.write(nb, nb_path)
    return original


def test_a_failed_replacement_leaves_the_complete_cycle_whole(workspace_copy, capsys, monkeypatch):
    """--force on a complete cycle builds aside: a failure changes nothing of the old one."""
    ws = workspace_copy
    root = ws / "reports" / CYCLE
    before = {p.name: _sha(p) for p in sorted(root.rglob("*")) if p.is_file()}
    _break_notebook(ws)
    monkeypatch.chdir(ws)
    assert main(["run", "--force", "-p", "horizon", "6"]) == 1
    err = capsys.readouterr().err
    assert "stage 3 (Supply planning) failed: RuntimeError: no routings for the Laser line" in err
    assert "was left as it was" in err
    assert "Traceback" not in err
    assert {p.name: _sha(p) for p in sorted(root.rglob("*")) if p.is_file()} == before
    failed = ws / "reports" / f".{CYCLE}.failed"
    executed = nbformat.read(failed / "03_supply_planning.ipynb", as_version=4)
    assert any(c.metadata.get("papermill", {}).get("status") == "failed" for c in executed.cells)
    assert not list((ws / "reports").glob(f".{CYCLE}.build-*"))


def test_failed_stage_keeps_earlier_results_and_resumes(tmp_path, tiny_demo, capsys, monkeypatch):
    ws = _make_workspace(tmp_path / "ws", tiny_demo)
    root = ws / "reports" / CYCLE
    original = _break_notebook(ws)
    monkeypatch.chdir(ws)
    assert main(["run"]) == 1
    err = capsys.readouterr().err
    assert "stage 3 (Supply planning) failed: RuntimeError: no routings for the Laser line" in err
    assert "Traceback" not in err

    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["failed_stage"] == "supply_planning"
    assert manifest["stages"]["supply_planning"]["status"] == "failed"
    assert manifest["stages"]["demand_planning"]["status"] == "complete"
    executed = nbformat.read(root / "03_supply_planning.ipynb", as_version=4)
    assert any(c.metadata.get("papermill", {}).get("status") == "failed" for c in executed.cells)
    before = {a: _sha(root / "artifacts" / f"{a}.parquet") for a in ("portfolio", "demand_plan")}
    index = (root / "index.html").read_text()
    assert "failed" in index
    assert 'href="05_executive_review.html"' not in index
    sheets = pd.read_excel(root / f"plan_{CYCLE}.xlsx", sheet_name=None)
    assert "capacity" not in sheets, "the workbook holds only tables of completed stages"
    # a later stage cannot run on the failed stage's artifacts
    assert main(["run", "--only", "4"]) == 1
    assert "needs 'supply_plan' from stage 3 (supply_planning), which is" in (
        capsys.readouterr().err
    )

    # fixed: a plain `sop run` resumes at the failed stage and keeps stages 1-2 as they are
    (ws / "notebooks" / "03_supply_planning.ipynb").write_text(original)
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    assert "Resuming the failed run of cycle 2026-11" in out
    assert "[1/3] Supply planning" in out
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert all(manifest["stages"][s.id]["status"] == "complete" for s in STAGES)
    assert {a: _sha(root / "artifacts" / f"{a}.parquet") for a in before} == before


def test_resume_without_upstream_artifacts_says_what_to_run(tmp_path, tiny_demo):
    ws = _make_workspace(tmp_path / "ws", tiny_demo)
    with pytest.raises(
        StageError,
        match=r"(?s)lacks up-to-date artifacts from earlier stages.*stage 3 \(supply_planning\) "
        r"needs 'demand_plan'.*which is missing.*needs 'portfolio'.*--from 1",
    ):
        run_cycle(workspace=ws, from_stage="3", progress=lambda _: None)


def test_bad_data_stops_before_anything_is_written(tmp_path, tiny_demo):
    ws = _make_workspace(tmp_path / "ws", tiny_demo)
    inv = pd.read_csv(ws / "data" / "inventory.csv")
    inv.loc[0, "on_hand"] = -3
    inv.to_csv(ws / "data" / "inventory.csv", index=False)
    with pytest.raises(DataValidationError, match=r"inventory\.csv row 2, column on_hand"):
        run_cycle(workspace=ws, progress=lambda _: None)
    assert not (ws / "reports" / CYCLE).exists()


def test_only_runs_one_stage(tmp_path, tiny_demo):
    ws = _make_workspace(tmp_path / "ws", tiny_demo)
    result = run_cycle(workspace=ws, only="product_review", progress=lambda _: None)
    assert result.stages == ["product_review"]
    assert result.status == "partial"
    assert (ws / "reports" / CYCLE / "artifacts" / "portfolio.parquet").is_file()
    assert not (ws / "reports" / CYCLE / "artifacts" / "forecast.parquet").exists()


def _browser():
    """Playwright and Debian's chromium; a skip without them (a failure in CI)."""
    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium")
    if chromium is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run must install it")
        pytest.skip("chromium is not installed")
    return playwright, chromium


@pytest.mark.browser
def test_reports_render_offline_in_a_browser(cycle_run):
    """Open the reports in headless Chromium with every network request refused."""
    playwright, chromium = _browser()
    ws, _, _ = cycle_run
    root = ws / "reports" / CYCLE
    blocked: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )  # fmt: skip
        page = browser.new_page()

        def refuse(route):
            if not route.request.url.startswith(("file:", "data:")):
                blocked.append(route.request.url)
                return route.abort()
            return route.continue_()

        page.route("**/*", refuse)
        page.goto((root / "index.html").as_uri())
        assert page.locator(".card").count() >= 8
        page.goto((root / "01_product_review.html").as_uri())
        charts = page.locator("svg.marks, img[src^='data:image/svg+xml']")
        assert charts.count() >= 4
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None
            assert box["width"] > 100
            assert box["height"] > 50
        browser.close()
    assert blocked == [], "reports must not fetch anything from the network"


def test_rerunning_a_stage_makes_later_stages_stale(workspace_copy):
    root = workspace_copy / "reports" / CYCLE
    result = run_cycle(workspace=workspace_copy, only="2", progress=lambda _: None)
    assert result.status == "partial"
    manifest = json.loads((root / "manifest.json").read_text())
    statuses = {k: v["status"] for k, v in manifest["stages"].items()}
    assert statuses == {
        "product_review": "complete",
        "demand_planning": "complete",
        "supply_planning": "stale",
        "reconciliation": "stale",
        "executive_review": "stale",
    }
    assert 'data-kpi="otif"' not in (root / "index.html").read_text()
    with pytest.raises(
        StageError, match=r"needs 'supply_plan' from stage 3 \(supply_planning\), which is stale"
    ):
        run_cycle(workspace=workspace_copy, only="4", progress=lambda _: None)
    assert run_cycle(workspace=workspace_copy, from_stage="3", progress=lambda _: None).status == (
        "complete"
    )


def test_a_partial_run_uses_the_cycles_own_parameters(workspace_copy):
    """--only 3 --scenario capacity_loss on a baseline cycle would mix two plans: refused."""
    with pytest.raises(
        ConfigError,
        match=r"(?s)planned under other parameters.*scenario: 'capacity_loss' here, 'baseline' "
        r"there.*run all stages",
    ):
        run_cycle(
            workspace=workspace_copy, only="3", scenario="capacity_loss", progress=lambda _: None
        )
    with pytest.raises(ConfigError, match=r"finance.summary_months: 3 here, 12 there"):
        run_cycle(
            workspace=workspace_copy, from_stage="4", overrides={"summary_months": 3},
            progress=lambda _: None,
        )  # fmt: skip


def test_reports_are_readable_by_others(cycle_run):
    ws, _, _ = cycle_run
    root = ws / "reports" / CYCLE
    for path in (root / "index.html", root / "manifest.json", root / "01_product_review.html"):
        assert path.stat().st_mode & 0o044 == 0o044, f"{path.name} is not readable by others"


def test_notebooks_run_on_this_python_whatever_kernel_specs_say(workspace_copy, monkeypatch):
    """A user-level `python3` kernel spec for another Python must not be used."""
    decoy = workspace_copy / "jupyter" / "kernels" / "python3"
    decoy.mkdir(parents=True)
    (decoy / "kernel.json").write_text(
        json.dumps({"argv": ["/nonexistent/python3", "-m", "ipykernel_launcher", "-f",
                             "{connection_file}"], "display_name": "other", "language": "python"})
    )  # fmt: skip
    monkeypatch.setenv("JUPYTER_PATH", str(workspace_copy / "jupyter"))
    result = run_cycle(workspace=workspace_copy, only="1", progress=lambda _: None)
    assert result.stages == ["product_review"]


def test_scenario_and_overrides_reach_every_stage(workspace_copy):
    """`sop run --force --scenario capacity_loss -p summary_months 3 -p service_level 0.9`:
    each setting reaches every stage that uses it, and the page agrees with itself."""
    store = CycleStore(workspace_copy / "reports", CYCLE)
    before = store.read("capacity")["available_hours"].sum()
    run_cycle(
        workspace=workspace_copy, scenario="capacity_loss", force=True,
        overrides={"summary_months": 3, "service_level": 0.9}, progress=lambda _: None,
    )  # fmt: skip
    assert store.read("capacity")["available_hours"].sum() == pytest.approx(0.85 * before)
    manifest = store.read_manifest()
    assert manifest["status"] == "complete"
    assert manifest["parameters"]["scenario"] == "capacity_loss"
    hashes = {store.provenance(a)["params_hash"] for a in ARTIFACTS}
    assert hashes == {manifest["params_hash"]}
    kpis = store.read("kpis").set_index("kpi")
    assert kpis.loc["otif", "target"] == pytest.approx(0.9)  # stage 5 took service_level
    fin = store.read("financials")
    first3 = sorted(fin["month"].unique())[:3]
    revenue3 = fin.loc[fin["month"].isin(first3), "revenue"].sum()
    revenue_kpi = next(k for k in kpis.index if "revenue" in k and "budget" not in k)
    planned = kpis.loc[revenue_kpi, "value"]
    assert planned == pytest.approx(revenue3)  # stage 5 sums the window stage 4 sums


def test_a_later_cycle_reads_the_plans_of_earlier_ones(workspace_copy):
    """The plan archive: replay cycle 2026-10 (history before it only), then 2026-11's
    store reads 2026-10's demand plan, supply plan and KPIs back."""
    lines: list[str] = []
    result = run_cycle(workspace=workspace_copy, cycle="2026-10", progress=lines.append)
    assert result.status == "complete"
    assert "Replaying cycle 2026-10 with the history before it only." in lines
    october = CycleStore(workspace_copy / "reports", "2026-10")
    assert october.read_manifest()["history"][1] == "2026-09"
    assert october.read("demand_plan")["month"].min() == pd.Timestamp("2026-10-01")

    archive = PlanArchive(workspace_copy / "reports")
    assert archive.cycles(before="2026-11") == ["2026-10"]
    assert archive.cycles() == ["2026-10", "2026-11"]
    plans = archive.read("demand_plan", before="2026-11")
    assert set(plans["cycle"]) == {"2026-10"}
    assert plans.columns[0] == "cycle"
    assert {"statistical", "adjustment", "consensus"} <= set(plans.columns)
    assert len(archive.read("supply_plan", before="2026-11")) > 0
    assert set(archive.read("kpis", before="2026-11")["kpi"]) >= {"otif", "fill_rate"}
    # a first cycle has no earlier plan: an empty table with the contract's columns
    first = archive.read("demand_plan", before="2026-10")
    assert first.empty
    assert list(first.columns) == ["cycle", *columns("demand_plan")]
    # stage 4 of 2026-11 holds October's plan against what happened, and explains the change
    run_cycle(workspace=workspace_copy, only="4", progress=lambda _: None)
    november = CycleStore(workspace_copy / "reports", "2026-11")
    tracked = november.read("plan_tracking")
    assert set(tracked["cycle"]) == {"2026-10"}
    assert set(tracked["month"]) == {pd.Timestamp("2026-10-01")}  # the one month passed
    assert (tracked["lag"] == 1).all()
    assert tracked["actual_demand"].sum() > 0
    changes = november.read("plan_changes")
    total = changes[changes["level"] == "total"].set_index("part")
    causes = total.drop(index=["previous plan", "current plan"])
    for col in ("units", "revenue"):
        assert total.loc["previous plan", col] + causes[col].sum() == pytest.approx(
            total.loc["current plan", col], rel=1e-9
        )
    assert total.loc["new actuals", "units"] != 0
    # a cycle that is not complete is not a plan of record
    run_cycle(workspace=workspace_copy, cycle="2026-09", only="1", progress=lambda _: None)
    assert archive.cycles(before="2026-11") == ["2026-10"]


def test_an_approved_cycle_is_not_replaced_without_force(workspace_copy, monkeypatch):
    """`sop decide approve`: the decision goes to the log and the index; `sop run` then
    refuses to replace the approved plan and says who approved it when, unless --force;
    `sop promote` makes an approved what-if the plan."""
    from sopkit.decisions import decide_cycle, decision_log
    from sopkit.errors import SopError

    row = decide_cycle("approve", person="Ann Lee", comment="go", workspace=workspace_copy)
    assert (row["cycle"], row["scenario"]) == ("2026-11", "baseline")
    index = workspace_copy / "reports" / "2026-11" / "index.html"
    assert 'data-decision="approve"' in index.read_text()
    assert "Ann Lee" in index.read_text()
    with pytest.raises(
        StageError,
        match=r"cycle 2026-11 was approved by Ann Lee on \d{4}-\d\d-\d\d \d\d:\d\d UTC, "
        r"scenario 'baseline' \(go\).*--force",
    ):
        run_cycle(workspace=workspace_copy, only="4", progress=lambda _: None)
    # nothing to replace: an up-to-date cycle is not refused
    assert run_cycle(workspace=workspace_copy, progress=lambda _: None).status == "up to date"
    with pytest.raises(SopError, match="scenario 'nope' is not among cycle 2026-11's"):
        decide_cycle("approve", person="Ann", scenario="nope", workspace=workspace_copy)
    with pytest.raises(SopError, match="a comment is required to reject"):
        decide_cycle("reject", person="Bo", workspace=workspace_copy)
    # another log named on the command line does not get round the workspace's
    with pytest.raises(StageError, match="was approved by Ann Lee"):
        run_cycle(
            workspace=workspace_copy, only="4", progress=lambda _: None,
            overrides={"decision_log": f"sqlite:///{workspace_copy / 'other.sqlite'}"},
        )  # fmt: skip
    # with --force the same plan is made again: still the approved one
    run_cycle(workspace=workspace_copy, only="4", force=True, progress=lambda _: None)
    assert 'data-role="superseded"' not in index.read_text()
    with pytest.raises(StageError, match="was approved by Ann Lee"):
        run_cycle(workspace=workspace_copy, only="4", progress=lambda _: None)
    # promoting an approved what-if of the dashboard (`sop promote ID`) re-plans the cycle
    # under it: the plan is replaced by the one approved, so the what-if's approval is now
    # the one in force (the baseline's stays in the log, marked as made on another plan)
    from sopkit.config import resolve_run
    from sopkit.cycle.context import load_snapshot
    from sopkit.decisions import approval_of, cycle_plan_hash, scenario_plan_hash, workspace_log
    from sopkit.scenarios import PlanInputs, replan

    store = CycleStore(workspace_copy / "reports", CYCLE)
    manifest = store.read_manifest()
    snapshot = load_snapshot(store.root / "inputs", "", manifest["input_fingerprint"])
    recorded = resolve_run(store.record_path)
    inputs = PlanInputs.from_dataset(
        snapshot, store.read("demand_plan"), accuracy=store.read("accuracy"),
        params=recorded.params,
    )  # fmt: skip
    what_if_plan = replan(inputs, {"demand_change_pct": 20.0}, name="what-if")
    digest = scenario_plan_hash(what_if_plan, inputs.demand_plan)  # as the dashboard does
    assert digest != cycle_plan_hash(store)
    log = workspace_log(workspace_copy)
    what_if = log.record(cycle="2026-11", decision="approve", person="Di Ng", plan_hash=digest,
                         scenario="what-if", inputs={"demand_change_pct": 20.0})  # fmt: skip
    log.dispose()
    monkeypatch.chdir(workspace_copy)
    assert main(["promote", str(what_if["id"])]) == 0
    assert yaml.safe_load(store.record_path.read_text())["scenario"] == f"what_if_{what_if['id']}"
    promoted = store.read_manifest()
    assert promoted["status"] == "complete"
    assert cycle_plan_hash(store) == digest  # the plan approved is the plan of record
    log = decision_log(None, workspace_copy / "reports")
    history = log.history("2026-11")
    log.dispose()
    assert history["decision"].tolist() == ["approve", "approve"]
    assert approval_of(history, cycle_plan_hash(store))["person"] == "Di Ng"
    text = index.read_text()
    assert 'data-role="superseded"' not in text
    assert "(another plan)" in text
    with pytest.raises(StageError, match="was approved by Di Ng"):
        run_cycle(workspace=workspace_copy, only="4", progress=lambda _: None)
    assert main(["promote", str(what_if["id"])]) == 0  # already the plan: nothing re-run
    assert store.read_manifest()["run_id"] == promoted["run_id"]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(url: str) -> int:
    """The HTTP status of a GET, redirects not followed."""
    import urllib.error
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        return urllib.request.build_opener(NoRedirect).open(url, timeout=10).status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.browser
@pytest.mark.slow
def test_the_dashboard_is_served_behind_its_token_re_plans_live_and_records_a_decision(
    workspace_copy,
):
    """`sop serve` in real headless Chromium: refused without the token; the KPI cards are
    the cycle's; a demand slider re-plans (revenue and service level move); an approval
    writes exactly one row; no code on the page."""
    import signal
    import subprocess
    import time
    import urllib.error

    from sopkit.decisions import decision_log
    from sopkit.kpi import format_kpis
    from sopkit.serve import serve_command

    playwright, chromium = _browser()
    port, token = _free_port(), "test-token-123"
    cmd, env, folder, url = serve_command(workspace_copy, port=port, token=token)
    # a stale voila.json where a careless user works changes neither address, token nor sources
    stale = '{"VoilaConfiguration": {"strip_sources": false}, "Voila": {"port": 8866, "token": ""}}'
    for where in (workspace_copy, workspace_copy / "notebooks"):
        (where / "voila.json").write_text(stale)
    proc = subprocess.Popen(
        cmd, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 120
        while True:
            try:
                _status(base)
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "voila did not start"
                time.sleep(0.5)
        assert _status(base) in (302, 403)  # no token: to the login page, never the plan
        assert _status(base + "?token=wrong") in (302, 403)
        store = CycleStore(workspace_copy / "reports", CYCLE)
        kpis = format_kpis(store.read("kpis")).set_index("kpi")
        baseline = store.read("scenarios").set_index("scenario").loc["baseline"]
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])  # fmt: skip
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(url)
            revenue = page.locator('[data-kpi="revenue"]')
            revenue.wait_for(timeout=90_000)
            assert "open_stage" not in page.content()  # no code shown
            assert page.locator(".jp-InputArea-editor, .cm-editor").count() == 0
            # the static cards: the cycle's kpis artifact, as formatted there
            for kpi in ("planned_revenue", "otif", "forecast_accuracy"):
                assert kpis.loc[kpi, "value"] in page.inner_text("body"), kpi
            assert float(revenue.get_attribute("data-value")) == pytest.approx(
                baseline["revenue"], rel=1e-9
            )
            before = {k: page.locator(f'[data-kpi="{k}"]').get_attribute("data-value")
                      for k in ("revenue", "service_level")}  # fmt: skip
            readout = page.locator(".widget-readout").first  # the first family's demand
            readout.click()
            page.keyboard.press("Control+A")
            page.keyboard.type("100")
            page.keyboard.press("Enter")
            page.wait_for_function(
                "v => document.querySelector('[data-kpi=\"revenue\"]').dataset.value != v",
                arg=before["revenue"], timeout=60_000,
            )  # fmt: skip
            after = {k: page.locator(f'[data-kpi="{k}"]').get_attribute("data-value")
                     for k in ("revenue", "service_level")}  # fmt: skip
            assert float(after["revenue"]) > float(before["revenue"])
            assert after["service_level"] != before["service_level"]
            if os.environ.get("SOPKIT_SCREENSHOT"):
                page.locator('[data-kpi="revenue"]').scroll_into_view_if_needed()
                page.screenshot(path=os.environ["SOPKIT_SCREENSHOT"])
            # the other stages are selectable: their reports, in a sandboxed frame
            page.locator("select").filter(has_text="Product review").select_option(
                label="1. Product review"
            )
            frame = page.locator('[data-role="report"]')
            frame.wait_for(timeout=30_000)
            assert frame.get_attribute("sandbox") == ""
            page.get_by_placeholder("who decides").fill("Ann Lee")
            page.get_by_role("button", name="Record the decision").click()
            page.locator('[data-role="recorded"]').wait_for(timeout=30_000)
            browser.close()
        log = decision_log(None, workspace_copy / "reports")
        rows = log.history(CYCLE)
        log.dispose()
        assert len(rows) == 1
        assert (rows["decision"].iloc[0], rows["person"].iloc[0]) == ("approve", "Ann Lee")
        # served read only: the cycle's tables and status are as its run left them
        assert store.read_manifest()["status"] == "complete"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        shutil.rmtree(folder, ignore_errors=True)
