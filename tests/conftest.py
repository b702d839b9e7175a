"""Shared fixtures: a tiny demo dataset, hand-written raw tables, a real PostgreSQL server."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from sopkit.data import validate_tables
from sopkit.demo import make_demo

TINY = {"seed": 3, "n_skus": 24, "n_months": 30, "last_month": "2026-10"}


@pytest.fixture(scope="session")
def tiny_tables() -> dict[str, pd.DataFrame]:
    """The demo company at a small size, as typed raw tables."""
    return make_demo(**TINY)


@pytest.fixture(scope="session")
def tiny_demo(tiny_tables):
    """The tiny demo company, validated."""
    return validate_tables(tiny_tables, source="tiny demo")


def raw_tables() -> dict[str, pd.DataFrame]:
    """A small valid dataset written as text, as a CSV folder would give it.

    Two SKUs in one family, one resource, one material: small enough to break one
    cell at a time and know exactly which message must come back.
    """
    t = {
        "products": {
            "sku": ["A-1", "A-2"],
            "description": ["Kettle", "Kettle XL"],
            "family": ["Kettles", "Kettles"],
            "unit_price": ["20", "30"],
            "unit_cost": ["12", "15"],
            "status": ["active", "new"],
            "launch_month": ["2020-01", "2026-03"],
            "eol_month": ["", ""],
            "like_sku": ["", "A-1"],
        },
        "sales_history": {
            "sku": ["A-1", "A-1", "A-2"],
            "region": ["North", "North", "North"],
            "month": ["2026-08", "2026-09", "2026-09"],
            "qty": ["10", "12", "3"],
        },
        "order_lines": {
            "order_id": ["O-1", "O-2"],
            "sku": ["A-1", "A-2"],
            "region": ["North", "North"],
            "customer": ["C-1", "C-2"],
            "order_date": ["2026-09-01", "2026-09-03"],
            "requested_date": ["2026-09-10", "2026-09-12"],
            "requested_qty": ["12", "3"],
            "shipped_date": ["2026-09-09", ""],
            "shipped_qty": ["12", ""],
        },
        "inventory": {"sku": ["A-1", "A-2"], "on_hand": ["5", "0"], "safety_stock": ["2", ""]},
        "resources": {
            "resource": ["Assembly"],
            "month": [""],
            "regular_hours": ["160"],
            "max_overtime_hours": ["20"],
            "overtime_cost_per_hour": ["45"],
        },
        "routings": {
            "sku": ["A-1", "A-2"],
            "resource": ["Assembly"] * 2,
            "hours_per_unit": ["0.5", "0.7"],
        },
        "bom": {"sku": ["A-1", "A-2"], "material": ["Steel"] * 2, "qty_per_unit": ["1.2", "1.5"]},
        "material_supply": {
            "material": ["Steel"],
            "month": [""],
            "max_qty": ["500"],
            "unit_cost": ["3"],
        },
        "costs": {
            "sku": [""],
            "holding_cost_per_unit_month": ["0.2"],
            "backlog_cost_per_unit_month": ["2"],
            "subcontract_cost_per_unit": ["16"],
            "max_subcontract_qty": ["10"],
        },
        "workforce": {
            "resource": [""],
            "workers": ["1"],
            "hours_per_worker_month": ["160"],
            "hire_cost": ["2000"],
            "layoff_cost": ["3000"],
            "regular_cost_per_hour": ["30"],
        },
        "sales_inputs": {
            "sku": ["A-1"],
            "family": [""],
            "region": [""],
            "month": ["2026-11"],
            "kind": ["pct"],
            "value": ["20"],
            "reason": ["Promotion"],
            "author": ["j.doe"],
        },
        "budget": {"family": ["Kettles"], "month": ["2026-11"], "revenue": ["1000"]},
    }
    return {name: pd.DataFrame(cols, dtype=object) for name, cols in t.items()}


@pytest.fixture
def raw():
    return raw_tables()


# --------------------------------------------------------------------------- PostgreSQL


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def pg_url():
    """A real PostgreSQL server for this test session, or ``SOPKIT_TEST_PG_URL``.

    Started with initdb/pg_ctl as the ``postgres`` user when Debian's postgresql
    package is installed (``.ci/run`` installs it). Outside CI a missing server
    skips the test; in CI (``CI=true``) it fails, so a green run proves PostgreSQL.
    """
    if os.environ.get("SOPKIT_TEST_PG_URL"):
        yield os.environ["SOPKIT_TEST_PG_URL"]
        return
    pg_bin = _pg_bin()
    if pg_bin is None or shutil.which("runuser") is None or os.geteuid() != 0:
        msg = "PostgreSQL server binaries (Debian package postgresql) are not installed"
        if os.environ.get("CI"):
            pytest.fail(msg + "; .ci/run must install them")
        pytest.skip(msg)
    # not under pytest's basetemp: that is private to root, and the server runs as postgres
    root = Path(tempfile.mkdtemp(prefix="sopkit-pg-"))
    root.chmod(0o755)
    data, run = root / "data", root / "run"
    for d in (data, run):
        d.mkdir()
        shutil.chown(d, "postgres", "postgres")
    data.chmod(0o700)
    port, password = _free_port(), secrets.token_hex(8)
    pw_file = run / "pw"
    pw_file.write_text(password)
    shutil.chown(pw_file, "postgres", "postgres")

    def as_postgres(*cmd):
        subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True, capture_output=True)

    as_postgres(
        str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8",
        "--locale=C.UTF-8", "--auth-local=peer", "--auth-host=scram-sha-256",
        f"--pwfile={pw_file}",
    )  # fmt: skip
    as_postgres(
        str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(run / "pg.log"), "-w", "start",
        "-o", f"-c listen_addresses=127.0.0.1 -p {port} -k {run}",
    )  # fmt: skip
    try:
        yield f"postgresql+psycopg://postgres:{password}@127.0.0.1:{port}/postgres"
    finally:
        as_postgres(str(pg_bin / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
