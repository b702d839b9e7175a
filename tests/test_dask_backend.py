"""The forecast on a Dask cluster: a real LocalCluster, the same results as on this machine."""

from __future__ import annotations

import os

import distributed
import numpy as np
import pandas as pd
import pytest

from sopkit.config import resolve_parameters
from sopkit.data import validate_tables
from sopkit.demand import backend as backend_module
from sopkit.demand import forecast, forecast_executor, statistical_forecast
from sopkit.demo import make_demo
from sopkit.errors import SopError


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes on the loopback interface, no dashboard."""
    before = dict(os.environ)
    try:
        with distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster:
            yield cluster
    finally:
        # the nannies run in this process and set OMP_NUM_THREADS=1 etc. here before
        # spawning the workers (Dask's distributed.nanny.pre-spawn-environ): undo it
        for key in set(os.environ) - set(before):
            del os.environ[key]
        os.environ.update(before)


def _panel() -> pd.DataFrame:
    """Six series, one for each way the engine treats a series."""
    rng = np.random.default_rng(11)

    def series(uid, values, start="2022-11"):
        months = pd.date_range(start, periods=len(values), freq="MS")
        return pd.DataFrame({"unique_id": uid, "ds": months, "y": np.asarray(values, float)})

    t = np.arange(48)
    seasonal = 100 + 2 * t + 25 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 4, 48)
    intermittent = np.where(rng.random(48) < 0.7, 0, rng.poisson(6, 48) + 1)
    noisy = np.clip(50 + rng.normal(0, 15, 40), 0, None)
    return pd.concat(
        [
            series("seasonal_trend", seasonal),
            series("intermittent", intermittent),
            series("constant", [7.0] * 24, start="2024-11"),
            series("six_months", [3, 5, 4, 6, 2, 5], start="2026-05"),
            series("all_zero", [0.0] * 24, start="2024-11"),
            series("noisy_40", noisy, start="2023-07"),
        ],
        ignore_index=True,
    )


def _connect(scheduler, **options) -> None:
    """Enter and leave forecast_executor, running nothing."""
    with forecast_executor(scheduler, **options):
        pass


def test_the_workers_run_numeric_work_on_one_thread(cluster):
    import threadpoolctl

    with distributed.Client(cluster, set_as_default=False) as client:
        # os.getenv, not os.environ.get: that would ship this process's environ over
        env = client.run(os.getenv, "OMP_NUM_THREADS")
        assert sorted(env.values()) == ["1", "1"], "Dask's nanny sets OMP_NUM_THREADS=1"
        pools = client.run(threadpoolctl.threadpool_info)
        assert {p["num_threads"] for libs in pools.values() for p in libs} == {1}
        assert sorted(client.nthreads().values()) == [1, 1]


def test_the_engine_on_the_cluster_gives_exactly_the_local_forecast(cluster):
    panel = _panel()
    local_fc, local_sel = forecast(panel, 6, n_jobs=1, return_selection=True)
    with (
        distributed.Client(cluster, set_as_default=False) as watcher,
        distributed.get_task_stream(watcher) as stream,
        forecast_executor(cluster.scheduler_address) as executor,
    ):
        assert executor is not None
        dask_fc, dask_sel = forecast(panel, 6, executor=executor, return_selection=True)
    pd.testing.assert_frame_equal(dask_fc, local_fc, check_exact=True)
    pd.testing.assert_frame_equal(dask_sel, local_sel, check_exact=True)
    # the work ran on both workers, one task per chunk (here one series each)
    assert len(stream.data) == 6
    assert {t["worker"] for t in stream.data} == set(cluster.scheduler_info["workers"])
    chosen = local_sel.set_index("unique_id")["model"]
    assert (chosen["all_zero"], chosen["constant"], chosen["six_months"]) == (
        "zero",
        "constant",
        "mean_fallback",
    )


@pytest.mark.slow
def test_stage_two_on_the_cluster_gives_the_local_forecast_of_the_demo(cluster):
    ds = validate_tables(make_demo(seed=7, last_month="2026-10"), source="demo")
    products = ds.products
    # a handful of SKUs: the first of each status (active, new, phase_out, discontinued)
    skus = products.groupby("status", observed=True)["sku"].first().tolist()
    sales = ds.sales_history[ds.sales_history["sku"].isin(skus)]
    mine = products[products["sku"].isin(skus)]
    local = statistical_forecast(sales, "2026-11", 6, n_jobs=1, products=mine)
    with forecast_executor(cluster.scheduler_address) as executor:
        dask = statistical_forecast(sales, "2026-11", 6, executor=executor, products=mine)
    assert local.models["sku"].nunique() == len(skus) >= 4
    pd.testing.assert_frame_equal(dask.forecast, local.forecast, check_exact=True)
    pd.testing.assert_frame_equal(dask.models, local.models, check_exact=True)


def test_no_scheduler_means_this_machines_worker_processes():
    for empty in (None, "", "  "):
        with forecast_executor(empty) as executor:
            assert executor is None
    params = resolve_parameters(None)
    with forecast_executor(params.demand.scheduler) as executor:
        assert executor is None


def test_an_unreachable_scheduler_is_a_sentence_naming_the_address():
    with pytest.raises(
        SopError, match=r"No Dask scheduler answered at tcp://127\.0\.0\.1:1 "
    ) as info:
        _connect("tcp://127.0.0.1:1", timeout=0.5)
    said = str(info.value)
    assert "within 0.5 s" in said
    assert "leave demand.scheduler empty" in said
    assert info.value.__suppress_context__, "no chained traceback under the sentence"


def test_a_malformed_address_is_refused_before_any_connection():
    with pytest.raises(SopError, match=r"demand\.scheduler: expected a Dask scheduler address"):
        _connect("scheduler-without-port")


def test_a_scheduler_without_workers_is_refused_not_waited_on_forever():
    with distributed.LocalCluster(
        n_workers=0, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
    ) as empty:
        address = empty.scheduler_address
        with pytest.raises(SopError, match=rf"scheduler at {address} has no worker"):
            _connect(address, timeout=0.5)


def test_workers_without_this_sopkit_are_refused(cluster, monkeypatch):
    monkeypatch.setattr(backend_module, "_sopkit_version", lambda: "0.0.0-elsewhere")
    with pytest.raises(SopError, match=r"need sopkit 0\.0\.0-elsewhere, as here: tcp://"):
        _connect(cluster.scheduler_address)
