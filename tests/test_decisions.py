"""The decision log: rows recorded and read back, refused values, concurrent writers, and a
real PostgreSQL server."""

from __future__ import annotations

import multiprocessing as mp

import pandas as pd
import pytest

from sopkit.decisions import (
    HISTORY_COLUMNS,
    DecisionLog,
    approval_of,
    decision_log,
    plan_hash,
)
from sopkit.errors import SopError

PLAN = pd.DataFrame({"sku": ["A", "B"], "month": pd.to_datetime(["2026-11-01"] * 2),
                     "shipments": [10.0, 20.0]})  # fmt: skip


def test_decisions_are_recorded_and_the_latest_approval_is_in_force(tmp_path):
    log = decision_log(None, tmp_path / "reports")
    assert (tmp_path / "reports" / "decisions.sqlite").is_file()
    digest = plan_hash(PLAN)
    first = log.record(cycle="2026-11", decision="approve", person=" Ann Lee ",
                       plan_hash=digest, comment="as planned")  # fmt: skip
    assert first["id"] == 1
    assert first["person"] == "Ann Lee"
    log.record(cycle="2026-12", decision="approve", person="Bo", plan_hash=digest)
    history = log.history("2026-11")
    assert list(history.columns) == HISTORY_COLUMNS
    assert history["decision"].tolist() == ["approve"]
    assert str(history["decided_at"].dt.tz) == "UTC"
    approval = log.approval("2026-11")
    assert approval["person"] == "Ann Lee"
    assert approval["plan_hash"] == digest
    # a later rejection takes the approval back; the earlier row stays in the log
    log.record(cycle="2026-11", decision="reject", person="Cy", plan_hash=digest,
               comment="margin too low", scenario="capacity_loss",
               inputs={"capacity_change_pct": -15})  # fmt: skip
    assert log.approval("2026-11") is None
    rows = log.history("2026-11")
    assert rows["decision"].tolist() == ["approve", "reject"]
    assert rows["inputs"].iloc[1] == '{"capacity_change_pct": -15}'
    assert len(log.history()) == 3
    assert approval_of(rows.iloc[:1])["decision"] == "approve"
    log.dispose()


def test_bad_values_are_all_refused_and_nothing_is_written(tmp_path):
    log = DecisionLog(f"sqlite:///{tmp_path / 'd.sqlite'}")
    with pytest.raises(SopError) as err:
        log.record(cycle="Nov 2026", decision="maybe", person="  ", plan_hash="")
    text = str(err.value)
    for part in ("cycle must be a month YYYY-MM; got 'Nov 2026'", "decision must be one of",
                 "person is required", "plan_hash is required"):  # fmt: skip
        assert part in text
    with pytest.raises(SopError, match="a comment is required to request changes"):
        log.record(cycle="2026-11", decision="request_changes", person="Ann", plan_hash="x")
    assert log.history().empty
    with pytest.raises(SopError, match="is not a database URL"):
        DecisionLog("not a url")
    with pytest.raises(
        SopError, match=r"log at postgresql\+psycopg://ann:\*\*\*@.*cannot be opened"
    ):
        DecisionLog("postgresql+psycopg://ann:secret@127.0.0.1:1/none")


def test_the_plan_hash_follows_the_rows_not_the_index():
    assert plan_hash(PLAN) == plan_hash(PLAN.set_index(pd.Index([5, 6])))
    assert plan_hash(PLAN) != plan_hash(PLAN.assign(shipments=[10.0, 20.5]))
    assert plan_hash(PLAN) != plan_hash(PLAN.iloc[::-1])
    assert plan_hash(PLAN, PLAN) != plan_hash(PLAN)


def _write_many(url: str, writer: int, rows: int) -> None:
    log = DecisionLog(url)
    for i in range(rows):
        log.record(cycle="2026-11", decision="approve", person=f"writer {writer}",
                   plan_hash=f"{writer}-{i}", comment=str(i))  # fmt: skip
    log.dispose()


def _eight_writers(url: str, rows: int = 15) -> pd.DataFrame:
    DecisionLog(url).dispose()  # the table exists before the writers race
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_write_many, args=(url, w, rows)) for w in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * 8
    return DecisionLog(url).history()


@pytest.mark.slow
def test_eight_concurrent_writers_lose_nothing_on_sqlite(tmp_path):
    history = _eight_writers(f"sqlite:///{tmp_path / 'decisions.sqlite'}")
    assert len(history) == 8 * 15
    assert history["id"].is_unique
    assert set(history["plan_hash"]) == {f"{w}-{i}" for w in range(8) for i in range(15)}


