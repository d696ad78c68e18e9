"""MLflow 3 tracing through the real client: traces logged with
`@mlflow.trace` and `start_span`, read back with `get_trace` and
`search_traces`, tagged, deleted; spans land as the trace's traces.json."""

import mlflow
import requests
from mlflow import MlflowClient


@mlflow.trace(span_type="TOOL")
def add(a, b):
    return a + b


@mlflow.trace(name="agent", span_type="AGENT")
def agent(question):
    with mlflow.start_span(name="retrieve", span_type="RETRIEVER") as span:
        span.set_inputs({"q": question})
        docs = [f"doc about {question}"]
        span.set_outputs(docs)
    return {"answer": add(len(question), 1), "docs": docs}


def log_traces(uri, experiment, n):
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment)
    for i in range(n):
        agent(f"question {i}")
    mlflow.flush_trace_async_logging()
    return mlflow.get_experiment_by_name(experiment).experiment_id


def test_traces_round_trip_with_spans_tags_and_deletes(server):
    exp_id = log_traces(server.uri, "tracing", 3)
    traces = mlflow.search_traces(locations=[exp_id], return_type="list")
    assert len(traces) == 3
    # Newest first; traces logged within one millisecond tie, so the last
    # one asked is found by its question, not by its place.
    times = [t.info.request_time for t in traces]
    assert times == sorted(times, reverse=True)
    newest = next(t for t in traces if "question 2" in t.info.request_preview)
    assert newest.info.request_time == times[0]
    assert newest.info.state == "OK"
    assert newest.info.experiment_id == exp_id
    names = sorted(s.name for s in newest.data.spans)
    assert names == ["add", "agent", "retrieve"], names
    root = next(s for s in newest.data.spans if s.parent_id is None)
    assert root.name == "agent" and root.outputs["answer"] == len("question 2") + 1
    retrieve = next(s for s in newest.data.spans if s.name == "retrieve")
    assert retrieve.parent_id == root.span_id and retrieve.inputs == {"q": "question 2"}

    # get_trace reads the same spans back; the spans file is a stored artifact.
    one = mlflow.get_trace(newest.info.trace_id)
    assert sorted(s.name for s in one.data.spans) == names
    location = one.info.tags["mlflow.artifactLocation"]
    assert location == f"mlflow-artifacts:/{exp_id}/traces/{one.info.trace_id}/artifacts"
    body = requests.get(
        f"{server.uri}/api/2.0/mlflow-artifacts/artifacts/{exp_id}/traces/{one.info.trace_id}/artifacts/traces.json"
    )
    assert body.status_code == 200 and b'"spans"' in body.content

    # Search: filters, order and pages as MLflow answers them.
    client = MlflowClient()
    client.set_trace_tag(newest.info.trace_id, "reviewed", "yes")
    hits = client.search_traces(locations=[exp_id], filter_string="tags.reviewed = 'yes'")
    assert [t.info.trace_id for t in hits] == [newest.info.trace_id]
    assert len(client.search_traces(locations=[exp_id], filter_string="trace.status = 'OK'")) == 3
    assert len(client.search_traces(locations=[exp_id], filter_string="trace.name = 'agent'")) == 3
    oldest_first = client.search_traces(locations=[exp_id], order_by=["timestamp_ms ASC"])
    # Traces logged within one millisecond tie; ties keep id order both ways.
    times = [t.info.request_time for t in oldest_first]
    assert times == sorted(times) and {t.info.trace_id for t in oldest_first} == {t.info.trace_id for t in traces}
    newest_first = [t.info.request_time for t in traces]
    assert newest_first == sorted(newest_first, reverse=True)
    page = client.search_traces(locations=[exp_id], max_results=2)
    assert len(page) == 2 and page.token
    rest = client.search_traces(locations=[exp_id], max_results=2, page_token=page.token)
    assert len(rest) == 1 and not rest.token
    client.delete_trace_tag(newest.info.trace_id, "reviewed")
    assert "reviewed" not in mlflow.get_trace(newest.info.trace_id).info.tags

    # Deletes: by id, then the oldest by time.
    assert client.delete_traces(exp_id, trace_ids=[newest.info.trace_id]) == 1
    assert mlflow.get_trace(newest.info.trace_id) is None
    assert client.delete_traces(exp_id, max_timestamp_millis=2**62, max_traces=1) == 1
    left = mlflow.search_traces(locations=[exp_id], return_type="list")
    # The oldest of the two left went; a tie in time goes by id.
    others = [t for t in traces if t.info.trace_id != newest.info.trace_id]
    survivor = max(others, key=lambda t: (t.info.request_time, t.info.trace_id))
    assert [t.info.trace_id for t in left] == [survivor.info.trace_id]


