//! A running MLflow server, read through its REST API: the same calls the
//! mlflow client makes. Artifacts are downloaded into a scratch folder the
//! source owns, so the importer reads every source's artifacts from disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use almanac_core::model::{Dataset, DatasetInput, Metric, MetricPoint, Param, Tag};
use serde_json::{Value, json};

use crate::records::{self, Experiment, LoggedModel, ModelVersion, RegisteredModel, Run, Trace};
use crate::{Result, Source, SourceError};

pub struct RestServer {
    base: String,
    http: reqwest::blocking::Client,
    api: Http,
    /// Runs as the search returned them, by id, until read.
    runs: HashMap<String, Value>,
    scratch: tempfile::TempDir,
}

/// MLflow's REST API at one base URL: JSON in, JSON out, errors that name
/// the call and carry the server's message.
pub(crate) struct Http {
    pub(crate) base: String,
    pub(crate) client: reqwest::blocking::Client,
}

impl Http {
    pub(crate) fn new(base: &str) -> Result<Http> {
        let base = base.trim_end_matches('/').to_string();
        let client = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(600))
            .build()
            .map_err(|e| SourceError::new("server", &base, e))?;
        Ok(Http { base, client })
    }

    pub(crate) fn answer(
        &self,
        r: reqwest::Result<reqwest::blocking::Response>,
        entity: &str,
        what: &str,
    ) -> Result<Value> {
        let fail = |reason: String| SourceError::new(entity, format!("{}{what}", self.base), reason);
        let r = r.map_err(|e| fail(e.to_string()))?;
        let status = r.status();
        let body: Value = r.json().unwrap_or(Value::Null);
        if !status.is_success() {
            let code = text(&body, "error_code").unwrap_or_default();
            return Err(fail(format!("{status} {code}: {}", text(&body, "message").unwrap_or_default())));
        }
        Ok(body)
    }

    pub(crate) fn post(&self, path: &str, body: &Value, entity: &str) -> Result<Value> {
        let url = format!("{}/api/2.0/mlflow{path}", self.base);
        self.answer(self.client.post(url).json(body).send(), entity, path)
    }

    /// Every page of a listing POSTed to `api_path` (`/api/<v>/mlflow/...`).
    pub(crate) fn pages(&self, api_path: &str, mut body: Value, items: &str, entity: &str) -> Result<Vec<Value>> {
        let url = format!("{}{api_path}", self.base);
        let mut out = Vec::new();
        loop {
            let page = self.answer(self.client.post(&url).json(&body).send(), entity, api_path)?;
            out.extend(page.get(items).and_then(Value::as_array).cloned().unwrap_or_default());
            match text(&page, "next_page_token").filter(|t| !t.is_empty()) {
                Some(token) => body["page_token"] = token.into(),
                None => return Ok(out),
            }
        }
    }

    /// Every trace record of an experiment; none on servers from before
    /// MLflow 3, which have no such endpoint.
    pub(crate) fn trace_infos(&self, experiment_id: &str) -> Result<Vec<Value>> {
        let body = json!({
            "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}],
            "max_results": 100,
        });
        match self.pages("/api/3.0/mlflow/traces/search", body, "traces", &format!("experiment {experiment_id}")) {
            Err(e) if e.reason.starts_with("404") => Ok(Vec::new()),
            other => other,
        }
    }

    pub(crate) fn patch(&self, path: &str, body: &Value, entity: &str) -> Result<Value> {
        let url = format!("{}/api/2.0/mlflow{path}", self.base);
        self.answer(self.client.patch(url).json(body).send(), entity, path)
    }

    pub(crate) fn get(&self, path: &str, query: &[(&str, &str)], entity: &str) -> Result<Value> {
        let url = format!("{}/api/2.0/mlflow{path}", self.base);
        self.answer(self.client.get(url).query(query).send(), entity, path)
    }

    /// Every version of a registered model. A plain search hides prompt
    /// versions, so they are asked for separately.
    pub(crate) fn model_versions(&self, name: &str, entity: &str) -> Result<Vec<Value>> {
        let by_name = format!("name='{}'", name.replace('\'', "\\'"));
        let mut found: Vec<Value> = Vec::new();
        for filter in [by_name.clone(), format!("{by_name} AND tags.`mlflow.prompt.is_prompt` = 'true'")] {
            let page =
                self.get("/model-versions/search", &[("filter", filter.as_str()), ("max_results", "10000")], entity)?;
            for v in page.get("model_versions").and_then(Value::as_array).into_iter().flatten() {
                if !found.iter().any(|x| x.get("version") == v.get("version")) {
                    found.push(v.clone());
                }
            }
        }
        Ok(found)
    }
}

