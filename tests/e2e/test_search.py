"""search_runs over several hundred runs: filters, ordering and paging,
checked against the same selection computed in Python."""

import math
import random

import mlflow
import pytest
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

N_RUNS = 300


@pytest.fixture(scope="module")
def population(server):
    client = mlflow.MlflowClient(server.uri)
    exp = client.create_experiment(f"search-population-{random.getrandbits(40)}")
    rng = random.Random(42)
    runs = []
    for i in range(N_RUNS):
        run = client.create_run(exp, run_name=f"run-{i:03d}", start_time=1_000_000 + i)
        acc = round(rng.random(), 4)
        lr = rng.choice(["0.1", "0.01", "0.001"])
        model = rng.choice(["cnn", "CNN", "mlp", "resnet"])
        metrics = [Metric("acc", acc, 1, 0)] if i % 10 != 0 else []  # every 10th run lacks acc
        if i % 25 == 3:
            metrics = [Metric("acc", float("nan"), 1, 0)]
            acc = float("nan")
        tags = [RunTag("model", model)] + ([RunTag("golden", "yes")] if i % 7 == 0 else [])
        client.log_batch(run.info.run_id, metrics=metrics, params=[Param("lr", lr)], tags=tags)
        if i % 3 == 0:
            client.set_terminated(run.info.run_id, status="FINISHED", end_time=2_000_000 + i)
        runs.append(
            {
                "id": run.info.run_id,
                "i": i,
                "acc": acc if i % 10 != 0 else None,
                "lr": lr,
                "model": model,
                "golden": i % 7 == 0,
                "finished": i % 3 == 0,
                "start": 1_000_000 + i,
            }
        )
    return client, exp, runs


def ids(runs):
    return [r.info.run_id for r in runs]


def search_all(client, exp, filter_string="", order_by=None, page_size=1000):
    out, token = [], None
    while True:
        page = client.search_runs([exp], filter_string, max_results=page_size, order_by=order_by, page_token=token)
        out += ids(page)
        token = page.token
        if not token:
            return out


def by_start_desc(rows):
    return [r["id"] for r in sorted(rows, key=lambda r: -r["start"])]


def has_acc(r):
    return r["acc"] is not None and not math.isnan(r["acc"])


FILTERS = [
    ("metrics.acc > 0.5", lambda r: has_acc(r) and r["acc"] > 0.5),
    ("metrics.acc <= 0.25", lambda r: has_acc(r) and r["acc"] <= 0.25),
    ("metrics.acc != 0.5", lambda r: r["acc"] is not None),  # NaN satisfies !=, missing never matches
    ("params.lr = '0.01'", lambda r: r["lr"] == "0.01"),
    ("params.lr != '0.01'", lambda r: r["lr"] != "0.01"),
    ("tags.model LIKE 'c%'", lambda r: r["model"] == "cnn"),
    ("tags.model ILIKE 'c%'", lambda r: r["model"].lower() == "cnn"),
    ("tags.golden = 'yes' AND params.lr = '0.1'", lambda r: r["golden"] and r["lr"] == "0.1"),
    ("tags.golden IS NULL", lambda r: not r["golden"]),
    ("attributes.status = 'FINISHED'", lambda r: r["finished"]),
    ("attributes.status != 'FINISHED' AND metrics.acc > 0.9", lambda r: not r["finished"] and has_acc(r) and r["acc"] > 0.9),
    ("attributes.start_time >= 1000250", lambda r: r["start"] >= 1_000_250),
    ("attributes.run_name LIKE 'run-00%'", lambda r: r["i"] < 10),
    # Beyond MLflow: OR and parentheses.
    ("metrics.acc > 0.95 OR tags.model = 'resnet'", lambda r: (has_acc(r) and r["acc"] > 0.95) or r["model"] == "resnet"),
    (
        "(params.lr = '0.1' OR params.lr = '0.001') AND tags.model IN ('mlp', 'cnn')",
        lambda r: r["lr"] in ("0.1", "0.001") and r["model"] in ("mlp", "cnn"),
    ),
]


@pytest.mark.parametrize("filter_string,predicate", FILTERS, ids=[f for f, _ in FILTERS])
def test_filters(population, filter_string, predicate):
    client, exp, runs = population
    expected = by_start_desc([r for r in runs if predicate(r)])
    assert expected, "the population should make every filter select something"
    assert search_all(client, exp, filter_string) == expected


def test_run_id_in_list(population):
    client, exp, runs = population
    chosen = [runs[5]["id"], runs[77]["id"], runs[200]["id"]]
    quoted = ", ".join(f"'{c}'" for c in chosen)
    assert set(search_all(client, exp, f"attributes.run_id IN ({quoted})")) == set(chosen)


def test_order_by_metric_puts_nan_then_missing_last(population):
    client, exp, runs = population
    got = search_all(client, exp, order_by=["metrics.acc DESC"])
    numbers = sorted((r for r in runs if has_acc(r)), key=lambda r: (-r["acc"], -r["start"], r["id"]))
    nans = by_start_desc([r for r in runs if r["acc"] is not None and math.isnan(r["acc"])])
    missing = by_start_desc([r for r in runs if r["acc"] is None])
    assert got == [r["id"] for r in numbers] + nans + missing


def test_order_by_several_keys(population):
    client, exp, runs = population
    got = search_all(client, exp, order_by=["params.lr ASC", "attributes.start_time ASC"])
    expected = [r["id"] for r in sorted(runs, key=lambda r: (r["lr"], r["start"]))]
    assert got == expected


def test_paging_is_stable_and_complete(population):
    client, exp, runs = population
    for size in (1, 7, 100, 299, 300, 50000):
        if size == 1:
            got = search_all(client, exp, "attributes.run_name LIKE 'run-01%'", page_size=1)
            assert len(got) == 10
            continue
        got = search_all(client, exp, page_size=size)
        assert got == by_start_desc(runs), size


def test_max_results_bounds(population):
    client, exp, _ = population
    with pytest.raises(MlflowException) as e:
        client.search_runs([exp], max_results=50001)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


@pytest.mark.parametrize(
    "bad",
    ["metrics.acc > 'x'", "params.lr = 0.1", "foo.bar = 'x'", "metrics.acc >", "(metrics.acc > 1", "metrics.acc ~ 1", "(" * 500 + "metrics.acc > 1" + ")" * 500],
)
def test_malformed_filters_point_at_the_error(population, bad):
    client, exp, _ = population
    with pytest.raises(MlflowException) as e:
        client.search_runs([exp], bad)
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "position" in e.value.message


def test_view_type(population):
    client, exp, runs = population
    victim = runs[1]["id"]
    client.delete_run(victim)
    try:
        assert victim not in search_all(client, exp)
        deleted = client.search_runs([exp], run_view_type=ViewType.DELETED_ONLY)
        assert ids(deleted) == [victim]
        assert len(client.search_runs([exp], run_view_type=ViewType.ALL, max_results=1000)) == N_RUNS
    finally:
        client.restore_run(victim)
