"""The official mlflow client against `almanac serve`: what a training
script does, read back exactly."""

import math
import time

import mlflow
import pytest
import requests
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException, RestException


def error_code(exc_info) -> str:
    return exc_info.value.error_code


def test_experiments_lifecycle(client):
    name = f"exp-{time.time_ns()}"
    exp_id = client.create_experiment(name, tags={"team": "vision"})
    exp = client.get_experiment(exp_id)
    assert (exp.name, exp.lifecycle_stage, exp.tags) == (name, "active", {"team": "vision"})
    assert client.get_experiment_by_name(name).experiment_id == exp_id
    assert client.get_experiment_by_name("no-such-experiment") is None

    with pytest.raises(MlflowException) as e:
        client.create_experiment(name)
    assert error_code(e) == "RESOURCE_ALREADY_EXISTS"

    client.rename_experiment(exp_id, name + "-renamed")
    assert client.get_experiment(exp_id).name == name + "-renamed"
    client.set_experiment_tag(exp_id, "stage", "dev")
    assert client.get_experiment(exp_id).tags["stage"] == "dev"
    client.delete_experiment_tag(exp_id, "stage")
    assert "stage" not in client.get_experiment(exp_id).tags

    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    active = [e.experiment_id for e in client.search_experiments()]
    deleted = [e.experiment_id for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)]
    assert exp_id not in active and exp_id in deleted
    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"


def test_search_experiments_filters_orders_and_pages(client):
    prefix = f"sx-{time.time_ns()}"
    ids = [client.create_experiment(f"{prefix}-{i:02d}", tags={"parity": str(i % 2)}) for i in range(12)]
    found = client.search_experiments(filter_string=f"name LIKE '{prefix}%' AND tags.parity = '1'", order_by=["name DESC"])
    assert [e.name for e in found] == [f"{prefix}-{i:02d}" for i in range(11, 0, -2)]
    page = client.search_experiments(filter_string=f"name LIKE '{prefix}%'", max_results=5, order_by=["name"])
    seen = [e.experiment_id for e in page]
    while page.token:
        page = client.search_experiments(
            filter_string=f"name LIKE '{prefix}%'", max_results=5, order_by=["name"], page_token=page.token
        )
        seen += [e.experiment_id for e in page]
    assert seen == ids


def test_training_script_round_trip(client, experiment):
    with mlflow.start_run(run_name="train") as run:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"layers": 4, "optimizer": "adam"})
        for step in range(10):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step, timestamp=1_000 + step)
        mlflow.log_metrics({"acc": 0.93, "weird": float("nan"), "big": float("inf")}, step=9)
        mlflow.set_tag("owner", "alice")
        mlflow.set_tags({"a": "1", "b": "2"})
        run_id = run.info.run_id

    got = client.get_run(run_id)
    assert got.info.run_name == "train"
    assert got.info.status == "FINISHED"
    assert got.info.end_time is not None and got.info.end_time >= got.info.start_time
    assert got.info.experiment_id == experiment
    assert got.data.params == {"lr": "0.01", "layers": "4", "optimizer": "adam"}
    assert got.data.metrics["loss"] == pytest.approx(0.1)
    assert got.data.metrics["acc"] == pytest.approx(0.93)
    assert math.isnan(got.data.metrics["weird"])
    assert got.data.metrics["big"] == float("inf")
    assert got.data.tags["owner"] == "alice" and got.data.tags["mlflow.runName"] == "train"

    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.timestamp, m.value) for m in history] == [
        (s, 1_000 + s, pytest.approx(1.0 / (s + 1))) for s in range(10)
    ]


def test_unnamed_runs_get_a_generated_name(client, experiment):
    run = client.create_run(experiment)
    assert run.info.run_name and len(run.info.run_name.split("-")) == 3
    assert client.get_run(run.info.run_id).data.tags["mlflow.runName"] == run.info.run_name
    client.set_terminated(run.info.run_id)


