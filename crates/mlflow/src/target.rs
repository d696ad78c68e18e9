//! A running MLflow server as a destination: the writes `almanac export`
//! makes, through the same REST calls the mlflow client makes.
//!
//! MLflow assigns its own run and logged-model ids, so each record written
//! carries its Almanac id in a tag (`almanac.run_id`, `almanac.model_id`,
//! `almanac.version`); reading those back is what makes a second export
//! write only what is new.

use std::collections::HashMap;

use almanac_core::model::{DatasetInput, Metric, MetricPoint, Param, RunStatus, Tag};
use almanac_core::trace::{self, TraceInfo};
use serde_json::{Value, json};

use crate::rest::{Http, int, text};
use crate::{Result, SourceError};

/// The tag that records which Almanac run a server's run came from.
pub const RUN_ORIGIN_TAG: &str = "almanac.run_id";
/// The tag that records which Almanac logged model a server's model came from.
pub const MODEL_ORIGIN_TAG: &str = "almanac.model_id";
/// The tag that records which Almanac version number a server's version is.
pub const VERSION_ORIGIN_TAG: &str = "almanac.version";

/// A run as the destination holds it.
#[derive(Debug, Clone, Default)]
pub struct RemoteRun {
    pub run_id: String,
    pub artifact_uri: String,
    pub status: String,
    pub end_time: Option<i64>,
    pub lifecycle: String,
    pub params: HashMap<String, String>,
    pub tags: HashMap<String, String>,
    pub datasets: Vec<(String, String)>,
}

/// An experiment as the destination holds it.
#[derive(Debug, Clone, Default)]
pub struct RemoteExperiment {
    pub id: String,
    pub tags: HashMap<String, String>,
    pub deleted: bool,
}

pub struct MlflowServer {
    api: Http,
}

fn tag_json(tags: &[Tag]) -> Vec<Value> {
    tags.iter().map(|t| json!({"key": t.key, "value": t.value})).collect()
}

fn value_json(v: f64) -> Value {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "Infinity".into()
    } else if v == f64::NEG_INFINITY {
        "-Infinity".into()
    } else {
        v.into()
    }
}

fn map_of(v: &Value, key: &str) -> HashMap<String, String> {
    v.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| Some((text(t, "key")?, text(t, "value").unwrap_or_default())))
        .collect()
}

impl MlflowServer {
    /// The experiment's traces on the server: id → where their spans go
    /// (`mlflow.artifactLocation`), so export can tell which still lack them.
    pub fn trace_locations(&self, experiment_id: &str) -> Result<HashMap<String, Option<String>>> {
        Ok(self
            .api
            .trace_infos(experiment_id)?
            .iter()
            .filter_map(|t| {
                Some((text(t, "trace_id")?, t.get("tags").and_then(|tags| text(tags, trace::ARTIFACT_LOCATION_TAG))))
            })
            .collect())
    }

    /// Records a trace in `experiment_id`, keeping its id. Returns where the
    /// server wants its spans (`mlflow.artifactLocation`).
    pub fn start_trace(&self, info: &TraceInfo, experiment_id: &str) -> Result<Option<String>> {
        let entity = format!("trace {}", info.trace_id);
        let url = format!("{}/api/3.0/mlflow/traces", self.api.base);
        let body = almanac_wire::traces::TraceReply {
            trace: almanac_wire::traces::Trace {
                trace_info: almanac_wire::traces::TraceInfoV3::new(info, experiment_id),
            },
        };
        let stored = self.api.answer(self.api.client.post(&url).json(&body).send(), &entity, "/traces")?;
        Ok(stored.pointer("/trace/trace_info/tags").and_then(|tags| text(tags, trace::ARTIFACT_LOCATION_TAG)))
    }

    pub fn connect(url: &str) -> Result<MlflowServer> {
        let api = Http::new(url)?;
        api.post("/experiments/search", &json!({"max_results": 1}), "destination").map_err(|e| {
            SourceError::new("destination", &api.base, format!("not an MLflow server, or unreachable: {}", e.reason))
        })?;
        Ok(MlflowServer { api })
    }

    pub fn describe(&self) -> String {
        format!("MLflow server {}", self.api.base)
    }