@pytest.mark.slow
def test_eight_concurrent_writers_lose_nothing_on_postgresql(pg_url):
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS decisions"))
    engine.dispose()
    history = _eight_writers(pg_url)
    assert len(history) == 8 * 15
    assert history["id"].is_unique
    assert history.groupby("person").size().tolist() == [15] * 8


def test_a_relative_sqlite_log_is_the_workspace_s_and_bad_urls_are_said(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # somewhere else than the workspace
    ws = tmp_path / "ws"
    log = decision_log("sqlite:///logs/d.sqlite", ws / "reports", ws)
    log.dispose()
    assert (ws / "logs" / "d.sqlite").is_file()
    assert not (tmp_path / "logs").exists()
    for url in ("mysql://u:pw@h/db", "postgresql+psycopg://h:notaport/db"):
        with pytest.raises(SopError, match=r"decision(_| )log") as err:
            DecisionLog(url)
        assert ":pw@" not in str(err.value)


def test_a_password_never_shows_in_a_message():
    from sopkit.config import hide_password

    url = "postgresql+psycopg://127.0.0.1:1/db?user=sop&password=Wr0ngS3cret"
    assert "Wr0ngS3cret" not in hide_password(url)
    with pytest.raises(SopError) as err:
        DecisionLog(url)
    assert "Wr0ngS3cret" not in str(err.value)
    with pytest.raises(SopError) as err:
        DecisionLog("postgresql+psycopg://sop:S3c@ret@127.0.0.1:1/db")
    assert "S3c" not in str(err.value).replace("***", "")


def test_an_approval_approves_only_the_plan_it_was_made_on(tmp_path):
    log = DecisionLog(f"sqlite:///{tmp_path / 'd.sqlite'}")
    log.record(cycle="2026-11", decision="approve", person="Ann", plan_hash="aaa")
    assert log.approval("2026-11", plan="aaa")["person"] == "Ann"
    assert log.approval("2026-11", plan="bbb") is None  # the plan was replaced since
    with pytest.raises(SopError, match="person is required"):
        log.record(cycle="2026-11", decision="approve", person="\u200b ", plan_hash="aaa")
    with pytest.raises(SopError, match="person is 201 characters long; at most 200"):
        log.record(cycle="2026-11", decision="approve", person="x" * 201, plan_hash="aaa")
    log.dispose()


def _shared_by_two_workspaces(url: str) -> None:
    """Two workspaces decide on their own cycle 2026-11 in one database: each reads its
    own rows only; a log without a name reads both."""
    acme, globex = DecisionLog(url, "acme"), DecisionLog(url, "globex")
    acme.record(cycle="2026-11", decision="approve", person="Ann", plan_hash="a1")
    globex.record(cycle="2026-11", decision="reject", person="Gil", plan_hash="g1",
                  comment="too much stock")  # fmt: skip
    assert acme.history("2026-11")["person"].tolist() == ["Ann"]
    assert acme.approval("2026-11", plan="a1")["person"] == "Ann"
    assert globex.approval("2026-11") is None
    assert globex.history()["workspace"].tolist() == ["globex"]
    assert sorted(DecisionLog(url).history()["workspace"]) == ["acme", "globex"]
    for log in (acme, globex):
        log.dispose()


def test_workspaces_sharing_a_log_keep_their_decisions_apart(tmp_path):
    _shared_by_two_workspaces(f"sqlite:///{tmp_path / 'shared.sqlite'}")
    with pytest.raises(SopError, match="workspace_name must be a name of 1 to 200"):
        DecisionLog(f"sqlite:///{tmp_path / 'shared.sqlite'}", " ")


def test_workspaces_sharing_a_postgresql_log_keep_their_decisions_apart(pg_url):
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS decisions"))
    engine.dispose()
    _shared_by_two_workspaces(pg_url)


def test_a_log_from_before_workspace_names_gains_the_column_and_keeps_its_rows(tmp_path):
    """A decisions table without the workspace column (as sopkit wrote it before): opening
    it adds the column, its rows stay, and every workspace reads them."""
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE decisions (id INTEGER PRIMARY KEY AUTOINCREMENT, cycle VARCHAR(7) "
            "NOT NULL, scenario VARCHAR(200) NOT NULL, inputs TEXT NOT NULL, plan_hash "
            "VARCHAR(64) NOT NULL, decision VARCHAR(20) NOT NULL, comment TEXT NOT NULL, "
            "person VARCHAR(200) NOT NULL, decided_at DATETIME NOT NULL)"
        ))  # fmt: skip
        conn.execute(sa.text(
            "INSERT INTO decisions (cycle, scenario, inputs, plan_hash, decision, comment, "
            "person, decided_at) VALUES ('2026-10', 'baseline', '{}', 'old', 'approve', '', "
            "'Ann', '2026-10-30 10:00:00')"
        ))  # fmt: skip
    engine.dispose()
    log = DecisionLog(url, "acme")
    log.record(cycle="2026-11", decision="approve", person="Bo", plan_hash="new")
    history = log.history()
    assert history["plan_hash"].tolist() == ["old", "new"]
    assert history["workspace"].tolist() == ["", "acme"]
    assert DecisionLog(url, "globex").history()["plan_hash"].tolist() == ["old"]
    indexes = {i["name"] for i in sa.inspect(log.engine).get_indexes("decisions")}
    assert "ix_decisions_workspace" in indexes  # as a new log has it
    log.dispose()