def test_nested_runs_and_notes(client, experiment):
    with mlflow.start_run(run_name="parent") as parent:
        mlflow.set_tag("mlflow.note.content", "# Notes\nlearning rate sweep")
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("x", 1)
    assert client.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert client.get_run(parent.info.run_id).data.tags["mlflow.note.content"].startswith("# Notes")
    children = mlflow.search_runs(
        [experiment], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'", output_format="list"
    )
    assert [r.info.run_id for r in children] == [child.info.run_id]


def test_log_batch_and_its_limits(server, client, experiment):
    run_id = client.create_run(experiment).info.run_id
    now = int(time.time() * 1000)
    # The client splits big batches itself; check the result is whole.
    client.log_batch(
        run_id,
        metrics=[Metric("m", float(i), now + i, i) for i in range(1500)],
        params=[Param(f"p{i}", str(i)) for i in range(150)],
        tags=[RunTag(f"t{i}", str(i)) for i in range(100)],
    )
    run = client.get_run(run_id)
    assert len(run.data.params) == 150 and run.data.metrics["m"] == 1499.0
    assert len(client.get_metric_history(run_id, "m")) == 1500

    # MLflow's per-request limits, sent raw as another client might.
    url = server.uri + "/api/2.0/mlflow/runs/log-batch"
    metric = lambda i: {"key": "m2", "value": 1.0, "timestamp": now, "step": i}
    for body in (
        {"run_id": run_id, "params": [{"key": f"q{i}", "value": "v"} for i in range(101)]},
        {"run_id": run_id, "tags": [{"key": f"q{i}", "value": "v"} for i in range(101)]},
        {"run_id": run_id, "metrics": [metric(i) for i in range(1001)]},
        {"run_id": run_id, "metrics": [metric(i) for i in range(901)], "params": [{"key": f"q{i}", "value": "v"} for i in range(100)]},
        {"run_id": run_id, "params": [{"key": "q", "value": "1"}, {"key": "q", "value": "1"}]},
        {"run_id": run_id, "metrics": [{"key": "m2", "value": 1.0}]},
    ):
        r = requests.post(url, json=body)
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
    run = client.get_run(run_id)
    assert "q0" not in run.data.params and "q" not in run.data.params and "m2" not in run.data.metrics, "a refused batch writes nothing"


def test_params_are_immutable(client, experiment):
    run_id = client.create_run(experiment).info.run_id
    client.log_param(run_id, "lr", "0.1")
    client.log_param(run_id, "lr", "0.1")
    with pytest.raises(MlflowException) as e:
        client.log_param(run_id, "lr", "0.2")
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    assert "Changing param values is not allowed" in e.value.message
    assert client.get_run(run_id).data.params["lr"] == "0.1"


def test_tags_set_and_delete(client, experiment):
    run_id = client.create_run(experiment).info.run_id
    client.set_tag(run_id, "k", "v")
    client.set_tag(run_id, "k", "v2")
    assert client.get_run(run_id).data.tags["k"] == "v2"
    client.delete_tag(run_id, "k")
    assert "k" not in client.get_run(run_id).data.tags
    with pytest.raises(MlflowException) as e:
        client.delete_tag(run_id, "k")
    assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    client.set_tag(run_id, "mlflow.runName", "renamed")
    assert client.get_run(run_id).info.run_name == "renamed"


def test_update_run(client, experiment):
    run_id = client.create_run(experiment, run_name="before").info.run_id
    client.update_run(run_id, status="KILLED", name="after")
    run = client.get_run(run_id)
    assert (run.info.status, run.info.run_name, run.data.tags["mlflow.runName"]) == ("KILLED", "after", "after")


def test_delete_and_restore_runs(client, experiment):
    run_id = client.create_run(experiment).info.run_id
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == "deleted"
    assert run_id not in [r.info.run_id for r in client.search_runs([experiment])]
    assert run_id in [r.info.run_id for r in client.search_runs([experiment], run_view_type=ViewType.DELETED_ONLY)]
    with pytest.raises(MlflowException) as e:
        client.log_metric(run_id, "m", 1.0)
    assert error_code(e) == "INVALID_PARAMETER_VALUE"
    client.restore_run(run_id)
    client.log_metric(run_id, "m", 1.0)
    assert client.get_run(run_id).data.metrics["m"] == 1.0