    /// The server's experiment of this name, deleted ones included.
    pub fn experiment_by_name(&self, name: &str) -> Result<Option<RemoteExperiment>> {
        match self.api.get("/experiments/get-by-name", &[("experiment_name", name)], &format!("experiment {name}")) {
            Ok(v) => Ok(Some(RemoteExperiment {
                id: text(&v["experiment"], "experiment_id").unwrap_or_default(),
                tags: map_of(&v["experiment"], "tags"),
                deleted: text(&v["experiment"], "lifecycle_stage").as_deref() == Some("deleted"),
            })),
            Err(e) if e.reason.contains("RESOURCE_DOES_NOT_EXIST") => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn create_experiment(&self, name: &str, tags: &[Tag]) -> Result<String> {
        let v = self.api.post(
            "/experiments/create",
            &json!({"name": name, "tags": tag_json(tags)}),
            &format!("experiment {name}"),
        )?;
        Ok(text(&v, "experiment_id").unwrap_or_default())
    }

    pub fn set_experiment_tag(&self, experiment_id: &str, tag: &Tag) -> Result<()> {
        let body = json!({"experiment_id": experiment_id, "key": tag.key, "value": tag.value});
        self.api.post("/experiments/set-experiment-tag", &body, &format!("experiment {experiment_id}")).map(drop)
    }

    /// The experiment's runs that came from Almanac, by Almanac run id.
    pub fn exported_runs(&self, experiment_id: &str) -> Result<HashMap<String, RemoteRun>> {
        let mut out = HashMap::new();
        let mut body = json!({"experiment_ids": [experiment_id], "run_view_type": "ALL", "max_results": 1000});
        loop {
            let page = self.api.post("/runs/search", &body, &format!("experiment {experiment_id}"))?;
            for run in page.get("runs").and_then(Value::as_array).into_iter().flatten() {
                let tags = map_of(&run["data"], "tags");
                let Some(origin) = tags.get(RUN_ORIGIN_TAG).cloned() else { continue };
                let info = &run["info"];
                let datasets = run
                    .pointer("/inputs/dataset_inputs")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|i| Some((text(&i["dataset"], "name")?, text(&i["dataset"], "digest")?)))
                    .collect();
                out.insert(
                    origin,
                    RemoteRun {
                        run_id: text(info, "run_id").unwrap_or_default(),
                        artifact_uri: text(info, "artifact_uri").unwrap_or_default(),
                        status: text(info, "status").unwrap_or_default(),
                        end_time: int(info, "end_time"),
                        lifecycle: text(info, "lifecycle_stage").unwrap_or_default(),
                        params: map_of(&run["data"], "params"),
                        tags,
                        datasets,
                    },
                );
            }
            match text(&page, "next_page_token").filter(|t| !t.is_empty()) {
                Some(token) => body["page_token"] = token.into(),
                None => return Ok(out),
            }
        }
    }

    /// Creates a run; returns (run id, artifact URI).
    pub fn create_run(
        &self,
        experiment_id: &str,
        name: &str,
        start_time: i64,
        tags: &[Tag],
    ) -> Result<(String, String)> {
        let body =
            json!({"experiment_id": experiment_id, "run_name": name, "start_time": start_time, "tags": tag_json(tags)});
        let v = self.api.post("/runs/create", &body, &format!("run {name}"))?;
        Ok((
            text(&v["run"]["info"], "run_id").unwrap_or_default(),
            text(&v["run"]["info"], "artifact_uri").unwrap_or_default(),
        ))
    }

    /// Logs in as many batches as MLflow's limits need.
    pub fn log_batch(&self, run_id: &str, metrics: &[Metric], params: &[Param], tags: &[Tag]) -> Result<()> {
        let entity = format!("run {run_id}");
        for chunk in params.chunks(100) {
            let params: Vec<Value> = chunk.iter().map(|p| json!({"key": p.key, "value": p.value})).collect();
            self.api.post("/runs/log-batch", &json!({"run_id": run_id, "params": params}), &entity)?;
        }
        for chunk in tags.chunks(100) {
            self.api.post("/runs/log-batch", &json!({"run_id": run_id, "tags": tag_json(chunk)}), &entity)?;
        }
        for chunk in metrics.chunks(1000) {
            let metrics: Vec<Value> = chunk
                .iter()
                .map(|m| {
                    let mut v = json!({"key": m.key, "value": value_json(m.point.value), "timestamp": m.point.timestamp, "step": m.point.step});
                    if let Some(model) = &m.model_id {
                        v["model_id"] = model.clone().into();
                    }
                    v
                })
                .collect();
            self.api.post("/runs/log-batch", &json!({"run_id": run_id, "metrics": metrics}), &entity)?;
        }
        Ok(())
    }

    pub fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<MetricPoint>> {
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let mut query = vec![("run_id", run_id), ("metric_key", key), ("max_results", "25000")];
            if !token.is_empty() {
                query.push(("page_token", token.as_str()));
            }
            let page = self.api.get("/metrics/get-history", &query, &format!("run {run_id}"))?;
            for m in page.get("metrics").and_then(Value::as_array).into_iter().flatten() {
                let value = match m.get("value") {
                    Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
                    Some(Value::String(s)) if s == "Infinity" => f64::INFINITY,
                    Some(Value::String(s)) if s == "-Infinity" => f64::NEG_INFINITY,
                    _ => f64::NAN,
                };
                out.push(MetricPoint {
                    value,
                    timestamp: int(m, "timestamp").unwrap_or(0),
                    step: int(m, "step").unwrap_or(0),
                });
            }
            match text(&page, "next_page_token").filter(|t| !t.is_empty()) {
                Some(t) => token = t,
                None => return Ok(out),
            }
        }
    }

