"""`almanac import mlflow` against stores the real mlflow library wrote: a
file store and a SQLite database. Everything MLflow reads back from its own
store must read back the same from Almanac."""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import ViewType

from conftest import Server, almanac_bin, start_mlflow_server

os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
HERE = Path(__file__).parent
EXPERIMENTS = ("churn", "vision")


def make_history(uri, artifact_root, script="mlflow_history.py"):
    """Runs a seed script with the mlflow library against `uri`; returns what it made."""
    out = subprocess.run(
        [sys.executable, str(HERE / script), uri, str(artifact_root)],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def seeded_source(kind, script):
    """An MLflow store of `kind` (file store, SQLite or a running server)
    seeded by `script`; yields its URIs and what the script made."""
    root = Path(tempfile.mkdtemp(prefix=f"mlflow-{kind}-"))
    proc = None
    if kind == "server":
        proc, uri = start_mlflow_server(root)
        made = make_history(uri, "", script)
        arg = uri
    else:
        uri = f"file://{root}/mlruns" if kind == "file" else f"sqlite:///{root}/mlflow.db"
        made = make_history(uri, root / "artifacts", script)
        arg = uri if kind == "sqlite" else str(root / "mlruns")
    yield {"kind": kind, "uri": uri, "arg": arg, "made": made, "root": root}
    if proc:
        proc.terminate()
        proc.wait(timeout=30)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module", params=["file", "sqlite", "server"])
def source(request):
    yield from seeded_source(request.param, "mlflow_history.py")


def import_into(store, source_arg, *extra):
    return subprocess.run([almanac_bin(), "--store", str(store), "import", "mlflow", source_arg, *extra],
                          capture_output=True, text=True, timeout=600)


def sha_of_artifacts(client, run_id, path=None):
    out = {}
    for f in client.list_artifacts(run_id, path):
        if f.is_dir:
            out.update(sha_of_artifacts(client, run_id, f.path))
        else:
            with tempfile.TemporaryDirectory() as d:
                local = client.download_artifacts(run_id, f.path, d)
                out[f.path] = hashlib.sha256(Path(local).read_bytes()).hexdigest()
    return out


def view(uri):
    """Everything a user reads through the client, keyed by stable names."""
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    runs = {}
    for name in EXPERIMENTS:
        exp = client.get_experiment_by_name(name)
        for r in client.search_runs([exp.experiment_id], run_view_type=ViewType.ALL, max_results=1000):
            rid = r.info.run_id
            histories = {
                key: sorted({(m.step, m.timestamp, repr(m.value)) for m in client.get_metric_history(rid, key)})
                for key in r.data.metrics
            }
            runs[rid] = {
                "experiment": name,
                "name": r.info.run_name,
                "status": r.info.status,
                "times": (r.info.start_time, r.info.end_time),
                "lifecycle": r.info.lifecycle_stage,
                "params": r.data.params,
                "tags": r.data.tags,
                "metrics": histories,
                "datasets": sorted(
                    (i.dataset.name, i.dataset.digest, i.dataset.source, sorted((t.key, t.value) for t in i.tags))
                    for i in r.inputs.dataset_inputs
                ),
                "artifacts": sha_of_artifacts(client, rid),
            }
    # Stores differ in whether a search lists each version's aliases and
    # whether `version` is a number or a string; the registered model's
    # alias map is the comparable truth.
    versions = sorted(
        (str(v.version), v.source, v.run_id, v.tags, v.current_stage)
        for v in client.search_model_versions("name='churn-model'")
    )
    model = client.get_registered_model("churn-model")
    aliases = {alias: str(version) for alias, version in model.aliases.items()}
    registry = {"versions": versions, "tags": model.tags, "description": model.description, "aliases": aliases}
    churn = client.get_experiment_by_name("churn").experiment_id
    # The client downloads spans through the global tracking URI, not its own.
    mlflow.set_tracking_uri(uri)
    traces = {}
    for t in client.search_traces(locations=[churn]):
        # Where the spans live is the store's business: Almanac names its own folder.
        tags = {k: v for k, v in t.info.tags.items() if k not in ("mlflow.artifactLocation", "mlflow.trace.spansLocation")}
        traces[t.info.trace_id] = {
            "state": str(t.info.state),
            "request_time": t.info.request_time,
            "duration": t.info.execution_duration,
            "previews": (t.info.request_preview, t.info.response_preview),
            "tags": tags,
            # Bookkeeping the receiving store writes for itself.
            "metadata": {k: v for k, v in t.info.trace_metadata.items()
                         if k not in ("mlflow.trace.sizeStats", "mlflow.trace.infoFinalized")},
            "spans": sorted((s.name, s.span_type, str(s.inputs), str(s.outputs)) for s in t.data.spans),
        }
    registry["traces"] = traces
    return runs, registry


def journal_size(store):
    with sqlite3.connect(store / "almanac.db") as db:
        return db.execute("SELECT count(*) FROM journal").fetchone()[0]


def test_import_reads_back_exactly_what_mlflow_reads(source, tmp_path):
    store = tmp_path / "store"
    first = import_into(store, source["arg"])
    assert first.returncode == 0, first.stdout + first.stderr
    assert "runs:              8 new" in first.stdout, first.stdout
    mlflow_runs, mlflow_registry = view(source["uri"])

    server = Server(store).start()
    try:
        almanac_runs, almanac_registry = view(server.uri)
        assert set(almanac_runs) == set(mlflow_runs)
        for rid, expected in mlflow_runs.items():
            got = almanac_runs[rid]
            for field in expected:
                assert got[field] == expected[field], f"run {rid} field {field}"
        assert mlflow_runs[source["made"]["deleted"]]["lifecycle"] == "deleted"
        assert len(mlflow_registry["traces"]) == 2 and sorted(mlflow_registry["traces"]) == source["made"]["traces"]
        assert all(len(t["spans"]) == 2 for t in mlflow_registry["traces"].values())
        assert set(almanac_registry["traces"]) == set(mlflow_registry["traces"])
        for tid, expected in mlflow_registry["traces"].items():
            for field, value in expected.items():
                assert almanac_registry["traces"][tid][field] == value, f"trace {tid} field {field}"
        assert almanac_registry == mlflow_registry

        # The old experiment id still finds the experiment.
        old_id = MlflowClient(source["uri"]).get_experiment_by_name("churn").experiment_id
        got = requests.get(f"{server.uri}/api/2.0/mlflow/experiments/get", params={"experiment_id": old_id}).json()
        assert got["experiment"]["name"] == "churn", got

        # The registered model loads and predicts as the original did.
        mlflow.set_tracking_uri(server.uri)
        mlflow.set_registry_uri(server.uri)
        model = mlflow.pyfunc.load_model("models:/churn-model@champion")
        assert list(model.predict([[5.0]])) == pytest.approx([10.0])
        assert mlflow.genai.load_prompt("prompts:/greeting/1").template == "Hello {{name}}"
        assert mlflow.genai.load_prompt("prompts:/greeting/2").template == "Hi {{name}}!"
        logged = MlflowClient(server.uri).get_logged_model(source["made"]["model_id"])
        assert logged.name == "model" and logged.source_run_id == source["made"]["model_run"]
    finally:
        server.stop()

    # Importing again creates nothing: not a run, not a journal entry.
    before = journal_size(store)
    again = import_into(store, source["arg"])
    assert again.returncode == 0, again.stderr
    assert "runs:              0 new, 0 updated, 8 unchanged" in again.stdout, again.stdout
    assert "traces:            0 new, 2 already here" in again.stdout, again.stdout
    assert journal_size(store) == before

    # A run added to the source later comes in alone; an edit made at the
    # source since comes in; an edit made here since is kept.
    src = MlflowClient(tracking_uri=source["uri"])
    first_run, second_run = source["made"]["runs"][:2]
    src.set_tag(first_run, "stage", "prod")
    server = Server(store).start()
    MlflowClient(server.uri).set_tag(second_run, "stage", "reviewed here")
    server.stop()
    exp = src.get_experiment_by_name("churn")
    late = src.create_run(exp.experiment_id, run_name="late")
    src.log_metric(late.info.run_id, "loss", 0.125, step=3)
    src.set_terminated(late.info.run_id)
    third = import_into(store, source["arg"])
    assert "runs:              1 new, 1 updated, 7 unchanged" in third.stdout, third.stdout
    server = Server(store).start()
    try:
        client = MlflowClient(server.uri)
        assert client.get_run(first_run).data.tags["stage"] == "prod"
        assert client.get_run(second_run).data.tags["stage"] == "reviewed here"
    finally:
        server.stop()
    dry = import_into(store, source["arg"], "--dry-run")
    assert "would import" in dry.stdout and "0 new, 0 updated, 9 unchanged" in dry.stdout, dry.stdout
    before = journal_size(store)
    import_into(store, source["arg"], "--dry-run")
    assert journal_size(store) == before


def test_a_corrupt_file_store_imports_the_rest_and_names_what_it_skipped(tmp_path):
    root = tmp_path / "src"
    made = make_history(f"file://{root}/mlruns", root / "artifacts")
    mlruns = root / "mlruns"
    metas = {p.parent.name: p for p in mlruns.glob("*/*/meta.yaml")}
    truncated, bad_metric, no_artifacts, *healthy = [r for r in made["runs"] if r in metas]
    meta = metas[truncated]
    meta.write_text(meta.read_text()[:40])
    with open(metas[bad_metric].parent / "metrics" / "loss", "a") as f:
        f.write("1700000000000 not-a-number 7\n")
    # This run keeps its artifacts outside the run folder (the experiment's
    # artifact root): remove the whole folder the run points at.
    art_dir = Path(
        [line.split(": ", 1)[1] for line in metas[no_artifacts].read_text().splitlines()
         if line.startswith("artifact_uri")][0].replace("file://", "")
    )
    shutil.rmtree(art_dir)

    store = tmp_path / "store"
    result = import_into(store, str(mlruns))
    assert result.returncode != 0
    assert f"run {truncated}" in result.stderr and str(meta) in result.stderr, result.stderr
    assert f"run {bad_metric}" in result.stderr and "bad metric line" in result.stderr, result.stderr
    assert "not-a-number" in result.stderr, result.stderr

    server = Server(store).start()
    try:
        client = MlflowClient(server.uri)
        for rid in healthy:
            assert client.get_run(rid).info.run_id == rid
        # A run whose artifact folder (outside its run folder) is gone is
        # indistinguishable from one that never logged artifacts, which MLflow
        # does not create a folder for: its records come in.
        assert client.get_run(no_artifacts).info.run_id == no_artifacts
        assert client.list_artifacts(no_artifacts) == []
        for rid in (truncated, bad_metric):
            with pytest.raises(mlflow.exceptions.MlflowException, match="RESOURCE_DOES_NOT_EXIST|not found"):
                client.get_run(rid)
    finally:
        server.stop()


def test_the_wrong_kind_of_source_fails_fast_and_clearly(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a database")
    for arg, message in [
        (str(text), "not"),
        (str(tmp_path / "missing"), "not found"),
        ("postgresql://db/mlflow", "only SQLite"),
        (str(tmp_path), "not an MLflow file store"),
        ("http://127.0.0.1:9", "unreachable"),
    ]:
        r = import_into(tmp_path / "store", arg)
        assert r.returncode != 0 and message in r.stderr, (arg, r.stderr)
        assert "panicked" not in r.stderr


@pytest.fixture(scope="module", params=["file", "sqlite", "server"])
def tidied(request):
    """A source whose user has deleted things (see mlflow_deleted_history.py)."""
    yield from seeded_source(request.param, "mlflow_deleted_history.py")


def test_a_deleted_experiment_comes_in_deleted_with_its_runs_models_and_traces(tidied, tmp_path):
    made, store = tidied["made"], tmp_path / "store"
    first = import_into(store, tidied["arg"])
    assert first.returncode == 0, first.stdout + first.stderr
    assert "must be in the 'active' state" not in first.stdout + first.stderr
    source = MlflowClient(tidied["uri"])
    # What MLflow itself answers for each run is what Almanac must answer.
    expected = {rid: source.get_run(rid).info.lifecycle_stage for rid in (made["kept"], made["dropped"])}
    assert expected[made["dropped"]] == "deleted"

    server = Server(store).start()
    try:
        client = MlflowClient(server.uri)
        archive = client.get_experiment_by_name("archive")
        assert archive.lifecycle_stage == "deleted"
        for rid, stage in expected.items():
            run = client.get_run(rid)
            assert run.info.lifecycle_stage == stage, rid
            assert run.data.params == {"lr": "0.01"}
            assert [m.value for m in client.get_metric_history(rid, "loss")] == [1.0, 0.5, 1 / 3, 0.25, 0.2]
        with tempfile.TemporaryDirectory() as d:
            notes = client.download_artifacts(made["kept"], "notes.txt", d)
            assert Path(notes).read_text() == "notes of kept"
        assert client.get_logged_model(made["model_id"]).name == "archived-model"
        mlflow.set_tracking_uri(server.uri)
        assert client.get_trace(made["traces"][0]).info.trace_id == made["traces"][0]
        # A deleted version stays deleted; the others keep their numbers.
        versions = sorted(v.version for v in client.search_model_versions("name='retired'"))
        assert [str(v) for v in versions] == made["versions"]
        if "orphan" in made:
            orphan = client.get_run(made["orphan"])
            assert orphan.data.metrics == {"acc": 0.75}
            assert client.get_experiment(orphan.info.experiment_id).name.startswith("Runs of missing experiment")

        # Restorable afterwards, runs and all.
        client.restore_experiment(archive.experiment_id)
        assert client.get_experiment_by_name("archive").lifecycle_stage == "active"
        assert client.get_run(made["kept"]).info.lifecycle_stage == "active"
        client.delete_experiment(archive.experiment_id)
    finally:
        server.stop()

    # Again: nothing new, nothing written.
    before = journal_size(store)
    again = import_into(store, tidied["arg"])
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 new, 0 updated" in again.stdout, again.stdout
    assert journal_size(store) == before

    # A bundle carries the deleted experiment and its runs to another store.
    bundle = tmp_path / "all.almanac"
    made_bundle = subprocess.run([almanac_bin(), "--store", str(store), "bundle", "create", str(bundle)],
                                 capture_output=True, text=True, timeout=300)
    assert made_bundle.returncode == 0, made_bundle.stderr
    other = tmp_path / "other"
    applied = subprocess.run([almanac_bin(), "--store", str(other), "bundle", "apply", str(bundle)],
                             capture_output=True, text=True, timeout=300)
    assert applied.returncode == 0, applied.stderr
    server = Server(other).start()
    try:
        client = MlflowClient(server.uri)
        assert client.get_experiment_by_name("archive").lifecycle_stage == "deleted"
        for rid in expected:
            assert client.get_run(rid).data.params == {"lr": "0.01"}
    finally:
        server.stop()


def test_a_run_deleted_at_the_source_after_an_import_is_deleted_by_the_next(tmp_path):
    root = tmp_path / "src"
    made = make_history(f"sqlite:///{root}/mlflow.db", root / "artifacts")
    uri, store = f"sqlite:///{root}/mlflow.db", tmp_path / "store"
    assert import_into(store, uri).returncode == 0
    victim = made["runs"][0]
    MlflowClient(uri).delete_run(victim)
    again = import_into(store, uri)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "1 updated" in again.stdout, again.stdout
    server = Server(store).start()
    try:
        assert MlflowClient(server.uri).get_run(victim).info.lifecycle_stage == "deleted"
    finally:
        server.stop()
