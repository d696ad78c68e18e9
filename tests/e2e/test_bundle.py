"""Offline bundles: experiments carried between stores as one file, applied
like a sync, idempotently."""

import subprocess

import mlflow
from mlflow import MlflowClient

from conftest import Server, almanac_bin


def almanac(store, *args):
    return subprocess.run([almanac_bin(), "--store", str(store), *args], capture_output=True, text=True, timeout=300)


def log(server, experiment, names):
    mlflow.set_tracking_uri(server.uri)
    mlflow.set_experiment(experiment)
    ids = {}
    for name in names:
        with mlflow.start_run(run_name=name) as run:
            mlflow.log_param("who", name)
            for step in range(30):
                mlflow.log_metric("loss", 1 / (step + 1), step=step)
            mlflow.log_text(f"artifact of {name}", "out/result.txt")
            mlflow.set_tag("mlflow.note.content", f"note {name}")
        ids[name] = run.info.run_id
    return ids


def test_a_bundle_moves_chosen_experiments_and_applying_twice_changes_nothing(tmp_path):
    a, b = Server(tmp_path / "a").start(), Server(tmp_path / "b").start()
    try:
        moved = log(a, "air-gapped", ["a1", "a2"])
        kept = log(a, "stays", ["s1"])
        MlflowClient(a.uri).create_registered_model("gapped-model")
        MlflowClient(a.uri).create_model_version("gapped-model", f"runs:/{moved['a1']}/out", run_id=moved["a1"])
        mine = log(b, "air-gapped", ["b1"])  # the same name, created on B independently

        bundle = tmp_path / "week.almanac"
        made = almanac(a.store, "bundle", "create", str(bundle), "--experiment", "air-gapped")
        assert made.returncode == 0, made.stderr
        assert "1 artifact files" in made.stdout or "2 artifact files" in made.stdout, made.stdout

        first = almanac(b.store, "bundle", "apply", str(bundle))
        assert first.returncode == 0, first.stderr
        second = almanac(b.store, "bundle", "apply", str(bundle))
        assert second.returncode == 0 and "0 ops in from 0 packs" in second.stdout, second.stdout

        client = MlflowClient(b.uri)
        exp = client.get_experiment_by_name("air-gapped")
        runs = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
        assert set(runs) == {"a1", "a2", "b1"}, "one experiment holds both sides' runs"
        assert runs["a2"].data.params == {"who": "a2"}
        assert runs["a2"].data.tags["mlflow.note.content"] == "note a2"
        assert [m.step for m in client.get_metric_history(moved["a2"], "loss")] == list(range(30))
        mlflow.set_tracking_uri(b.uri)
        assert mlflow.artifacts.load_text(f"runs:/{moved['a1']}/out/result.txt") == "artifact of a1"
        assert client.get_model_version("gapped-model", "1").run_id == moved["a1"]
        assert client.get_experiment_by_name("stays") is None
        assert runs["b1"].info.run_id == mine["b1"]
        del kept
    finally:
        a.stop()
        b.stop()

    # A whole-store bundle carries everything.
    whole = tmp_path / "all.almanac"
    assert almanac(a.store, "bundle", "create", str(whole)).returncode == 0
    c = tmp_path / "c"
    applied = almanac(c, "bundle", "apply", str(whole))
    assert applied.returncode == 0, applied.stderr
    server = Server(c).start()
    try:
        client = MlflowClient(server.uri)
        assert client.get_experiment_by_name("stays") is not None
        assert len(client.search_runs([client.get_experiment_by_name("air-gapped").experiment_id])) == 2
    finally:
        server.stop()


def test_applying_something_that_is_not_a_bundle_fails_clearly(tmp_path):
    junk = tmp_path / "junk.almanac"
    junk.write_bytes(b"\x00" * 2048)
    r = almanac(tmp_path / "s", "bundle", "apply", str(junk))
    assert r.returncode != 0 and "not an Almanac bundle" in r.stderr, r.stderr
    r = almanac(tmp_path / "s", "bundle", "apply", str(tmp_path / "missing.almanac"))
    assert r.returncode != 0 and "cannot open" in r.stderr, r.stderr
    r = almanac(tmp_path / "s", "bundle", "create", str(tmp_path / "x.almanac"), "--experiment", "nope")
    assert r.returncode != 0 and "nope" in r.stderr, r.stderr