    pub fn update_run(&self, run_id: &str, status: RunStatus, end_time: Option<i64>) -> Result<()> {
        let mut body = json!({"run_id": run_id, "status": status.as_str()});
        if let Some(end) = end_time {
            body["end_time"] = end.into();
        }
        self.api.post("/runs/update", &body, &format!("run {run_id}")).map(drop)
    }

    /// Deletes or restores an experiment; its runs follow it, as MLflow's
    /// stores take them.
    pub fn set_experiment_deleted(&self, experiment_id: &str, deleted: bool) -> Result<()> {
        let path = if deleted { "/experiments/delete" } else { "/experiments/restore" };
        self.api.post(path, &json!({"experiment_id": experiment_id}), &format!("experiment {experiment_id}")).map(drop)
    }

    pub fn set_deleted(&self, run_id: &str, deleted: bool) -> Result<()> {
        let path = if deleted { "/runs/delete" } else { "/runs/restore" };
        self.api.post(path, &json!({"run_id": run_id}), &format!("run {run_id}")).map(drop)
    }

    pub fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<()> {
        let datasets: Vec<Value> = inputs
            .iter()
            .map(|i| {
                let d = &i.dataset;
                json!({"tags": tag_json(&i.tags), "dataset": {"name": d.name, "digest": d.digest, "source_type": d.source_type,
                       "source": d.source, "schema": d.schema, "profile": d.profile}})
            })
            .collect();
        self.api
            .post("/runs/log-inputs", &json!({"run_id": run_id, "datasets": datasets}), &format!("run {run_id}"))
            .map(drop)
    }

    /// Files under an `mlflow-artifacts:/` root, as (relative path, size).
    pub fn artifact_sizes(&self, root_uri: &str) -> Result<HashMap<String, u64>> {
        let root = proxied(root_uri, &self.api.base)?;
        let mut out = HashMap::new();
        let mut dirs = vec![String::new()];
        let url = format!("{}/api/2.0/mlflow-artifacts/artifacts", self.api.base);
        while let Some(dir) = dirs.pop() {
            let path = if dir.is_empty() { root.clone() } else { format!("{root}/{dir}") };
            let listing =
                self.api.answer(self.api.client.get(&url).query(&[("path", &path)]).send(), root_uri, "/artifacts")?;
            for f in listing.get("files").and_then(Value::as_array).into_iter().flatten() {
                let Some(name) = text(f, "path") else { continue };
                let rel = if dir.is_empty() { name } else { format!("{dir}/{name}") };
                if f.get("is_dir").and_then(Value::as_bool).unwrap_or(false) {
                    dirs.push(rel);
                } else {
                    out.insert(rel, int(f, "file_size").unwrap_or(0) as u64);
                }
            }
        }
        Ok(out)
    }

