"""`almanac export mlflow`: a store pushed to the real `mlflow server`, read
back with the mlflow client, then exported again without duplicates."""

import shutil
import subprocess
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient

from conftest import Server, almanac_bin, start_mlflow_server
from test_import import make_history, view


def export(store, url, *extra):
    return subprocess.run([almanac_bin(), "--store", str(store), "export", "mlflow", url, *extra],
                          capture_output=True, text=True, timeout=600)


def by_origin(runs):
    """A view of MLflow's copies keyed by the Almanac run they came from,
    with the ids MLflow chose mapped back to Almanac's."""
    back = {rid: r["tags"]["almanac.run_id"] for rid, r in runs.items()}
    out = {}
    for rid, r in runs.items():
        tags = {k: v for k, v in r["tags"].items() if k != "almanac.run_id"}
        if "mlflow.parentRunId" in tags:
            tags["mlflow.parentRunId"] = back.get(tags["mlflow.parentRunId"], tags["mlflow.parentRunId"])
        out[back[rid]] = {**r, "tags": tags}
    return out


def test_export_to_a_real_mlflow_server_reads_back_and_is_idempotent(tmp_path):
    root = Path(tempfile.mkdtemp(prefix="export-"))
    proc, mlflow_uri = start_mlflow_server(root)
    almanac = Server(tmp_path / "store").start()
    try:
        made = make_history(almanac.uri, "")
        ours, our_registry = view(almanac.uri)

        first = export(almanac.store, mlflow_uri)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "runs:              8 new" in first.stdout, first.stdout

        theirs, registry = view(mlflow_uri)
        theirs = by_origin(theirs)
        assert set(theirs) == set(ours)
        for rid, expected in ours.items():
            for field in ("name", "status", "times", "lifecycle", "params", "tags", "metrics", "datasets", "artifacts"):
                assert theirs[rid][field] == expected[field], f"run {rid} field {field}"
        assert len(registry["versions"]) == 2 and registry["aliases"] == {"champion": "1"}
        assert registry["tags"] == {"owner": "ml"}
        # Traces keep their ids, records and spans.
        assert len(our_registry["traces"]) == 2
        assert set(registry["traces"]) == set(our_registry["traces"])
        for tid, expected in our_registry["traces"].items():
            for field, value in expected.items():
                assert registry["traces"][tid][field] == value, f"trace {tid} field {field}"

        # The model the registry names loads from MLflow and predicts as before.
        mlflow.set_tracking_uri(mlflow_uri)
        mlflow.set_registry_uri(mlflow_uri)
        model = mlflow.pyfunc.load_model("models:/churn-model@champion")
        assert list(model.predict([[5.0]])) == [10.0]
        assert mlflow.genai.load_prompt("prompts:/greeting/2").template == "Hi {{name}}!"

        # A trace whose spans never reached the server (as if the upload had
        # been cut off) gets them on the next export.
        cut = sorted(our_registry["traces"])[0]
        [spans_file] = (root / "server-artifacts").rglob(f"traces/{cut}/artifacts/traces.json")
        spans_file.unlink()

        again = export(almanac.store, mlflow_uri)
        assert again.returncode == 0, again.stderr
        assert "runs:              0 new, 0 updated, 8 unchanged" in again.stdout, again.stdout
        assert "0 new versions" in again.stdout, again.stdout
        assert "traces:            0 new, 1 had their spans re-sent" in again.stdout, again.stdout
        assert view(mlflow_uri)[1]["traces"][cut] == our_registry["traces"][cut]

        # New work goes out alone; an edit to an exported run goes out too.
        client = MlflowClient(almanac.uri)
        exp = client.get_experiment_by_name("vision")
        late = client.create_run(exp.experiment_id, run_name="late")
        client.log_metric(late.info.run_id, "loss", 0.5, step=1)
        client.set_terminated(late.info.run_id)
        client.set_tag(made["runs"][0], "reviewed", "yes")
        third = export(almanac.store, mlflow_uri, "--experiment", "vision", "--experiment", "churn")
        assert "runs:              1 new, 1 updated, 7 unchanged" in third.stdout, third.stdout
        remote = MlflowClient(mlflow_uri)
        found = remote.search_runs(
            [remote.get_experiment_by_name("churn").experiment_id],
            filter_string=f"tags.`almanac.run_id` = '{made['runs'][0]}'",
        )
        assert found[0].data.tags["reviewed"] == "yes"

        bad = export(almanac.store, "http://127.0.0.1:9")
        assert bad.returncode != 0 and "unreachable" in bad.stderr, bad.stderr
    finally:
        almanac.stop()
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def test_a_deleted_experiment_goes_out_deleted_with_its_runs(tmp_path):
    root = Path(tempfile.mkdtemp(prefix="export-deleted-"))
    proc, mlflow_uri = start_mlflow_server(root)
    almanac = Server(tmp_path / "store").start()
    try:
        client = MlflowClient(almanac.uri)
        exp = client.create_experiment("gone")
        runs = []
        for name in ("kept", "dropped"):
            run = client.create_run(exp, run_name=name)
            client.log_param(run.info.run_id, "lr", "0.1")
            client.log_metric(run.info.run_id, "loss", 0.5, step=1)
            client.set_terminated(run.info.run_id)
            runs.append(run.info.run_id)
        client.delete_run(runs[1])
        client.delete_experiment(exp)

        first = export(almanac.store, mlflow_uri)
        assert first.returncode == 0, first.stdout + first.stderr
        remote = MlflowClient(mlflow_uri)
        there = remote.get_experiment_by_name("gone")
        assert there.lifecycle_stage == "deleted"
        copies = remote.search_runs([there.experiment_id], run_view_type=3)
        by_origin = {r.data.tags["almanac.run_id"]: r for r in copies}
        assert set(by_origin) == set(runs)
        assert all(r.data.params == {"lr": "0.1"} and r.data.metrics == {"loss": 0.5} for r in copies)
        assert all(r.info.lifecycle_stage == "deleted" for r in copies)

        # Deleted on both sides with every run there: nothing to send.
        again = export(almanac.store, mlflow_uri)
        assert again.returncode == 0, again.stderr
        assert "0 new, 0 updated" in again.stdout, again.stdout
        assert remote.get_experiment_by_name("gone").lifecycle_stage == "deleted"

        # Restored here, it is restored there on the next export.
        client.restore_experiment(exp)
        third = export(almanac.store, mlflow_uri)
        assert third.returncode == 0, third.stderr
        assert remote.get_experiment_by_name("gone").lifecycle_stage == "active"
    finally:
        almanac.stop()
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
