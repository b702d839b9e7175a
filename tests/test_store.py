"""Artifacts: contracted columns, atomic writes, safe cycle names, stage lookup."""

from __future__ import annotations

import pandas as pd
import pytest

from sopkit.cycle.lock import CycleLock
from sopkit.errors import StageError
from sopkit.schemas import ARTIFACTS, columns
from sopkit.store import STAGES, CycleStore, PlanArchive, check_cycle_name, get_stage, producer


@pytest.mark.parametrize(
    "bad", ["../2026-11", "2026-11/../../etc", "2026-13", "2026-1", "", "reports"]
)
def test_cycle_names_are_months_only(bad, tmp_path):
    with pytest.raises(StageError, match="cycle must be a month written YYYY-MM"):
        CycleStore(tmp_path, bad)


def test_good_cycle_name():
    assert check_cycle_name("2026-11") == "2026-11"


def _kpis(**overrides):
    row = {c: [1.0] for c in columns("kpis")} | {
        "kpi": ["otif"],
        "label": ["OTIF"],
        "unit": ["ratio"],
        "status": ["good"],
        "description": ["lines on time and in full"],
    }
    return pd.DataFrame(row | overrides)


def test_write_checks_the_contract(tmp_path):
    store = CycleStore(tmp_path, "2026-11")
    with pytest.raises(StageError, match=r"artifact 'kpis' .* lacks the column\(s\) status"):
        store.write("kpis", _kpis().drop(columns="status"))
    with pytest.raises(StageError, match="column value holds object, expected number"):
        store.write("kpis", _kpis(value=["high"]))
    with pytest.raises(StageError, match="unknown artifact 'kpi'"):
        store.write("kpi", _kpis())


def test_a_failed_write_leaves_the_previous_artifact(tmp_path):
    store = CycleStore(tmp_path, "2026-11")
    store.write("kpis", _kpis())
    bad = _kpis(description=[object()])  # a text column; pyarrow cannot store a bare object
    with pytest.raises(StageError, match=r"artifact 'kpis' cannot be stored as Parquet: .*object"):
        store.write("kpis", bad)
    assert store.read("kpis")["value"].tolist() == [1.0]
    assert [p.name for p in store.artifacts_dir.iterdir()] == ["kpis.parquet"]


def test_missing_artifact_names_the_stage_to_run(tmp_path):
    store = CycleStore(tmp_path, "2026-11")
    with pytest.raises(
        StageError, match=r"written by stage 3 \(Supply planning\).*--from supply_planning"
    ):
        store.read("capacity")


def test_stage_lookup():
    assert get_stage("2").id == get_stage("02").id == get_stage("demand_planning").id
    assert get_stage("03_supply_planning.ipynb").number == 3
    assert producer("kpis").id == "executive_review"
    with pytest.raises(
        StageError, match=r"unknown stage 'planning'; the stages are 1 \(product_review\)"
    ):
        get_stage("planning")


def test_every_artifact_has_one_producer_and_reads_come_from_earlier_stages():
    written = [a for s in STAGES for a in s.writes]
    assert sorted(written) == sorted(ARTIFACTS)
    for s in STAGES:
        for a in s.reads:
            assert producer(a).number < s.number


def test_provenance_travels_inside_the_artifact(tmp_path):
    store = CycleStore(tmp_path, "2026-11")
    assert store.provenance("kpis") is None
    store.write("kpis", _kpis(), {"params_hash": "abc", "identity": {"horizon": 12}})
    assert store.provenance("kpis") == {"params_hash": "abc", "identity": {"horizon": 12}}
    store.write("kpis", _kpis())  # rewritten without: the old provenance does not linger
    assert store.provenance("kpis") is None


def test_the_lock_refuses_a_second_holder_and_says_who(tmp_path):
    first, second = CycleLock(tmp_path, "2026-11"), CycleLock(tmp_path, "2026-11")
    first.acquire("sop run")
    assert not second.is_free()
    with pytest.raises(StageError, match=r"cycle 2026-11 is being run right now by sop run \(pid"):
        second.acquire("notebook run by hand")
    first.release()
    assert second.is_free()
    with second.hold("notebook run by hand"):
        assert not first.is_free()
    assert CycleLock(tmp_path, "2026-12").is_free(), "one lock per cycle"


def test_an_empty_archive_reads_as_empty_tables(tmp_path):
    archive = PlanArchive(tmp_path / "nothing-yet")
    assert archive.cycles() == []
    plans = archive.read("supply_plan")
    assert plans.empty
    assert list(plans.columns) == ["cycle", *columns("supply_plan")]
    with pytest.raises(StageError, match="unknown artifact 'plan'"):
        archive.read("plan")


def test_the_latest_completed_cycle_gives_its_artifacts_and_inputs(tmp_path):
    """Cycles 2026-10 and 2026-11 completed, 2026-12 failed: before 2027-01 the latest
    plan of record is 2026-11's; its supply plan and its products as that cycle read them."""
    for cycle, status in (("2026-10", "complete"), ("2026-11", "complete"),
                          ("2026-12", "failed")):  # fmt: skip
        store = CycleStore(tmp_path, cycle)
        store.write_manifest({"status": status, "run_id": cycle, "stages": {}})
        plan = ARTIFACTS["supply_plan"].empty()
        store.write("supply_plan", plan)
        store.inputs_dir.mkdir(parents=True, exist_ok=True)
        pd.DataFrame({"sku": ["A"], "unit_price": [float(cycle[-2:])]}).to_parquet(
            store.inputs_dir / "products.parquet"
        )
    archive = PlanArchive(tmp_path)
    cycle, tables = archive.latest(["supply_plan", "capacity", "products"], before="2027-01")
    assert cycle == "2026-11"
    assert tables["products"]["unit_price"].tolist() == [11.0]
    assert list(tables["supply_plan"].columns) == columns("supply_plan")
    assert tables["capacity"].empty  # not made by that cycle: empty, with its columns
    assert archive.latest(["products"], before="2026-11")[0] == "2026-10"
    assert archive.latest(["products"], before="2026-10") is None
    with pytest.raises(StageError, match="cycle 2026-11 kept no input table 'budget'"):
        archive.latest(["budget"], before="2027-01")