def test_a_workspace_log_is_kept_under_its_name_and_a_server_needs_one(tmp_path):
    """Without workspace_name the workspace's own SQLite log reads every row (renaming
    the folder loses nothing); with one, its rows carry it (NFC) and it reads its own; a
    database server without one is refused with what to set."""
    import shutil
    from pathlib import Path

    from sopkit.decisions import workspace_log

    repo = Path(__file__).resolve().parents[1]
    ws = tmp_path / "acme"
    shutil.copytree(repo / "parameters", ws / "parameters")
    log = workspace_log(ws)
    assert log.workspace is None
    log.record(cycle="2026-11", decision="approve", person="Ann", plan_hash="x")
    log.dispose()
    moved = tmp_path / "acme-renamed"
    ws.rename(moved)
    again = workspace_log(moved)
    assert again.history()["person"].tolist() == ["Ann"]  # nothing lost with the name
    assert again.history()["workspace"].tolist() == [""]
    again.dispose()
    params = moved / "parameters" / "default.yaml"
    text = params.read_text()
    params.write_text(text.replace("workspace_name:  ", "workspace_name: Cafe\u0301 Co  ", 1))
    named = workspace_log(moved)
    assert named.workspace == "Caf\u00e9 Co"  # one spelling of é (NFC)
    named.record(cycle="2026-11", decision="reject", person="Bo", plan_hash="x", comment="no")
    assert named.history()["workspace"].tolist() == ["", "Caf\u00e9 Co"]
    named.dispose()
    server = "postgresql+psycopg://sop:secret@127.0.0.1:1/db"
    params.write_text(text.replace("decision_log:  ", f"decision_log: {server}  ", 1))
    with pytest.raises(SopError, match=r"database server \(postgresql\+psycopg://sop:\*\*\*@"):
        workspace_log(moved)


def _workspace(tmp_path):
    import shutil
    from pathlib import Path

    ws = tmp_path / "acme"
    shutil.copytree(Path(__file__).resolve().parents[1] / "parameters", ws / "parameters")
    return ws