    /// Whether the file `name` lies directly under the artifact root `root_uri`.
    pub fn has_artifact(&self, root_uri: &str, name: &str) -> Result<bool> {
        let root = proxied(root_uri, &self.api.base)?;
        let url = format!("{}/api/2.0/mlflow-artifacts/artifacts", self.api.base);
        let listing =
            self.api.answer(self.api.client.get(&url).query(&[("path", &root)]).send(), name, "/artifacts")?;
        let files = listing.get("files").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        Ok(files.iter().any(|f| text(f, "path").as_deref() == Some(name) && f["is_dir"] != Value::Bool(true)))
    }

    /// Streams `file` to `rel` under an `mlflow-artifacts:/` root.
    pub fn upload(&self, root_uri: &str, rel: &str, file: std::fs::File) -> Result<()> {
        let root = proxied(root_uri, &self.api.base)?;
        let url = format!("{}/api/2.0/mlflow-artifacts/artifacts/{root}/{rel}", self.api.base);
        self.api
            .answer(self.api.client.put(&url).body(reqwest::blocking::Body::from(file)).send(), rel, "/artifacts")
            .map(drop)
    }

    /// The experiment's logged models that came from Almanac: Almanac id →
    /// (server id, artifact location).
    pub fn exported_models(&self, experiment_id: &str) -> Result<HashMap<String, (String, String)>> {
        let mut out = HashMap::new();
        let mut body = json!({"experiment_ids": [experiment_id], "max_results": 100});
        loop {
            let page = match self.api.post("/logged-models/search", &body, &format!("experiment {experiment_id}")) {
                Ok(p) => p,
                Err(e) if e.reason.contains("404") => return Ok(out),
                Err(e) => return Err(e),
            };
            for m in page.get("models").and_then(Value::as_array).into_iter().flatten() {
                let info = &m["info"];
                if let Some(origin) = map_of(info, "tags").get(MODEL_ORIGIN_TAG) {
                    out.insert(
                        origin.clone(),
                        (text(info, "model_id").unwrap_or_default(), text(info, "artifact_uri").unwrap_or_default()),
                    );
                }
            }
            match text(&page, "next_page_token").filter(|t| !t.is_empty()) {
                Some(token) => body["page_token"] = token.into(),
                None => return Ok(out),
            }
        }
    }

    /// Creates a logged model; returns (id, artifact location).
    pub fn create_logged_model(
        &self,
        experiment_id: &str,
        name: &str,
        source_run_id: Option<&str>,
        model_type: Option<&str>,
        params: &[Param],
        tags: &[Tag],
    ) -> Result<(String, String)> {
        let params: Vec<Value> = params.iter().map(|p| json!({"key": p.key, "value": p.value})).collect();
        let mut body = json!({"experiment_id": experiment_id, "name": name, "params": params, "tags": tag_json(tags)});
        if let Some(run) = source_run_id {
            body["source_run_id"] = run.into();
        }
        if let Some(t) = model_type {
            body["model_type"] = t.into();
        }
        let v = self.api.post("/logged-models", &body, &format!("logged model {name}"))?;
        Ok((
            text(&v["model"]["info"], "model_id").unwrap_or_default(),
            text(&v["model"]["info"], "artifact_uri").unwrap_or_default(),
        ))
    }

    pub fn finalize_logged_model(&self, model_id: &str, ready: bool) -> Result<()> {
        let status = if ready { "LOGGED_MODEL_READY" } else { "LOGGED_MODEL_UPLOAD_FAILED" };
        self.api
            .patch(&format!("/logged-models/{model_id}"), &json!({"model_id": model_id, "status": status}), model_id)
            .map(drop)
    }