def test_unknown_ids_and_bad_keys(client, experiment):
    for call in (
        lambda: client.get_run("0" * 32),
        lambda: client.get_experiment("123456789"),
        lambda: client.log_metric("f" * 32, "m", 1.0),
    ):
        with pytest.raises(MlflowException) as e:
            call()
        assert error_code(e) == "RESOURCE_DOES_NOT_EXIST"
    run_id = client.create_run(experiment).info.run_id
    for bad in ("../up", "a$b", "x" * 251, "/abs"):
        with pytest.raises(MlflowException) as e:
            client.log_metric(run_id, bad, 1.0)
        assert error_code(e) == "INVALID_PARAMETER_VALUE", bad
    # As in MLflow 3.17, an experiment's artifacts may not point the server at another host.
    for location in ("http://example.com/artifacts", "mlflow-artifacts://elsewhere:5000/x"):
        with pytest.raises(MlflowException) as e:
            client.create_experiment(f"elsewhere-{time.time_ns()}", artifact_location=location)
        assert error_code(e) == "INVALID_PARAMETER_VALUE", location
    # Too-long values are cut to MLflow's limits, as MLflow cuts them, not refused.
    client.log_param(run_id, "big", "v" * 6001)
    client.set_tag(run_id, "long", "t" * 9000)
    client.log_batch(run_id, params=[Param("big2", "é" * 7000)], tags=[RunTag("long2", "u" * 8001)])
    data = client.get_run(run_id).data
    assert (data.params["big"], data.params["big2"]) == ("v" * 6000, "é" * 6000)
    assert (data.tags["long"], data.tags["long2"]) == ("t" * 8000, "u" * 8000)


def test_log_inputs_and_dataset_search(client, experiment):
    import pandas as pd

    df = pd.DataFrame({"x": [1, 2, 3], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(df, name="toy", targets="y")
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
    got = client.get_run(run.info.run_id)
    assert [d.dataset.name for d in got.inputs.dataset_inputs] == ["toy"]
    assert got.inputs.dataset_inputs[0].dataset.digest == dataset.digest
    found = client.search_runs([experiment], filter_string="datasets.context = 'training' AND datasets.name = 'toy'")
    assert [r.info.run_id for r in found] == [run.info.run_id]
    found = client.search_runs([experiment], filter_string="`datasets`.`name` = 'toy'")
    assert [r.info.run_id for r in found] == [run.info.run_id]
    other = mlflow.data.from_pandas(df.assign(x=[4, 5, 6]), name="toy2", targets="y")
    with mlflow.start_run(run_id=run.info.run_id):
        mlflow.log_input(other, context="eval", tags={"zeta": "1", "alpha": "2"})
        # Input tags have MLflow's limits: a context over 500 characters is refused.
        with pytest.raises(MlflowException) as e:
            mlflow.log_input(other, context="c" * 501)
        assert error_code(e) == "INVALID_PARAMETER_VALUE"
    [_, second] = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert [t.key for t in second.tags] == ["alpha", "mlflow.data.context", "zeta"], "sorted by key, as MLflow lists them"


def test_raw_wire_details(server, experiment):
    base = server.uri + "/api/2.0/mlflow"
    assert requests.get(server.uri + "/health").text == "OK"
    assert requests.get(server.uri + "/version").text.startswith("3.")
    # Every route is mirrored under /ajax-api.
    r = requests.get(server.uri + "/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": experiment})
    assert r.status_code == 200 and r.json()["experiment"]["experiment_id"] == experiment
    r = requests.post(base + "/runs/create", json={"experiment_id": experiment, "start_time": 1_700_000_000_123})
    info = r.json()["run"]["info"]
    assert isinstance(info["start_time"], int) and info["start_time"] == 1_700_000_000_123
    r = requests.post(base + "/runs/log-metric", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error_code"] == "MALFORMED_REQUEST"
    r = requests.post(base + "/runs/log-metric", json={"run_id": info["run_id"], "key": "k", "value": [1], "timestamp": 1})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    r = requests.post(base + "/experiments/create", data=b"{" + b" " * (10 * 1024 * 1024) + b"}")
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
