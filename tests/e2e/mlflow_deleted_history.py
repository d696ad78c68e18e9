"""Writes, with the mlflow library itself, the states a user's MLflow store
holds once they have tidied it: a deleted experiment holding an active and a
deleted run, a logged model and a trace; a registered model with a deleted
version; and (file store and SQLite) runs whose experiment record is gone.
argv: tracking URI, artifact root ("" for a server). Prints what it made as
JSON."""

import json
import os
import sqlite3
import sys
from pathlib import Path

os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from traced_agent import log_agent_traces  # noqa: E402

uri, artifact_root = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
client = MlflowClient()
made = {}


def experiment(name):
    location = f"{artifact_root}/{name}" if artifact_root else None
    return client.create_experiment(name, artifact_location=location, tags={"kept": "yes"})


archive = experiment("archive")
mlflow.set_experiment(experiment_id=archive)
for name in ("kept", "dropped"):
    with mlflow.start_run(run_name=name) as run:
        mlflow.log_param("lr", "0.01")
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_text(f"notes of {name}", "notes.txt")
    made[name] = run.info.run_id
model = mlflow.initialize_logged_model(name="archived-model", source_run_id=made["kept"])
mlflow.finalize_logged_model(model.model_id, "READY")
made["model_id"] = model.model_id
log_agent_traces(["archived question"])
made["traces"] = [t.info.trace_id for t in client.search_traces(locations=[archive])]
client.delete_run(made["dropped"])
client.delete_experiment(archive)
made["archive"] = archive

client.create_registered_model("retired")
for _ in range(3):
    client.create_model_version("retired", f"runs:/{made['kept']}/model", run_id=made["kept"])
client.delete_model_version("retired", "2")
made["versions"] = ["1", "3"]

if uri.startswith("sqlite:///"):
    db = sqlite3.connect(uri[len("sqlite:///"):])
    # MLflow's SQL store takes a deleted experiment's runs along; a store
    # deleted by older versions, or edited by hand, keeps some active.
    db.execute("UPDATE runs SET lifecycle_stage = 'active' WHERE run_uuid = ?", (made["kept"],))
    db.commit()
    db.close()

if not uri.startswith("http"):
    lost = experiment("lost")
    with mlflow.start_run(experiment_id=lost, run_name="orphan") as run:
        mlflow.log_metric("acc", 0.75)
    made["orphan"] = run.info.run_id
    made["lost"] = lost
    if uri.startswith("sqlite:///"):
        db = sqlite3.connect(uri[len("sqlite:///"):])
        db.execute("DELETE FROM experiment_tags WHERE experiment_id = ?", (int(lost),))
        db.execute("DELETE FROM experiments WHERE experiment_id = ?", (int(lost),))
        db.commit()
        db.close()
    else:
        (Path(uri[len("file://"):]) / lost / "meta.yaml").unlink()

print(json.dumps(made))
