"""Smoke test of benchmarks/cycle.py: its arguments, workspace builder and manifest reading.

The benchmark itself is a script, not a test; this only checks that it can start.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "cycle.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_cycle", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_arguments(bench):
    args = bench.parse_args([])
    assert (args.repeat, args.skus, args.json) == (3, 160, None)
    args = bench.parse_args(["--repeat", "1", "--skus", "5000"])
    assert (args.repeat, args.skus) == (1, 5000)
    with pytest.raises(SystemExit):
        bench.parse_args(["--skus", "3"])


def test_workspace_has_the_demo_company_at_the_asked_size(bench, tmp_path):
    ws = bench.build_workspace(tmp_path / "ws", skus=24)
    products = pd.read_csv(ws / "data" / "products.csv")
    assert len(products) == 24
    assert (ws / "parameters" / "default.yaml").is_file()
    assert (ws / "notebooks").is_dir()


def test_stage_times_read_what_the_runner_records_and_ignore_the_rest(bench):
    manifest = {
        "stages": {
            "product_review": {"duration_s": 2.5, "status": "complete", "artifacts": ["x"]},
            "demand_planning": {
                "duration_s": 3,
                "timings": {"kernel_start": 0.8, "execute": 2.0, "note": "text", "ok": True},
            },
            "supply_planning": {"status": "pending"},
        },
        "timings": {"validate": 0.4, "workbook": 0.2},
        "new_field": {"anything": 1},
    }
    assert bench.stage_times(manifest) == {
        "product_review": 2.5,
        "demand_planning": 3.0,
        "demand_planning.kernel_start": 0.8,
        "demand_planning.execute": 2.0,
        "run.validate": 0.4,
        "run.workbook": 0.2,
    }
    assert bench.stage_times({}) == {}


def test_importtime_parsing(bench):
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       429 |    1024913 |               rfc3987_syntax\n"
        "import time:        30 |        100 |                 rfc3987_syntax.utils\n"
        "import time:      1065 |    1092141 |             jsonschema._format\n"
    )
    assert bench.parse_importtime(stderr, "rfc3987_syntax") == pytest.approx(1.024913)