    /// A registered model's tags, aliases and versions (Almanac version →
    /// server version, from the origin tag), if it exists.
    #[allow(clippy::type_complexity)]
    pub fn registered_model(
        &self,
        name: &str,
    ) -> Result<Option<(HashMap<String, String>, HashMap<String, i64>, HashMap<i64, i64>)>> {
        let entity = format!("registered model {name}");
        let model = match self.api.get("/registered-models/get", &[("name", name)], &entity) {
            Ok(v) => v["registered_model"].clone(),
            Err(e) if e.reason.contains("RESOURCE_DOES_NOT_EXIST") => return Ok(None),
            Err(e) => return Err(e),
        };
        let aliases = crate::rest::aliases(&model).into_iter().collect();
        let versions = self
            .api
            .model_versions(name, &entity)?
            .iter()
            .filter_map(|v| Some((map_of(v, "tags").get(VERSION_ORIGIN_TAG)?.parse().ok()?, int(v, "version")?)))
            .collect();
        Ok(Some((map_of(&model, "tags"), aliases, versions)))
    }

    pub fn create_registered_model(&self, name: &str, description: Option<&str>, tags: &[Tag]) -> Result<()> {
        let body = json!({"name": name, "description": description.unwrap_or_default(), "tags": tag_json(tags)});
        self.api.post("/registered-models/create", &body, &format!("registered model {name}")).map(drop)
    }

    pub fn set_registered_model_tag(&self, name: &str, tag: &Tag) -> Result<()> {
        let body = json!({"name": name, "key": tag.key, "value": tag.value});
        self.api.post("/registered-models/set-tag", &body, &format!("registered model {name}")).map(drop)
    }

    /// Creates a version; returns its number on the server.
    #[allow(clippy::too_many_arguments)]
    pub fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: Option<&str>,
        model_id: Option<&str>,
        description: Option<&str>,
        tags: &[Tag],
    ) -> Result<i64> {
        let mut body = json!({"name": name, "source": source, "tags": tag_json(tags), "description": description.unwrap_or_default()});
        if let Some(r) = run_id {
            body["run_id"] = r.into();
        }
        if let Some(m) = model_id {
            body["model_id"] = m.into();
        }
        let v = self.api.post("/model-versions/create", &body, &format!("registered model {name}"))?;
        int(&v["model_version"], "version")
            .ok_or_else(|| SourceError::new(name, &self.api.base, "no version in the answer"))
    }

    pub fn transition_stage(&self, name: &str, version: i64, stage: &str) -> Result<()> {
        let body =
            json!({"name": name, "version": version.to_string(), "stage": stage, "archive_existing_versions": false});
        self.api.post("/model-versions/transition-stage", &body, &format!("registered model {name}")).map(drop)
    }

    pub fn set_alias(&self, name: &str, alias: &str, version: i64) -> Result<()> {
        let body = json!({"name": name, "alias": alias, "version": version.to_string()});
        self.api.post("/registered-models/alias", &body, &format!("registered model {name}")).map(drop)
    }
}

/// The proxied path of an `mlflow-artifacts:` URI; other schemes mean the
/// server does not proxy artifacts, so they cannot be uploaded through it.
fn proxied(uri: &str, base: &str) -> Result<String> {
    let rest = uri.strip_prefix("mlflow-artifacts:").ok_or_else(|| {
        SourceError::new(
            "artifacts",
            base,
            format!("the server stores artifacts at {uri}, which it does not proxy: start it with --serve-artifacts"),
        )
    })?;
    // mlflow-artifacts://host:port/path carries a netloc (maybe empty) before the path.
    let path = match rest.strip_prefix("//") {
        Some(after) => after.split_once('/').map_or("", |(_netloc, path)| path),
        None => rest,
    };
    Ok(path.trim_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_proxied_artifact_roots_can_be_uploaded_to() {
        for (uri, path) in [
            ("mlflow-artifacts:/1/abc/artifacts", Some("1/abc/artifacts")),
            ("mlflow-artifacts:///1/abc/artifacts/", Some("1/abc/artifacts")),
            ("mlflow-artifacts://host:5000/1/abc", Some("1/abc")),
            ("s3://bucket/1/abc", None),
            ("/local/path", None),
        ] {
            assert_eq!(super::proxied(uri, "http://x").ok().as_deref(), path, "{uri}");
        }
    }
}
