"""Writes a realistic MLflow history with the mlflow library itself, into the
tracking URI given as argv[1] (a file store or a SQLite database), and prints
the run ids it made as JSON. Run as a script so each store gets a clean
process (mlflow keeps global state)."""

import json
import os
import sys

os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import mlflow  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from traced_agent import log_agent_traces  # noqa: E402

uri, artifact_root = sys.argv[1], sys.argv[2]
mlflow.set_tracking_uri(uri)
mlflow.set_registry_uri(uri)
client = MlflowClient()
made = {}

for name in ("churn", "vision"):
    if client.get_experiment_by_name(name) is None:
        location = f"{artifact_root}/{name}" if artifact_root else None  # a server picks its own
        client.create_experiment(name, artifact_location=location, tags={"team": name})
    mlflow.set_experiment(name)
    for i in range(3):
        with mlflow.start_run(run_name=f"{name}-{i}") as run:
            mlflow.log_params({"lr": 0.1 * (i + 1), "layers": i + 2, "optimizer": "adam"})
            for step in range(50):
                mlflow.log_metric("loss", 1.0 / (step + 1 + i), step=step)
                if step % 10 == 0:
                    mlflow.log_metric("val/acc", 0.5 + step / 100, step=step)
            mlflow.log_metric("weird", float("nan"), step=1)
            mlflow.set_tag("mlflow.note.content", f"# Run {i}\nnotes for {name}")
            mlflow.set_tag("stage", "dev")
            mlflow.log_text(f"report {name} {i}", "reports/summary.txt")
            mlflow.log_dict({"i": i, "name": name}, "config.json")
            if i == 0:
                ds = mlflow.data.from_pandas(pd.DataFrame({"a": [1, 2, 3]}), name="train", source="s3://bucket/train.csv")
                mlflow.log_input(ds, context="training")
                with mlflow.start_run(run_name=f"{name}-child", nested=True) as child:
                    mlflow.log_metric("loss", 0.25)
                made.setdefault("children", []).append(child.info.run_id)
            if name == "churn" and i == 1:
                model = LinearRegression().fit([[1.0], [2.0], [3.0]], [2.0, 4.0, 6.0])
                info = mlflow.sklearn.log_model(model, name="model")
                made["model_id"] = info.model_id
                made["model_run"] = run.info.run_id
        made.setdefault("runs", []).append(run.info.run_id)

deleted = made["runs"][-1]
client.delete_run(deleted)
made["deleted"] = deleted

client.create_registered_model("churn-model", tags={"owner": "ml"}, description="predicts churn")
v1 = client.create_model_version(
    "churn-model", f"models:/{made['model_id']}", run_id=made["model_run"], tags={"q": "1"}, model_id=made["model_id"]
)
v2 = client.create_model_version("churn-model", f"runs:/{made['model_run']}/model", run_id=made["model_run"])
client.set_registered_model_alias("churn-model", "champion", v1.version)
client.set_model_version_tag("churn-model", v2.version, "validated", "yes")
mlflow.genai.register_prompt(name="greeting", template="Hello {{name}}", commit_message="first")
mlflow.genai.register_prompt(name="greeting", template="Hi {{name}}!")


# GenAI traces: two requests to a small agent, one tagged afterwards.
mlflow.set_experiment("churn")
log_agent_traces(["hello", "world"])
churn_id = client.get_experiment_by_name("churn").experiment_id
traces = client.search_traces(locations=[churn_id])
client.set_trace_tag(traces[0].info.trace_id, "reviewed", "yes")
made["traces"] = sorted(t.info.trace_id for t in traces)
print(json.dumps(made))