/// A registered model's `aliases` list as (alias, version).
pub(crate) fn aliases(model: &Value) -> Vec<(String, i64)> {
    model
        .get("aliases")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| Some((text(a, "alias")?, int(a, "version")?)))
        .collect()
}

pub(crate) fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn int(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            other => other.parse().ok(),
        },
        _ => None,
    }
}

/// A `map<string, string>` field (TraceInfoV3's tags and metadata), in key order.
fn map_tags(v: &Value, key: &str) -> Vec<Tag> {
    let mut out: Vec<Tag> = v
        .get(key)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some(Tag { key: k.clone(), value: v.as_str()?.to_string() }))
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

fn pairs(v: &Value, key: &str) -> Vec<(String, String)> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|items| {
            items.iter().filter_map(|t| Some((text(t, "key")?, text(t, "value").unwrap_or_default()))).collect()
        })
        .unwrap_or_default()
}

/// A span as MLflow's server returns it (OTLP JSON, typed attributes) in
/// the form `traces.json` keeps (attributes as JSON text, times as numbers).
fn span_dict_of_otlp(span: &Value) -> Value {
    let mut out = span.clone();
    // proto3 JSON leaves out empty fields; the span dict names them all.
    for (key, default) in [
        ("parent_span_id", Value::Null),
        ("events", json!([])),
        ("links", json!([])),
        ("status", json!({"code": "STATUS_CODE_UNSET", "message": ""})),
        ("attributes", json!({})),
    ] {
        if out.get(key).is_none_or(Value::is_null) {
            out[key] = default;
        }
    }
    if let Some(status) = out.get_mut("status").and_then(Value::as_object_mut) {
        status.entry("message").or_insert_with(|| "".into());
        status.entry("code").or_insert_with(|| "STATUS_CODE_UNSET".into());
    }
    for key in ["start_time_unix_nano", "end_time_unix_nano"] {
        if let Some(n) = span.get(key).and_then(|v| v.as_str().and_then(|s| s.parse::<u64>().ok()).or(v.as_u64())) {
            out[key] = n.into();
        }
    }
    if let Some(list) = span.get("attributes").and_then(Value::as_array) {
        let attributes: serde_json::Map<String, Value> = list
            .iter()
            .filter_map(|a| {
                let key = a.get("key")?.as_str()?.to_string();
                let text = otlp_value(a.get("value")?).to_string();
                Some((key, Value::String(text)))
            })
            .collect();
        out["attributes"] = Value::Object(attributes);
    }
    out
}

/// An OTLP `AnyValue` (`{"string_value": ..}`, `{"kvlist_value": ..}`, ..)
/// as the plain JSON value MLflow encoded into the attribute.
fn otlp_value(v: &Value) -> Value {
    let number = |n: &Value| match n {
        Value::String(s) => s.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(s.clone())),
        other => other.clone(),
    };
    if let Some(s) = v.get("string_value") {
        s.clone()
    } else if let Some(b) = v.get("bool_value") {
        b.clone()
    } else if let Some(n) = v.get("int_value") {
        number(n)
    } else if let Some(n) = v.get("double_value") {
        n.clone()
    } else if let Some(list) = v.pointer("/array_value/values").and_then(Value::as_array) {
        Value::Array(list.iter().map(otlp_value).collect())
    } else if let Some(list) = v.pointer("/kvlist_value/values").and_then(Value::as_array) {
        Value::Object(
            list.iter()
                .filter_map(|kv| Some((kv.get("key")?.as_str()?.to_string(), otlp_value(kv.get("value")?))))
                .collect(),
        )
    } else if v.get("array_value").is_some() {
        Value::Array(Vec::new())
    } else if v.get("kvlist_value").is_some() {
        Value::Object(serde_json::Map::new())
    } else {
        Value::Null
    }
}

fn tags(v: &Value, key: &str) -> Vec<Tag> {
    pairs(v, key).into_iter().map(|(key, value)| Tag { key, value }).collect()
}

