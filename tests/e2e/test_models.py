"""Logged models, the model registry and prompts through the mlflow client."""

import time

import mlflow
import numpy as np
import pytest
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression


@pytest.fixture(scope="module")
def trained():
    rng = np.random.RandomState(0)
    X = rng.rand(60, 4)
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    return X, y, LogisticRegression().fit(X, y)


def test_sklearn_log_model_and_load_it_back(client, experiment, trained):
    X, y, clf = trained
    with mlflow.start_run() as run:
        mlflow.log_metric("acc", clf.score(X, y))
        info = mlflow.sklearn.log_model(clf, name="model", input_example=X[:2])
    assert info.model_id.startswith("m-")
    logged = mlflow.get_logged_model(info.model_id)
    assert (logged.status.value, logged.source_run_id) == ("READY", run.info.run_id)
    # log_model copies the run's metrics onto the model.
    assert [(m.key, m.value, m.run_id) for m in logged.metrics] == [("acc", clf.score(X, y), run.info.run_id)]
    assert [o.model_id for o in client.get_run(run.info.run_id).outputs.model_outputs] == [info.model_id]
    expected = clf.predict(X)
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/model"):
        assert (mlflow.pyfunc.load_model(uri).predict(X) == expected).all(), uri
    assert (mlflow.sklearn.load_model(f"models:/{info.model_id}").predict_proba(X) == clf.predict_proba(X)).all()


def test_pyfunc_log_model(client, experiment):
    class AddN(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input + 7

    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(name="adder", python_model=AddN())
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    assert list(loaded.predict(np.array([1, 2]))) == [8, 9]


def test_logged_model_tags_params_search_delete(client, experiment):
    model = mlflow.create_external_model(name="ext", params={"alpha": "0.5"}, tags={"team": "a"})
    mlflow.set_logged_model_tags(model.model_id, {"stage": "dev"})
    got = mlflow.get_logged_model(model.model_id)
    assert got.tags["stage"] == "dev" and got.params == {"alpha": "0.5"}
    found = mlflow.search_logged_models(experiment_ids=[experiment], filter_string="name = 'ext'", output_format="list")
    assert [m.model_id for m in found] == [model.model_id]
    client.delete_logged_model(model.model_id)
    with pytest.raises(MlflowException) as e:
        client.get_logged_model(model.model_id)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_logged_models_found_and_ordered_by_their_metrics(client, experiment):
    """Finding the best model by a metric, on a dataset, as MLflow 3 does:
    a model matches when any of its values matches; it sorts by its latest."""
    import pandas as pd

    data = mlflow.data.from_pandas(pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]}), name="eval", targets="y")
    names = {}
    with mlflow.start_run():
        # "peaked" had the best value once but ends worst; "steady" ends best.
        for name, accs in (("peaked", [0.95, 0.1]), ("steady", [0.6, 0.8]), ("plain", None)):
            model = mlflow.create_external_model(name=name)
            names[model.model_id] = name
            for step, acc in enumerate(accs or []):
                mlflow.log_metric("acc", acc, step=step, model_id=model.model_id, dataset=data)
        mlflow.log_metric("loss", 0.5, model_id=model.model_id)

    def search(**kw):
        found = mlflow.search_logged_models(experiment_ids=[experiment], output_format="list", **kw)
        return [names[m.model_id] for m in found]

    assert search(filter_string="metrics.acc > 0.9") == ["peaked"], "any value matches, not only the latest"
    assert sorted(search(filter_string="metrics.acc >= 0.6")) == ["peaked", "steady"]
    assert search(filter_string="metrics.`acc` < 0.2 AND name = 'peaked'") == ["peaked"]
    assert search(filter_string="metrics.loss = 0.5") == ["plain"]
    assert sorted(search(filter_string="metrics.acc IS NULL")) == ["plain"], "IS NULL: no such metric"
    best_first = [{"field_name": "metrics.acc", "ascending": False, "dataset_name": "eval"}]
    assert search(order_by=best_first) == ["steady", "peaked", "plain"], "the latest value sorts; none sorts last"
    on_eval = [{"dataset_name": "eval", "dataset_digest": data.digest}]
    assert sorted(search(datasets=on_eval)) == ["peaked", "steady"]
    assert search(filter_string="metrics.acc > 0.1", datasets=[{"dataset_name": "other"}]) == []
    with pytest.raises(MlflowException) as e:
        search(order_by=[{"field_name": "bogus"}])
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"