def test_trace_input_mistakes_get_mlflow_errors(server):
    exp_id = log_traces(server.uri, "tracing-bad", 1)
    base = f"{server.uri}/api/3.0/mlflow/traces"
    info = {
        "trace_id": "tr-0123",
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp_id}},
        "request_time": "2026-11-27T00:00:00Z",
        "state": "OK",
    }
    cases = [
        ({**info, "trace_id": "../../etc"}, 400, "INVALID_PARAMETER_VALUE"),
        ({**info, "state": "FINE"}, 400, "INVALID_PARAMETER_VALUE"),
        ({**info, "request_time": "yesterday"}, 400, "INVALID_PARAMETER_VALUE"),
        ({**info, "execution_duration": "fast"}, 400, "INVALID_PARAMETER_VALUE"),
        ({**info, "trace_location": {"mlflow_experiment": {"experiment_id": "98765"}}}, 404, "RESOURCE_DOES_NOT_EXIST"),
        ({**info, "trace_location": {"type": "INFERENCE_TABLE"}}, 400, "INVALID_PARAMETER_VALUE"),
    ]
    for body, status, code in cases:
        r = requests.post(base, json={"trace": {"trace_info": body}})
        assert (r.status_code, r.json().get("error_code")) == (status, code), (body, r.text)
    r = requests.get(f"{base}/tr-nope")
    assert (r.status_code, r.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    r = requests.post(f"{base}/search", json={"locations": [], "max_results": 10})
    assert r.status_code == 400
    r = requests.post(f"{base}/search", json={
        "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": exp_id}}],
        "filter": "params.lr = '1'",
    })
    assert (r.status_code, r.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), r.text
    r = requests.post(f"{server.uri}/api/2.0/mlflow/traces/delete-traces", json={"experiment_id": exp_id})
    assert r.status_code == 400
    r = requests.post(f"{server.uri}/v1/traces", data=b"\x00", headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 501 and "REST OTLP span logging is not supported" in r.text
    # Nothing half-written: the one good trace is all there is.
    assert len(mlflow.search_traces(locations=[exp_id], return_type="list")) == 1


def test_traces_sync_between_stores(tmp_path):
    """Traces are journaled like everything else: they sync with the store."""
    import subprocess

    from conftest import Server, almanac_bin

    remote = tmp_path / "team.git"
    subprocess.run(["git", "init", "--bare", "-q", str(remote)], check=True)
    alice, bob = Server(tmp_path / "alice").start(), Server(tmp_path / "bob").start()
    try:
        sync_two(alice, bob, remote, almanac_bin())
    finally:
        alice.stop()
        bob.stop()


def sync_two(alice, bob, remote, almanac):
    import subprocess

    exp_id = log_traces(alice.uri, "shared-traces", 2)
    trace_ids = sorted(t.info.trace_id for t in mlflow.search_traces(locations=[exp_id], return_type="list"))
    for s in (alice, bob):
        subprocess.run([almanac, "--store", str(s.store), "remote", "add", "team", str(remote)], check=True)
    for s in (alice, bob):
        out = subprocess.run([almanac, "--store", str(s.store), "sync"], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
    mlflow.set_tracking_uri(bob.uri)
    bob_exp = mlflow.get_experiment_by_name("shared-traces").experiment_id
    infos = MlflowClient().search_traces(locations=[bob_exp], include_spans=False)
    assert sorted(t.info.trace_id for t in infos) == trace_ids