impl RestServer {
    /// One trace from its TraceInfoV3 JSON, with its spans: the
    /// `traces.json` artifact through the server's proxy, else the spans the
    /// server keeps in its database.
    fn trace(&self, experiment_id: &str, info: &Value) -> Result<Trace> {
        use almanac_core::trace;
        let trace_id = text(info, "trace_id").unwrap_or_default();
        let entity = format!("trace {trace_id}");
        let fail = |reason: String| SourceError::new(&entity, format!("{}/api/3.0/mlflow/traces", self.base), reason);
        let request_time = text(info, "request_time").unwrap_or_default();
        let request_time_ms = trace::parse_rfc3339_ms(&request_time)
            .ok_or_else(|| fail(format!("unreadable request_time '{request_time}'")))?;
        let all_tags = map_tags(info, "tags");
        let location = all_tags.iter().find(|t| t.key == trace::ARTIFACT_LOCATION_TAG).map(|t| t.value.clone());
        let mut spans_json = location.as_deref().and_then(almanac_core::validation::proxied_path).and_then(|path| {
            let url = format!("{}/api/2.0/mlflow-artifacts/artifacts/{path}/{}", self.base, trace::SPANS_FILE);
            let r = self.http.get(url).send().ok().filter(|r| r.status().is_success())?;
            r.bytes().ok().map(|b| b.to_vec())
        });
        if spans_json.is_none() {
            let url = format!("{}/api/3.0/mlflow/traces/get", self.base);
            let query = [("trace_id", trace_id.as_str()), ("allow_partial", "true")];
            if let Ok(got) = self.answer(self.http.get(url).query(&query).send(), &entity, "/traces/get")
                && let Some(spans) = got.pointer("/trace/spans").and_then(Value::as_array)
            {
                let spans: Vec<Value> = spans.iter().map(span_dict_of_otlp).collect();
                spans_json = Some(json!({ "spans": spans }).to_string().into_bytes());
            }
        }
        Ok(Trace {
            info: trace::TraceInfo {
                trace_id: trace_id.clone(),
                experiment_id: experiment_id.to_string(),
                client_request_id: text(info, "client_request_id"),
                request_time_ms,
                execution_duration_ms: text(info, "execution_duration").and_then(|d| trace::parse_duration_ms(&d)),
                state: records::trace_state(text(info, "state").as_deref()),
                request_preview: text(info, "request_preview"),
                response_preview: text(info, "response_preview"),
                trace_metadata: map_tags(info, "trace_metadata"),
                tags: all_tags.into_iter().filter(|t| records::keep_trace_tag(&t.key)).collect(),
            },
            spans_json,
        })
    }

    /// Connects to the server at `base` and checks that it answers MLflow's API.
    pub fn open(base: &str) -> Result<RestServer> {
        let api = Http::new(base)?;
        let scratch = tempfile::tempdir().map_err(|e| SourceError::new("source", &api.base, e))?;
        let server =
            RestServer { base: api.base.clone(), http: api.client.clone(), api, runs: HashMap::new(), scratch };
        server.post("/experiments/search", &json!({"max_results": 1}), "source").map_err(|e| {
            SourceError::new("source", &server.base, format!("not an MLflow server, or unreachable: {}", e.reason))
        })?;
        Ok(server)
    }

    fn answer(&self, r: reqwest::Result<reqwest::blocking::Response>, entity: &str, what: &str) -> Result<Value> {
        self.api.answer(r, entity, what)
    }

    fn post(&self, path: &str, body: &Value, entity: &str) -> Result<Value> {
        self.api.post(path, body, entity)
    }

    fn get(&self, path: &str, query: &[(&str, &str)], entity: &str) -> Result<Value> {
        self.api.get(path, query, entity)
    }

    /// Every page of a listing under `/api/2.0/mlflow`.
    fn pages(&self, path: &str, body: Value, items: &str, entity: &str) -> Result<Vec<Value>> {
        self.api.pages(&format!("/api/2.0/mlflow{path}"), body, items, entity)
    }

