"""Tests for mytorch/sweep.py: grid and random sweeps of `mytorch train` runs on Dask."""

from __future__ import annotations

import csv
import json
import os
import shutil

import distributed  # noqa: E402, F401
import numpy as np
import pytest

import mytorch  # noqa: E402
from mytorch.cli import main  # noqa: E402
from mytorch.integrations.sweep import (  # noqa: E402
    expand_runs,
    load_sweep,
    run_name,
    run_one,
    run_sweep,
)
from mytorch.integrations.sweep.cluster import _client  # noqa: E402

BASE = {
    "dataset": "digits",
    "epochs": 2,
    "hidden": [8],
    "activation": "relu",
    "init": "kaiming",
    "optimizer": "adam",
    "standardize": True,
    "batch_size": 64,
}
#: 8 runs; lr = -1 is an invalid setting, so exactly that run fails.
SWEEP = {"train": BASE, "grid": {"lr": [0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, -1.0]}}
GRID_2D = {"train": BASE, "grid": {"lr": [0.003, 0.01, 0.03], "hidden": [[8], [4]]}}


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of 2 single-threaded worker processes shared by the tests here."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    ) as local_cluster:
        yield local_cluster


@pytest.fixture(scope="module")
def finished_sweep(cluster, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    result = run_sweep(SWEEP, out, scheduler=cluster.scheduler_address)
    return out, result


# ------------------------------------------------------------------ planning, no cluster
def test_grid_expands_to_every_combination_in_file_order():
    runs = expand_runs(load_sweep(GRID_2D))
    assert len(runs) == 6
    assert [swept for swept, _ in runs[:3]] == [
        {"lr": 0.003, "hidden": [8]},
        {"lr": 0.003, "hidden": [4]},
        {"lr": 0.01, "hidden": [8]},
    ]
    assert all(
        settings["epochs"] == 2 and settings["lr"] == swept["lr"] for swept, settings in runs
    )


def test_random_search_is_reproducible_and_stays_in_its_ranges():
    spec = {
        "train": BASE,
        "random": {
            "n_trials": 20,
            "seed": 3,
            "lr": {"low": 1e-4, "high": 1e-1, "log": True},
            "batch_size": {"low": 16, "high": 128, "integer": True},
            "hidden": [[8], [16, 8]],
            "dropout": {"low": 0.0, "high": 0.5},
        },
    }
    first, again = expand_runs(load_sweep(spec)), expand_runs(load_sweep(spec))
    assert first == again and len(first) == 20
    for swept, _ in first:
        assert 1e-4 <= swept["lr"] <= 1e-1 and 0 <= swept["dropout"] <= 0.5
        assert isinstance(swept["batch_size"], int) and 16 <= swept["batch_size"] <= 128
        assert swept["hidden"] in ([8], [16, 8])


def test_run_names_are_deterministic_readable_and_distinct():
    runs = expand_runs(load_sweep(GRID_2D))
    names = [run_name(swept, settings) for swept, settings in runs]
    assert names == [run_name(swept, settings) for swept, settings in runs]
    assert len(set(names)) == len(names)
    assert names[0].startswith("lr=0.003_hidden=8_")
    assert run_name({"lr": -1.0}, {"lr": -1.0}).startswith("lr=-1_")
    # A changed base setting gives a new directory, so resuming never mixes settings.
    other = run_name({"lr": 0.003}, {**BASE, "lr": 0.003, "epochs": 3})
    assert other != run_name({"lr": 0.003}, {**BASE, "lr": 0.003})


def test_malformed_sweeps_are_rejected_with_the_reason(tmp_path):
    with pytest.raises(ValueError, match="either \\[grid\\] or \\[random\\]"):
        load_sweep({"grid": {"lr": [0.1]}, "random": {"n_trials": 2}})
    with pytest.raises(ValueError, match="unknown settings \\['learning_rate'\\] in \\[grid\\]"):
        load_sweep({"grid": {"learning_rate": [0.1]}})
    with pytest.raises(ValueError, match="non-empty list"):
        load_sweep({"grid": {"lr": []}})
    with pytest.raises(ValueError, match="n_trials"):
        load_sweep({"random": {"lr": [0.1]}})
    with pytest.raises(ValueError, match="low = A, high = B"):
        load_sweep({"random": {"n_trials": 2, "lr": {"low": 0.0, "high": 1.0, "log": True}}})
    toml = tmp_path / "sweep.toml"
    toml.write_text("[train]\nepochs = 2\n[grid]\nlr = [0.1, 0.2]\n[sweep]\nn_workers = 3\n")
    spec = load_sweep(toml)
    assert spec.base == {"epochs": 2} and spec.options == {"n_workers": 3}


def test_run_one_reports_a_failure_instead_of_raising(tmp_path):
    row = run_one("bad", {**BASE, "lr": -1.0}, str(tmp_path / "bad"), blas_threads=1)
    assert row["status"] == "failed" and "--lr expected a positive number" in row["error"]
    assert (tmp_path / "bad" / "error.txt").exists()


@pytest.mark.parametrize("activation, scheme", [("relu", "kaiming"), ("tanh", "xavier")])
def test_a_run_without_init_chooses_it_by_the_activation(tmp_path, activation, scheme):
    settings = {**BASE, "activation": activation, "epochs": 1}
    del settings["init"]
    row = run_one("auto", settings, str(tmp_path / "run"))
    assert row["status"] == "ok", row["error"]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["init"] == scheme


def test_local_cluster_workers_get_cores_divided_by_workers_blas_threads():
    with _client(None, 2, None) as (client, threads, _):
        expected = str(max(1, (os.cpu_count() or 1) // 2))
        environments = client.run(lambda: os.environ.get("OPENBLAS_NUM_THREADS"))
    assert threads == int(expected)
    assert list(environments.values()) == [expected, expected]


# ------------------------------------------------------------------ sweeps on the cluster
@pytest.mark.slow
def test_sweep_runs_all_points_and_records_the_failed_one(finished_sweep):
    out, result = finished_sweep
    assert len(result.runs) == 8 and len(result.executed) == 8
    failed = [row for row in result.runs if row["status"] == "failed"]
    assert [row["settings"]["lr"] for row in failed] == [-1.0]
    assert all("--lr expected a positive number" in row["error"] for row in failed)
    ok = [row for row in result.runs if row["status"] == "ok"]
    assert all(0 <= row["test_accuracy"] <= 1 and row["best_val_loss"] > 0 for row in ok)
    assert result.best["best_val_loss"] == min(row["best_val_loss"] for row in ok)


@pytest.mark.slow
def test_sweep_writes_results_plot_and_best_model(finished_sweep):
    out, result = finished_sweep
    with open(out / "results.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 8 and [row["status"] for row in rows].count("failed") == 1
    assert {
        "run",
        "status",
        "test_accuracy",
        "best_val_loss",
        "seconds",
        "error",
        "lr",
        "hidden",
    } <= set(rows[0])
    document = json.loads((out / "results.json").read_text())
    assert document["best"] == result.best["run"] and document["swept"] == ["lr"]
    assert (out / "best_runs.png").stat().st_size > 0
    best = mytorch.load(out / "best_model.npz")
    original = mytorch.load(out / "runs" / result.best["run"] / "model.npz")
    x = np.random.default_rng(0).normal(size=(3, 64))
    np.testing.assert_array_equal(best(x), original(x))


@pytest.mark.slow
def test_resumed_sweep_runs_only_what_is_missing(finished_sweep, cluster):
    out, first = finished_sweep
    removed = next(row["run"] for row in first.runs if row["status"] == "ok")
    shutil.rmtree(out / "runs" / removed)
    again = run_sweep(SWEEP, out, scheduler=cluster.scheduler_address)
    failed = [row["run"] for row in first.runs if row["status"] == "failed"]
    # The removed run and the failed one (it has no report.json) run again.
    assert sorted(again.executed) == sorted([removed, *failed])
    assert sum(row["resumed"] for row in again.runs) == 8 - 2
    assert [row["status"] for row in again.runs] == [row["status"] for row in first.runs]


@pytest.mark.slow
def test_sweep_command_line_on_an_existing_cluster(cluster, tmp_path, capsys):
    toml = tmp_path / "one.toml"
    toml.write_text(
        '[train]\ndataset = "digits"\nepochs = 1\nhidden = [4]\n'
        'optimizer = "adam"\nlr = 0.01\n[grid]\nseed = [0]\n'
    )
    status = main(
        [
            "sweep",
            str(toml),
            "--scheduler",
            cluster.scheduler_address,
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert status == 0
    assert "1 ok, 0 failed" in capsys.readouterr().out
    assert (tmp_path / "out" / "best_model.npz").exists()
