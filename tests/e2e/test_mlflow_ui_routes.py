"""The routes MLflow's own web UI calls under /ajax-api (the mlflow client
never does), sent as raw HTTP the way that UI sends them."""

import math

import requests
from mlflow import MlflowClient

BULK = "/ajax-api/2.0/mlflow/metrics/get-history-bulk"


def test_get_history_bulk_returns_every_point_of_each_run_in_order(server):
    client = MlflowClient(server.uri)
    exp = client.create_experiment("ui-bulk")
    runs = [client.create_run(exp).info.run_id for _ in range(2)]
    for i, rid in enumerate(runs):
        for step, value in [(2, 0.5), (0, 1.0), (1, float("nan"))]:
            client.log_metric(rid, "loss", value + i, step=step, timestamp=1000 + step)
    got = requests.get(f"{server.uri}{BULK}", params=[("run_id", runs[0]), ("run_id", runs[1]), ("metric_key", "loss")])
    assert got.status_code == 200, got.text
    points = got.json()["metrics"]
    assert [(p["run_id"], p["step"]) for p in points] == [(r, s) for r in runs for s in (0, 1, 2)]
    assert all(p["key"] == "loss" for p in points)
    assert points[0]["value"] == 1.0 and points[2]["value"] == 0.5
    assert points[1]["value"] == "NaN" or math.isnan(float(points[1]["value"]))

    capped = requests.get(f"{server.uri}{BULK}", params=[("run_id", runs[0]), ("run_id", runs[1]),
                                                         ("metric_key", "loss"), ("max_results", "4")]).json()
    assert len(capped["metrics"]) == 4
    # An unknown run or key has no points, and the list is still there.
    empty = requests.get(f"{server.uri}{BULK}", params={"run_id": "0" * 32, "metric_key": "loss"})
    assert (empty.status_code, empty.json()) == (200, {"metrics": []})


def test_get_history_bulk_refuses_bad_requests_in_mlflow_s_words(server):
    for params, message in [
        ({"metric_key": "loss"}, "GetMetricHistoryBulk request must specify at least one run_id."),
        ({"run_id": "0" * 32}, "GetMetricHistoryBulk request must specify a metric_key."),
        ([("run_id", f"{i:032x}") for i in range(101)] + [("metric_key", "m")],
         "GetMetricHistoryBulk request cannot specify more than 100 run_ids. Received 101 run_ids."),
    ]:
        r = requests.get(f"{server.uri}{BULK}", params=params)
        assert r.status_code == 400, r.text
        assert r.json() == {"error_code": "INVALID_PARAMETER_VALUE", "message": message}


def test_search_datasets_lists_each_dataset_with_its_context(server):
    import mlflow
    import pandas as pd

    client = MlflowClient(server.uri)
    exp = client.create_experiment("ui-datasets")
    mlflow.set_tracking_uri(server.uri)
    frame = pd.DataFrame({"a": [1, 2, 3]})
    for context in ("training", "eval"):
        with mlflow.start_run(experiment_id=exp):
            mlflow.log_input(mlflow.data.from_pandas(frame, name="iris", source="s3://b/iris.csv"), context=context)
    got = requests.post(f"{server.uri}/ajax-api/2.0/mlflow/experiments/search-datasets", json={"experiment_ids": [exp]})
    assert got.status_code == 200, got.text
    summaries = got.json()["dataset_summaries"]
    assert sorted(s["context"] for s in summaries) == ["eval", "training"]
    assert {(s["experiment_id"], s["name"]) for s in summaries} == {(exp, "iris")}
    assert len({s["digest"] for s in summaries}) == 1

    for body, message in [
        ({}, "SearchDatasets request must specify at least one experiment_id."),
        ({"experiment_ids": [str(i) for i in range(21)]},
         "SearchDatasets request cannot specify more than 20 experiment_ids. Received 21 experiment_ids."),
    ]:
        r = requests.post(f"{server.uri}/ajax-api/2.0/mlflow/experiments/search-datasets", json=body)
        assert (r.status_code, r.json()) == (400, {"error_code": "INVALID_PARAMETER_VALUE", "message": message})