    fn download(&self, url: &str, query: &[(&str, &str)], to: &Path, entity: &str) -> Result<()> {
        let fail = |e: String| SourceError::new(entity, url.to_string(), e);
        let mut r = self.http.get(url).query(query).send().map_err(|e| fail(e.to_string()))?;
        if !r.status().is_success() {
            return Err(fail(format!("download answered {}", r.status())));
        }
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
        }
        let mut file = std::fs::File::create(to).map_err(|e| fail(e.to_string()))?;
        r.copy_to(&mut file).map_err(|e| fail(e.to_string()))?;
        Ok(())
    }

    /// Downloads a run's artifacts through the server (`/get-artifact`,
    /// which serves any artifact store the server can read).
    fn run_artifacts(&self, run_id: &str, entity: &str) -> Result<PathBuf> {
        let root = self.scratch.path().join(run_id);
        std::fs::create_dir_all(&root).map_err(|e| SourceError::new(entity, root.display().to_string(), e))?;
        let mut dirs = vec![String::new()];
        while let Some(dir) = dirs.pop() {
            let mut query = vec![("run_id", run_id)];
            if !dir.is_empty() {
                query.push(("path", dir.as_str()));
            }
            let listing = self.get("/artifacts/list", &query, entity)?;
            for f in listing.get("files").and_then(Value::as_array).into_iter().flatten() {
                let Some(path) = text(f, "path") else { continue };
                if f.get("is_dir").and_then(Value::as_bool).unwrap_or(false) {
                    dirs.push(path);
                } else if path.split('/').all(|part| !part.is_empty() && part != "..") {
                    let url = format!("{}/get-artifact", self.base);
                    self.download(&url, &[("run_id", run_id), ("path", &path)], &root.join(&path), entity)?;
                }
            }
        }
        Ok(root)
    }

    /// Downloads a logged model's artifacts through the artifact proxy.
    fn model_artifacts(&self, model_id: &str, location: &str, entity: &str) -> Result<Option<PathBuf>> {
        let Some(proxied) = location.strip_prefix("mlflow-artifacts:").map(|p| p.trim_start_matches('/')) else {
            return Ok(None);
        };
        let root = self.scratch.path().join(model_id);
        let mut dirs = vec![String::new()];
        let proxy = format!("{}/api/2.0/mlflow-artifacts/artifacts", self.base);
        while let Some(dir) = dirs.pop() {
            let listing_path = if dir.is_empty() { proxied.to_string() } else { format!("{proxied}/{dir}") };
            let listing =
                self.answer(self.http.get(&proxy).query(&[("path", &listing_path)]).send(), entity, "/artifacts")?;
            for f in listing.get("files").and_then(Value::as_array).into_iter().flatten() {
                let Some(name) = text(f, "path") else { continue };
                let rel = if dir.is_empty() { name } else { format!("{dir}/{name}") };
                if f.get("is_dir").and_then(Value::as_bool).unwrap_or(false) {
                    dirs.push(rel);
                } else if rel.split('/').all(|part| !part.is_empty() && part != "..") {
                    self.download(&format!("{proxy}/{proxied}/{rel}"), &[], &root.join(&rel), entity)?;
                }
            }
        }
        Ok(Some(root))
    }
}

impl Source for RestServer {
    fn describe(&self) -> String {
        format!("MLflow server {}", self.base)
    }

    fn experiments(&mut self) -> Result<Vec<Experiment>> {
        let all = self.pages(
            "/experiments/search",
            json!({"max_results": 1000, "view_type": "ALL"}),
            "experiments",
            "experiments",
        )?;
        all.iter()
            .map(|e| {
                Ok(Experiment {
                    id: text(e, "experiment_id").ok_or_else(|| SourceError::new("experiment", &self.base, "no id"))?,
                    name: text(e, "name").unwrap_or_default(),
                    lifecycle: records::lifecycle(text(e, "lifecycle_stage").as_deref()),
                    creation_time: int(e, "creation_time").unwrap_or(0),
                    tags: tags(e, "tags"),
                })
            })
            .collect()
    }

    fn run_ids(&mut self, experiment_id: &str) -> Result<Vec<String>> {
        let body = json!({"experiment_ids": [experiment_id], "run_view_type": "ALL", "max_results": 1000});
        let runs = self.pages("/runs/search", body, "runs", &format!("experiment {experiment_id}"))?;
        let mut ids = Vec::new();
        for run in runs {
            if let Some(id) = run.get("info").and_then(|i| text(i, "run_id")) {
                ids.push(id.clone());
                self.runs.insert(id, run);
            }
        }
        Ok(ids)
    }

