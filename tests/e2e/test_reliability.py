"""Crashes, concurrency, shutdown and hostile input against a real server."""

import concurrent.futures
import os
import signal
import subprocess
import threading
import time

import mlflow
import pytest
import requests

from conftest import Server, almanac_bin


def test_kill_9_loses_no_acknowledged_write(fresh_server):
    client = mlflow.MlflowClient(fresh_server.uri)
    exp = client.create_experiment("storm")
    run_ids = [client.create_run(exp).info.run_id for _ in range(4)]
    acknowledged = {r: [] for r in run_ids}
    stop = threading.Event()

    def storm(run_id):
        url = fresh_server.uri + "/api/2.0/mlflow/runs/log-batch"
        step = 0
        session = requests.Session()
        while not stop.is_set():
            metrics = [{"key": "loss", "value": step + j, "timestamp": step + j, "step": step + j} for j in range(50)]
            try:
                r = session.post(url, json={"run_id": run_id, "metrics": metrics}, timeout=5)
            except requests.RequestException:
                return
            if r.status_code == 200:
                acknowledged[run_id].extend(range(step, step + 50))
            step += 50

    threads = [threading.Thread(target=storm, args=(r,)) for r in run_ids]
    for t in threads:
        t.start()
    time.sleep(1.5)
    fresh_server.proc.send_signal(signal.SIGKILL)
    fresh_server.proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert sum(len(v) for v in acknowledged.values()) > 1000, "the storm should have logged something"

    restarted = Server(fresh_server.store)
    restarted.start()
    try:
        client = mlflow.MlflowClient(restarted.uri)
        for run_id, steps in acknowledged.items():
            stored = {m.step for m in client.get_metric_history(run_id, "loss")}
            missing = set(steps) - stored
            assert not missing, f"{len(missing)} acknowledged points lost for {run_id}"
    finally:
        restarted.stop(signal.SIGKILL)


def test_eight_concurrent_clients_never_see_database_locked(server):
    client = mlflow.MlflowClient(server.uri)
    exp = client.create_experiment(f"concurrency-{time.time_ns()}")
    shared = client.create_run(exp).info.run_id
    errors = []

    def worker(n):
        own = client.create_run(exp).info.run_id
        session = requests.Session()
        url = server.uri + "/api/2.0/mlflow/runs/log-batch"
        for i in range(60):
            for run_id in (own, shared):
                body = {
                    "run_id": run_id,
                    "metrics": [{"key": f"w{n}", "value": i, "timestamp": i, "step": i}],
                    "params": [{"key": f"p{n}-{i}", "value": "x"}],
                }
                r = session.post(url, json=body, timeout=30)
                if r.status_code != 200:
                    errors.append(r.text)
        return own

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        owns = list(pool.map(worker, range(8)))
    assert not errors, errors[:3]
    run = client.get_run(shared)
    assert len(run.data.params) == 8 * 60
    for n, own in enumerate(owns):
        assert len(client.get_metric_history(own, f"w{n}")) == 60


def test_sigterm_stops_cleanly(fresh_server):
    client = mlflow.MlflowClient(fresh_server.uri)
    exp = client.create_experiment("before-shutdown")
    assert fresh_server.stop(signal.SIGTERM) == 0
    restarted = Server(fresh_server.store).start()
    try:
        assert mlflow.MlflowClient(restarted.uri).get_experiment(exp).name == "before-shutdown"
    finally:
        restarted.stop()


def test_refuses_non_loopback_without_allow_remote(tmp_path):
    result = subprocess.run(
        [almanac_bin(), "--store", str(tmp_path), "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "--allow-remote" in result.stderr


def test_prints_the_tracking_uri(fresh_server):
    fresh_server.stop(signal.SIGTERM)
    out = fresh_server.proc.stdout.read()
    assert f"MLFLOW_TRACKING_URI={fresh_server.uri}" in out


def test_store_from_environment(tmp_path):
    env = dict(os.environ, ALMANAC_HOME=str(tmp_path / "home"))
    srv = subprocess.Popen(
        [almanac_bin(), "serve", "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.time() + 20
        while not (tmp_path / "home" / "almanac.db").exists() and time.time() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "home" / "almanac.db").exists()
    finally:
        srv.kill()
        srv.wait()


@pytest.mark.parametrize(
    "path,body",
    [
        ("/runs/search", {"experiment_ids": ["0"], "filter": "(" * 100_000}),
        ("/runs/search", {"experiment_ids": "0", "max_results": "many"}),
        ("/runs/log-metric", {"run_id": 5, "key": "k", "value": 1, "timestamp": 1}),
        ("/runs/log-batch", {"run_id": "x", "metrics": "not a list"}),
        ("/runs/log-batch", {"run_id": "x", "metrics": [{"key": "a", "value": {}, "timestamp": 1}]}),
        ("/experiments/create", {"name": "x" * 501}),
        ("/experiments/create", {"name": ["list"]}),
        ("/runs/set-tag", {"run_id": "x" * 300, "key": "k", "value": "v"}),
        ("/runs/update", {"run_id": "nope", "status": "EXPLODED"}),
    ],
)
def test_hostile_input_gets_4xx_with_mlflow_code(server, path, body):
    r = requests.post(server.uri + "/api/2.0/mlflow" + path, json=body, timeout=30)
    assert 400 <= r.status_code < 500, r.text[:300]
    assert r.json()["error_code"] in {"INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST", "MALFORMED_REQUEST"}
    assert requests.get(server.uri + "/health").text == "OK"


def test_huge_filter_literal_is_just_a_filter(server):
    body = {"experiment_ids": ["0"], "filter": "params.x = '" + "y" * 1_000_000 + "'"}
    r = requests.post(server.uri + "/api/2.0/mlflow/runs/search", json=body, timeout=30)
    assert r.status_code == 200 and r.json() == {}