def test_a_trace_s_spans_and_a_logged_model_s_files_download_as_the_ui_asks(server):
    import mlflow
    from traced_agent import log_agent_traces

    mlflow.set_tracking_uri(server.uri)
    exp = MlflowClient(server.uri).create_experiment("ui-downloads")
    mlflow.set_experiment(experiment_id=exp)
    log_agent_traces(["what is up"], prefix="ui-")
    [trace] = mlflow.search_traces(locations=[exp], return_type="list")
    got = requests.get(f"{server.uri}/ajax-api/2.0/mlflow/get-trace-artifact", params={"request_id": trace.info.trace_id})
    assert got.status_code == 200, got.text
    names = sorted(s["name"] for s in got.json()["spans"])
    assert names == ["ui-agent", "ui-retrieve"]
    missing = requests.get(f"{server.uri}/ajax-api/2.0/mlflow/get-trace-artifact")
    assert missing.status_code == 400 and missing.json()["error_code"] == "BAD_REQUEST"
    unknown = requests.get(f"{server.uri}/ajax-api/2.0/mlflow/get-trace-artifact", params={"request_id": "tr-" + "0" * 32})
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"

    model = mlflow.initialize_logged_model(name="ui-model", experiment_id=exp)
    mlflow.log_model_params({"alpha": "1"}, model_id=model.model_id)
    client = MlflowClient(server.uri)
    with open("/tmp/almanac-ui-model-note.txt", "w") as f:
        f.write("model notes")
    client.log_model_artifact(model.model_id, "/tmp/almanac-ui-model-note.txt")
    url = f"{server.uri}/ajax-api/2.0/mlflow/logged-models/{model.model_id}/artifacts/files"
    got = requests.get(url, params={"artifact_file_path": "almanac-ui-model-note.txt"})
    assert (got.status_code, got.content) == (200, b"model notes")
    for params, status, code in [({}, 400, "BAD_REQUEST"), ({"artifact_file_path": "../../x"}, 400, "INVALID_PARAMETER_VALUE"),
                                 ({"artifact_file_path": "nope.txt"}, 404, "RESOURCE_DOES_NOT_EXIST")]:
        r = requests.get(url, params=params)
        assert (r.status_code, r.json()["error_code"]) == (status, code), (params, r.text)


def test_traces_get_answers_the_record_with_spans_mlflow_s_own_parser_reads(server):
    import mlflow
    from mlflow.entities import Trace
    from mlflow.protos.service_pb2 import GetTrace
    from mlflow.utils.proto_json_utils import parse_dict
    from traced_agent import log_agent_traces

    mlflow.set_tracking_uri(server.uri)
    exp = MlflowClient(server.uri).create_experiment("ui-traces-get")
    mlflow.set_experiment(experiment_id=exp)
    log_agent_traces(["where"], prefix="get-")
    [info] = mlflow.search_traces(locations=[exp], return_type="list")
    for prefix in ("/ajax-api/3.0/mlflow", "/api/3.0/mlflow"):
        got = requests.get(f"{server.uri}{prefix}/traces/get", params={"trace_id": info.info.trace_id})
        assert got.status_code == 200, got.text
        message = GetTrace.Response()
        parse_dict(got.json(), message)
        trace = Trace.from_proto(message.trace)
        assert trace.info.trace_id == info.info.trace_id
        spans = {s.name: s for s in trace.data.spans}
        assert set(spans) == {"get-agent", "get-retrieve"}
        assert spans["get-retrieve"].inputs == {"q": "where"}
        assert spans["get-agent"].outputs == {"answer": 5}
        assert spans["get-retrieve"].parent_id == spans["get-agent"].span_id
    missing = requests.get(f"{server.uri}/api/3.0/mlflow/traces/get")
    assert missing.status_code == 400 and "trace_id" in missing.json()["message"]
    unknown = requests.get(f"{server.uri}/api/3.0/mlflow/traces/get", params={"trace_id": "tr-" + "0" * 32})
    assert unknown.status_code == 404 and unknown.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_upload_artifact_puts_the_body_into_the_run_s_artifacts(server):
    client = MlflowClient(server.uri)
    run = client.create_run(client.create_experiment("ui-upload")).info.run_id
    url = f"{server.uri}/ajax-api/2.0/mlflow/upload-artifact"
    got = requests.post(url, params={"run_uuid": run, "path": "notes/readme.md"}, data=b"# hello")
    assert got.status_code == 200, got.text
    assert [f.path for f in client.list_artifacts(run, "notes")] == ["notes/readme.md"]
    back = requests.get(f"{server.uri}/get-artifact", params={"run_id": run, "path": "notes/readme.md"})
    assert back.content == b"# hello"
    for params, data, message in [
        ({"path": "a.txt"}, b"x", "Request must specify run_uuid."),
        ({"run_uuid": run}, b"x", "Request must specify path."),
        ({"run_uuid": run, "path": "a.txt"}, b"", "Request must specify data."),
        ({"run_uuid": run, "path": "big.bin"}, b"0" * (10 * 1024 * 1024 + 1), "Artifact size is too large. Max size is 10MB."),
    ]:
        r = requests.post(url, params=params, data=data)
        assert (r.status_code, r.json()) == (400, {"error_code": "INVALID_PARAMETER_VALUE", "message": message})
    escape = requests.post(url, params={"run_uuid": run, "path": "../../etc/x"}, data=b"x")
    assert escape.status_code == 400 and escape.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    unknown = requests.post(url, params={"run_uuid": "0" * 32, "path": "a.txt"}, data=b"x")
    assert unknown.status_code == 404