    fn run(&mut self, experiment_id: &str, run_id: &str) -> Result<Run> {
        let entity = format!("run {run_id}");
        let run = match self.runs.remove(run_id) {
            Some(r) => r,
            None => self.get("/runs/get", &[("run_id", run_id)], &entity)?["run"].clone(),
        };
        let info = &run["info"];
        let data = &run["data"];
        let mut metrics = Vec::new();
        let keys: Vec<String> = data
            .get("metrics")
            .and_then(Value::as_array)
            .map(|m| m.iter().filter_map(|m| text(m, "key")).collect())
            .unwrap_or_default();
        for key in keys {
            let mut token = String::new();
            loop {
                let mut query = vec![("run_id", run_id), ("metric_key", key.as_str()), ("max_results", "25000")];
                if !token.is_empty() {
                    query.push(("page_token", token.as_str()));
                }
                let page = self.get("/metrics/get-history", &query, &entity)?;
                for m in page.get("metrics").and_then(Value::as_array).into_iter().flatten() {
                    let point = MetricPoint {
                        value: m.get("value").and_then(float).unwrap_or(f64::NAN),
                        timestamp: int(m, "timestamp").unwrap_or(0),
                        step: int(m, "step").unwrap_or(0),
                    };
                    metrics.push(Metric {
                        key: key.clone(),
                        point,
                        model_id: None,
                        dataset_name: None,
                        dataset_digest: None,
                    });
                }
                match text(&page, "next_page_token").filter(|t| !t.is_empty()) {
                    Some(t) => token = t,
                    None => break,
                }
            }
        }
        records::collapse(&mut metrics);
        let inputs = run
            .pointer("/inputs/dataset_inputs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|i| {
                let d = i.get("dataset")?;
                Some(DatasetInput {
                    dataset: Dataset {
                        name: text(d, "name")?,
                        digest: text(d, "digest")?,
                        source_type: text(d, "source_type").unwrap_or_default(),
                        source: text(d, "source").unwrap_or_default(),
                        schema: text(d, "schema"),
                        profile: text(d, "profile"),
                    },
                    tags: tags(i, "tags"),
                })
            })
            .collect();
        let outputs = run
            .pointer("/outputs/model_outputs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|o| Some((text(o, "model_id")?, int(o, "step").unwrap_or(0))))
            .collect();
        let status_raw = text(info, "status").unwrap_or_default();
        Ok(Run {
            run_id: run_id.to_string(),
            experiment_id: experiment_id.to_string(),
            run_name: text(info, "run_name").unwrap_or_default(),
            user_id: text(info, "user_id").unwrap_or_default(),
            status: records::run_status(&status_raw)
                .ok_or_else(|| SourceError::new(&entity, &self.base, format!("unknown status {status_raw:?}")))?,
            start_time: int(info, "start_time").unwrap_or(0),
            end_time: int(info, "end_time"),
            lifecycle: records::lifecycle(text(info, "lifecycle_stage").as_deref()),
            params: pairs(data, "params").into_iter().map(|(key, value)| Param { key, value }).collect(),
            tags: tags(data, "tags"),
            metrics,
            inputs,
            outputs,
            artifacts: Some(self.run_artifacts(run_id, &entity)?),
        })
    }

    fn logged_models(&mut self, experiment_id: &str) -> Result<Vec<Result<LoggedModel>>> {
        let entity = format!("experiment {experiment_id}");
        let body = json!({"experiment_ids": [experiment_id], "max_results": 100});
        let models = match self.pages("/logged-models/search", body, "models", &entity) {
            Ok(m) => m,
            // Servers before MLflow 3 have no logged models.
            Err(e) if e.reason.starts_with("404") => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(models
            .into_iter()
            .map(|m| {
                let info = &m["info"];
                let model_id = text(info, "model_id").unwrap_or_default();
                let entity = format!("logged model {model_id}");
                let location = text(info, "artifact_uri").unwrap_or_default();
                let metrics = m
                    .pointer("/data/metrics")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|x| {
                        let point = MetricPoint {
                            value: x.get("value").and_then(float)?,
                            timestamp: int(x, "timestamp").unwrap_or(0),
                            step: int(x, "step").unwrap_or(0),
                        };
                        let metric = Metric {
                            key: text(x, "key")?,
                            point,
                            model_id: Some(model_id.clone()),
                            dataset_name: text(x, "dataset_name"),
                            dataset_digest: text(x, "dataset_digest"),
                        };
                        Some((text(x, "run_id")?, metric))
                    })
                    .collect();
                Ok(LoggedModel {
                    experiment_id: experiment_id.to_string(),
                    name: text(info, "name").unwrap_or_default(),
                    creation_time: int(info, "creation_timestamp_ms").unwrap_or(0),
                    model_type: text(info, "model_type"),
                    source_run_id: text(info, "source_run_id"),
                    status: match text(info, "status").as_deref() {
                        Some("LOGGED_MODEL_READY") => almanac_core::model::LoggedModelStatus::Ready,
                        Some("LOGGED_MODEL_UPLOAD_FAILED") => almanac_core::model::LoggedModelStatus::Failed,
                        _ => almanac_core::model::LoggedModelStatus::Pending,
                    },
                    lifecycle: almanac_core::model::LifecycleStage::Active,
                    params: pairs(&m["data"], "params").into_iter().map(|(key, value)| Param { key, value }).collect(),
                    tags: tags(info, "tags"),
                    metrics,
                    artifacts: self.model_artifacts(&model_id, &location, &entity)?,
                    model_id,
                })
            })
            .collect())
    }