def test_an_approved_what_if_is_appended_to_scenarios_yaml_and_read_back(tmp_path):
    """`sop promote ID` (without its re-plan): the what-if's inputs become scenario
    what_if_<id>, appended under the file's own entries (comments kept); promoting it
    again adds nothing; a rejection, an unknown id or a taken name are refused."""
    from sopkit.config import load_scenarios
    from sopkit.decisions import promote_decision, workspace_log

    ws = _workspace(tmp_path)
    scen_file = ws / "parameters" / "scenarios.yaml"
    before = scen_file.read_text()
    log = workspace_log(ws)
    inputs = {"demand_change_pct": 0.0, "family_demand_change_pct": {"Kettles": 12.5},
              "overtime_allowed": False}  # fmt: skip
    row = log.record(cycle="2026-11", decision="approve", person="Ann Lee", plan_hash="w",
                     scenario="what-if", inputs=inputs)  # fmt: skip
    rejected = log.record(cycle="2026-11", decision="reject", person="Bo", plan_hash="w",
                          scenario="what-if", inputs=inputs, comment="no")  # fmt: skip
    named = log.record(cycle="2026-11", decision="approve", person="Cy", plan_hash="p",
                       scenario="capacity_loss")  # fmt: skip
    log.dispose()

    promoted = promote_decision(row["id"], workspace=ws)
    assert (promoted["promoted"], promoted["added"]) == (f"what_if_{row['id']}", True)
    text = scen_file.read_text()
    assert text.startswith(before)  # appended: comments and scenarios as they were
    scenario = load_scenarios(scen_file)[f"what_if_{row['id']}"]
    assert scenario.family_demand_change_pct == {"Kettles": 12.5}
    assert scenario.overtime_allowed is False
    assert "approved by Ann Lee" in scenario.description
    assert promote_decision(row["id"], workspace=ws)["added"] is False  # already there
    assert scen_file.read_text() == text
    # a scenario of the file is promoted as it is
    assert promote_decision(named["id"], workspace=ws)["promoted"] == "capacity_loss"
    for decision_id, match in (
        (rejected["id"], "is reject, not an approval"),
        (999, "decision 999 is not in this workspace's decision log"),
    ):
        with pytest.raises(SopError, match=match):
            promote_decision(decision_id, workspace=ws)
    with pytest.raises(SopError, match="already has a scenario 'capacity_loss' with other"):
        promote_decision(row["id"], name="capacity_loss", workspace=ws)
    for bad in ("what-if", "caf\u00e9", "two words"):
        with pytest.raises(SopError, match="a scenario's name is 1 to 100 of the letters"):
            promote_decision(row["id"], name=bad, workspace=ws)
    assert scen_file.read_text() == text
    # a named scenario approved as it was, then edited: refused, saying both
    log = workspace_log(ws)
    upside = log.record(cycle="2026-11", decision="approve", person="Ed", plan_hash="u",
                        scenario="demand_upside", inputs="demand change +10 %")  # fmt: skip
    empty = log.record(cycle="2026-11", decision="approve", person="Ed", plan_hash="e",
                       scenario="what-if", inputs="")  # fmt: skip
    log.dispose()
    assert promote_decision(upside["id"], workspace=ws)["promoted"] == "demand_upside"
    scen_file.write_text(text.replace("    demand_change_pct: 10\n", "    demand_change_pct: 60\n"))
    changed = r"as 'demand change \+10 %'; .* now says 'demand change \+60 %'"
    with pytest.raises(SopError, match=changed):
        promote_decision(upside["id"], workspace=ws)
    with pytest.raises(SopError, match="inputs are not a scenario's changes"):
        promote_decision(empty["id"], workspace=ws)


def test_a_scenarios_file_that_cannot_be_appended_to_is_left_alone(tmp_path):
    """A flow-style file (nothing indented at its end): the message gives the lines to add
    by hand, and the file is not touched."""
    from sopkit.decisions import promote_decision, workspace_log

    ws = _workspace(tmp_path)
    scen_file = ws / "parameters" / "scenarios.yaml"
    scen_file.write_text("scenarios: {baseline: {}}\n")
    log = workspace_log(ws)
    row = log.record(cycle="2026-11", decision="approve", person="Ann", plan_hash="w",
                     scenario="what-if", inputs={"price_change_pct": 3.0})  # fmt: skip
    log.dispose()
    with pytest.raises(SopError, match=r"by hand, under scenarios:\n  what_if_1:\n"):
        promote_decision(row["id"], workspace=ws)
    assert scen_file.read_text() == "scenarios: {baseline: {}}\n"
    assert list((ws / "parameters").glob(".scenarios-*")) == []


def test_promotion_keeps_the_file_s_line_endings_permissions_and_link(tmp_path):
    """A CRLF file stays CRLF, a 0644 file stays 0644, and a scenarios.yaml that links to a
    shared file changes the shared file (the link stays a link)."""
    import os
    import stat

    from sopkit.config import load_scenarios
    from sopkit.decisions import promote_decision, workspace_log

    ws = _workspace(tmp_path)
    shared = tmp_path / "shared-scenarios.yaml"
    text = (ws / "parameters" / "scenarios.yaml").read_text()
    shared.write_bytes(text.replace("\n", "\r\n").encode())
    shared.chmod(0o644)
    link = ws / "parameters" / "scenarios.yaml"
    link.unlink()
    link.symlink_to(shared)
    log = workspace_log(ws)
    row = log.record(cycle="2026-11", decision="approve", person="Ann", plan_hash="w",
                     scenario="what-if", inputs={"price_change_pct": 3.0})  # fmt: skip
    log.dispose()
    promote_decision(row["id"], workspace=ws)
    assert link.is_symlink()
    data = shared.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n")  # every line ends CRLF
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o644
    assert load_scenarios(link)[f"what_if_{row['id']}"].price_change_pct == 3.0