def test_a_run_records_the_logged_models_it_used(client, experiment):
    from mlflow.entities import LoggedModelInput

    model = mlflow.create_external_model(name="upstream")
    with mlflow.start_run() as run:
        mlflow.log_input(model=LoggedModelInput(model.model_id))
    got = client.get_run(run.info.run_id).inputs
    assert [m.model_id for m in got.model_inputs] == [model.model_id]
    with pytest.raises(MlflowException) as e:
        client.log_inputs(run.info.run_id, models=[LoggedModelInput("m-0000000000000000000000000000dead")])
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_model_version_sources_must_name_their_run(client, experiment, trained):
    name = f"sources-{time.time_ns()}"
    client.create_registered_model(name)
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(trained[2], name="model")
    other = mlflow.create_external_model(name="elsewhere")
    run_root = client.get_run(run.info.run_id).info.artifact_uri
    for source, run_id, model_id in (
        (f"runs:/{run.info.run_id}/model", None, None),
        (f"runs:/{run.info.run_id}/model", None, other.model_id),
        (f"runs:/{run.info.run_id}/%252e%252e/model", run.info.run_id, None),
        ("relative/model", run.info.run_id, None),
        (f"{run_root}/model", None, other.model_id),
    ):
        with pytest.raises(MlflowException) as e:
            client.create_model_version(name, source, run_id=run_id, model_id=model_id)
        assert e.value.error_code == "INVALID_PARAMETER_VALUE", source
    assert client.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id).version == "1"
    assert client.search_registered_models(max_results=0) == []


def test_registry_versions_aliases_and_loading(client, experiment, trained):
    X, _, clf = trained
    name = f"churn-{time.time_ns()}"
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(clf, name="model", registered_model_name=name)
    v2 = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    v3 = mlflow.register_model(info.model_uri, name)
    assert (v2.version, v3.version, v3.status) == ("2", "3", "READY")
    client.set_registered_model_alias(name, "champion", "2")
    client.set_model_version_tag(name, "2", "validated", "yes")
    client.update_model_version(name, "2", description="the good one")
    for uri in (f"models:/{name}/1", f"models:/{name}@champion", f"models:/{name}/latest"):
        assert (mlflow.pyfunc.load_model(uri).predict(X) == clf.predict(X)).all(), uri
    mv = client.get_model_version_by_alias(name, "champion")
    assert (mv.version, mv.tags, mv.description) == ("2", {"validated": "yes"}, "the good one")
    assert client.get_registered_model(name).aliases == {"champion": "2"}

    # Paging through versions.
    seen, token = [], None
    while True:
        page = client.search_model_versions(f"name = '{name}'", max_results=2, page_token=token)
        seen += [v.version for v in page]
        token = page.token
        if not token:
            break
    assert sorted(seen) == ["1", "2", "3"]

    with pytest.raises(MlflowException) as e:
        client.set_registered_model_alias(name, "broken", "99")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.get_model_version(name, "42")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.get_registered_model("no-such-model")
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as e:
        client.create_registered_model(name)
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"

    client.transition_model_version_stage(name, "3", "Production")
    assert [v.version for v in client.get_latest_versions(name, stages=["Production"])] == ["3"]

    renamed = name + "-v2"
    client.rename_registered_model(name, renamed)
    assert client.get_model_version(renamed, "3").name == renamed
    client.delete_model_version(renamed, "1")
    assert sorted(v.version for v in client.search_model_versions(f"name = '{renamed}'")) == ["2", "3"]
    client.delete_registered_model(renamed)
    assert renamed not in [m.name for m in client.search_registered_models()]


def test_prompts(client):
    name = f"qa_{time.time_ns()}"
    mlflow.genai.register_prompt(name=name, template="Answer {{question}}", commit_message="first", tags={"team": "x"})
    mlflow.genai.register_prompt(
        name=name,
        template=[{"role": "system", "content": "Be brief"}, {"role": "user", "content": "{{q}}"}],
        response_format={"type": "object"},
    )
    mlflow.genai.set_prompt_alias(name, alias="prod", version=1)
    v1 = mlflow.genai.load_prompt(f"prompts:/{name}/1")
    assert v1.template == "Answer {{question}}" and v1.format(question="why") == "Answer why"
    assert mlflow.genai.load_prompt(f"prompts:/{name}@prod").version == 1
    chat = mlflow.genai.load_prompt(f"prompts:/{name}/2")
    assert chat.format(q="hi") == [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "hi"}]
    assert name in [p.name for p in mlflow.genai.search_prompts()]
    assert name not in [m.name for m in client.search_registered_models()]