    fn traces(&mut self, experiment_id: &str) -> Result<Vec<Result<Trace>>> {
        let infos = self.api.trace_infos(experiment_id)?;
        Ok(infos.into_iter().map(|info| self.trace(experiment_id, &info)).collect())
    }

    fn registered_models(&mut self) -> Result<Vec<Result<RegisteredModel>>> {
        let mut models = Vec::new();
        // A plain search hides prompts (registered models tagged as such):
        // ask for them separately.
        for filter in ["", "tags.`mlflow.prompt.is_prompt` = 'true'"] {
            let mut token = String::new();
            loop {
                let mut query = vec![("max_results", "1000")];
                if !filter.is_empty() {
                    query.push(("filter", filter));
                }
                if !token.is_empty() {
                    query.push(("page_token", token.as_str()));
                }
                let page = self.get("/registered-models/search", &query, "registered models")?;
                for m in page.get("registered_models").and_then(Value::as_array).into_iter().flatten() {
                    if !models.iter().any(|x: &Value| x.get("name") == m.get("name")) {
                        models.push(m.clone());
                    }
                }
                match text(&page, "next_page_token").filter(|t| !t.is_empty()) {
                    Some(t) => token = t,
                    None => break,
                }
            }
        }
        Ok(models
            .into_iter()
            .map(|m| {
                let name = text(&m, "name").unwrap_or_default();
                let entity = format!("registered model {name}");
                let found = self.api.model_versions(&name, &entity)?;
                let mut versions: Vec<ModelVersion> = found
                    .iter()
                    .filter_map(|v| {
                        Some(ModelVersion {
                            version: int(v, "version")?,
                            creation_time: int(v, "creation_timestamp").unwrap_or(0),
                            description: text(v, "description").filter(|d| !d.is_empty()),
                            current_stage: text(v, "current_stage").unwrap_or_else(|| "None".into()),
                            source: text(v, "source").unwrap_or_default(),
                            storage_location: text(v, "storage_location"),
                            run_id: text(v, "run_id").filter(|r| !r.is_empty()),
                            run_link: text(v, "run_link").filter(|r| !r.is_empty()),
                            model_id: text(v, "model_id").filter(|r| !r.is_empty()),
                            tags: tags(v, "tags"),
                        })
                    })
                    .collect();
                versions.sort_by_key(|v| v.version);
                let aliases = aliases(&m);
                Ok(RegisteredModel {
                    creation_time: int(&m, "creation_timestamp").unwrap_or(0),
                    description: text(&m, "description").filter(|d| !d.is_empty()),
                    tags: tags(&m, "tags"),
                    aliases,
                    versions,
                    name,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn otlp_spans_become_span_dicts() {
        for (value, expected) in [
            (json!({"string_value": "AGENT"}), "\"AGENT\""),
            (json!({"int_value": "5"}), "5"),
            (json!({"double_value": 0.5}), "0.5"),
            (json!({"bool_value": true}), "true"),
            (json!({"kvlist_value": {"values": [{"key": "q", "value": {"string_value": "hi"}}]}}), "{\"q\":\"hi\"}"),
            (json!({"array_value": {"values": [{"int_value": 1}, {"string_value": "a"}]}}), "[1,\"a\"]"),
            (json!({"kvlist_value": {}}), "{}"),
        ] {
            assert_eq!(otlp_value(&value).to_string(), expected, "{value}");
        }
        let span = json!({
            "trace_id": "KN7t", "span_id": "S/LZ", "name": "root",
            "start_time_unix_nano": "1795740499811981998", "end_time_unix_nano": 1795740499812272049u64,
            "attributes": [{"key": "mlflow.spanType", "value": {"string_value": "AGENT"}}],
        });
        let dict = span_dict_of_otlp(&span);
        assert_eq!(dict["parent_span_id"], Value::Null);
        assert_eq!(dict["start_time_unix_nano"], 1795740499811981998u64);
        assert_eq!(dict["attributes"]["mlflow.spanType"], "\"AGENT\"");
        assert_eq!(dict["status"]["code"], "STATUS_CODE_UNSET");
        assert_eq!(dict["events"], json!([]));
    }
}
