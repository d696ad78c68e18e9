"""Team sharing through git: three stores, each behind its own running
`almanac serve`, syncing through a bare repository with `almanac sync`."""

import subprocess

import mlflow
import pytest
import requests

from conftest import Server, almanac_bin


def cli(store, *args):
    result = subprocess.run([almanac_bin(), "--store", str(store), *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture
def team(tmp_path):
    remote = tmp_path / "team.git"
    subprocess.run(["git", "init", "--bare", "-q", str(remote)], check=True)
    shared = tmp_path / "shared-artifacts"
    servers = [Server(tmp_path / name).start() for name in ("alice", "bob", "carol")]
    for s in servers:
        cli(s.store, "remote", "add", "origin", str(remote), "--artifacts", str(shared))
    yield servers
    for s in servers:
        s.stop()


def log_runs(server, who, n):
    mlflow.set_tracking_uri(server.uri)
    mlflow.set_experiment("baseline")
    ids = []
    for i in range(n):
        with mlflow.start_run(run_name=f"{who}-{i}") as run:
            mlflow.log_params({"who": who, "i": i})
            for step in range(20):
                mlflow.log_metric("loss", 1.0 / (step + 1 + i), step=step)
            mlflow.log_text(f"notes of {who} {i}", "notes.txt")
            mlflow.set_tag("mlflow.note.content", f"{who} says hi")
        ids.append(run.info.run_id)
    return ids


def snapshot(server):
    client = mlflow.MlflowClient(server.uri)
    exp = client.get_experiment_by_name("baseline")
    runs = client.search_runs([exp.experiment_id], order_by=["attributes.run_name"], max_results=1000)
    return [
        (r.info.run_id, r.info.run_name, r.data.params, r.data.metrics, r.data.tags.get("mlflow.note.content"))
        for r in runs
    ]


def test_three_stores_share_runs_through_a_bare_repo_while_serving(team):
    alice, bob, carol = team
    alice_runs = log_runs(alice, "alice", 3)
    bob_runs = log_runs(bob, "bob", 2)  # the same experiment name, created independently

    for s in (alice, bob, carol, alice, bob):
        out = cli(s.store, "sync")
        assert "ops out" in out and "ops in" in out, out

    # Everyone sees one "baseline" holding all five runs, identically.
    views = [snapshot(s) for s in team]
    assert views[0] == views[1] == views[2]
    assert sorted(r[0] for r in views[0]) == sorted(alice_runs + bob_runs)
    carol_client = mlflow.MlflowClient(carol.uri)
    history = carol_client.get_metric_history(alice_runs[0], "loss")
    assert [m.step for m in history] == list(range(20))
    # Artifact bytes arrive from the shared folder on first read.
    mlflow.set_tracking_uri(carol.uri)
    assert mlflow.artifacts.load_text(f"runs:/{bob_runs[1]}/notes.txt") == "notes of bob 1"

    # Concurrent edits of one note converge to one value everywhere.
    mlflow.MlflowClient(alice.uri).set_tag(alice_runs[0], "mlflow.note.content", "alice's edit")
    mlflow.MlflowClient(bob.uri).set_tag(alice_runs[0], "mlflow.note.content", "bob's edit")
    mlflow.MlflowClient(carol.uri).delete_run(bob_runs[0])
    for s in (alice, bob, carol, alice, bob):
        cli(s.store, "sync")
    notes = {mlflow.MlflowClient(s.uri).get_run(alice_runs[0]).data.tags["mlflow.note.content"] for s in team}
    assert len(notes) == 1 and notes <= {"alice's edit", "bob's edit"}, notes
    for s in team:
        assert mlflow.MlflowClient(s.uri).get_run(bob_runs[0]).info.lifecycle_stage == "deleted"

    # The losing edit stays in the run's history, the same on every clone.
    histories = []
    for s in team:
        reply = requests.get(f"{s.uri}/api/2.0/almanac/history", params={"entity_id": alice_runs[0]}, timeout=10)
        assert reply.status_code == 200, reply.text
        notes_written = [
            tag["value"]
            for e in reply.json()["entries"]
            if e["kind"] == "log_batch"
            for tag in e["op"]["log_batch"].get("tags", [])
            if tag["key"] == "mlflow.note.content"
        ]
        assert {"alice's edit", "bob's edit"} <= set(notes_written), notes_written
        assert notes_written[-1] in notes, "the last in fold order is the value shown"
        histories.append([e["op_id"] for e in reply.json()["entries"]])
    assert histories[0] == histories[1] == histories[2]
    bad = requests.get(f"{alice.uri}/api/2.0/almanac/history", timeout=10)
    assert bad.status_code == 400 and bad.json()["error_code"] == "INVALID_PARAMETER_VALUE", bad.text

    status = cli(alice.store, "sync", "--status")
    assert "origin" in status and "0 local ops not yet sent" in status, status
    assert "behind:     0 remote ops" in status, status

    # Carol tags a run and syncs: Alice is now behind by that op, and a
    # status check alone applies nothing.
    mlflow.MlflowClient(carol.uri).set_tag(alice_runs[1], "reviewed", "yes")
    cli(carol.store, "sync")
    status = cli(alice.store, "sync", "--status")
    assert "behind:     1 remote ops not yet applied" in status, status
    assert "reviewed" not in mlflow.MlflowClient(alice.uri).get_run(alice_runs[1]).data.tags
    cli(alice.store, "sync")
    assert mlflow.MlflowClient(alice.uri).get_run(alice_runs[1]).data.tags["reviewed"] == "yes"


def test_sync_without_remotes_or_with_a_bad_url_fails_clearly(tmp_path):
    result = subprocess.run([almanac_bin(), "--store", str(tmp_path / "s"), "sync"], capture_output=True, text=True)
    assert result.returncode != 0 and "almanac remote add" in result.stderr
    cli(tmp_path / "s", "remote", "add", "nowhere", str(tmp_path / "missing.git"))
    result = subprocess.run([almanac_bin(), "--store", str(tmp_path / "s"), "sync"], capture_output=True, text=True)
    assert result.returncode != 0 and "sync failed" in result.stderr
    assert "last error" in cli(tmp_path / "s", "sync", "--status")


def test_sync_killed_at_random_points_loses_and_duplicates_nothing(tmp_path):
    import random
    import signal
    import time

    remote = tmp_path / "team.git"
    subprocess.run(["git", "init", "--bare", "-q", str(remote)], check=True)
    alice = Server(tmp_path / "alice").start()
    bob_store = tmp_path / "bob"
    try:
        cli(alice.store, "remote", "add", "origin", str(remote))
        cli(bob_store, "remote", "add", "origin", str(remote))
        mlflow.set_tracking_uri(alice.uri)
        mlflow.set_experiment("baseline")
        client = mlflow.MlflowClient(alice.uri)
        rng = random.Random(7)
        for round_ in range(6):
            for i in range(5):
                with mlflow.start_run(run_name=f"r{round_}-{i}"):
                    mlflow.log_metrics({"loss": rng.random(), "acc": rng.random()}, step=round_)
            for store in (alice.store, bob_store):
                proc = subprocess.Popen([almanac_bin(), "--store", str(store), "sync"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(rng.uniform(0, 0.15))
                proc.send_signal(signal.SIGKILL)
                proc.wait()
        # Undisturbed syncs then finish the job.
        for store in (alice.store, bob_store, alice.store, bob_store):
            cli(store, "sync")
        bob = Server(bob_store).start()
        try:
            assert snapshot(alice) == snapshot(bob)
            names = [r[1] for r in snapshot(bob)]
            assert len(names) == 30 and len(set(names)) == 30, names
        finally:
            bob.stop()
    finally:
        alice.stop()


def test_registry_versions_made_offline_on_three_stores_get_stable_distinct_numbers(team):
    alice, bob, carol = team
    sources = {}
    for s in team:
        client = mlflow.MlflowClient(s.uri)
        mlflow.set_tracking_uri(s.uri)
        mlflow.set_experiment("registry-race")
        with mlflow.start_run() as run:
            mlflow.log_text("weights", "model/weights.txt")
        try:
            client.create_registered_model("shared-model")
        except mlflow.exceptions.MlflowException:
            pass
        v = client.create_model_version("shared-model", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
        assert v.version == "1", "each store made its own version 1 offline"
        client.set_registered_model_alias("shared-model", "mine", v.version)
        sources[s.uri] = v.source
    # Alice syncs first: her version 1 is on the remote and must stay 1.
    cli(alice.store, "sync")
    for s in (bob, carol, alice, bob):
        cli(s.store, "sync")
    views = []
    for s in team:
        client = mlflow.MlflowClient(s.uri)
        versions = sorted((int(v.version), v.source) for v in client.search_model_versions("name='shared-model'"))
        views.append(versions)
    assert views[0] == views[1] == views[2], views
    assert [n for n, _ in views[0]] == [1, 2, 3]
    assert dict(views[0])[1] == sources[alice.uri], "the first version on the remote kept its number"
    # Each store's alias followed its own version, wherever it landed; the
    # alias itself is one field, so the last write won everywhere alike.
    aliases = {mlflow.MlflowClient(s.uri).get_registered_model("shared-model").aliases["mine"] for s in team}
    assert len(aliases) == 1, aliases
