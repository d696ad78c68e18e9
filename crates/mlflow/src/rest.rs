//! A running MLflow server, read through its REST API: the same calls the
//! mlflow client makes. Artifacts are downloaded into a scratch folder the
//! source owns, so the importer reads every source's artifacts from disk.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use almanac_core::model::{Metric, Param, Tag};
use almanac_wire as wire;
use almanac_wire::requests::{self as rq, Paged};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::records::{self, Experiment, LoggedModel, ModelVersion, RegisteredModel, Run, Trace};
use crate::{Result, Source, SourceError};

pub struct RestServer {
    base: String,
    http: reqwest::blocking::Client,
    api: Http,
    /// Runs as the search returned them, by id, until read.
    runs: HashMap<String, wire::Run>,
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
            let error: wire::ErrorBody = serde_json::from_value(body).unwrap_or_default();
            return Err(fail(format!("{status} {}: {}", error.error_code, error.message)));
        }
        Ok(body)
    }

    /// An answer read as the wire shape `T`.
    pub(crate) fn typed<T: DeserializeOwned>(&self, body: Value, entity: &str, what: &str) -> Result<T> {
        serde_json::from_value(body)
            .map_err(|e| SourceError::new(entity, format!("{}{what}", self.base), format!("unexpected answer: {e}")))
    }

    pub(crate) fn post_as<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
        entity: &str,
    ) -> Result<T> {
        let answer = self.post(path, body, entity)?;
        self.typed(answer, entity, path)
    }

    pub(crate) fn get_as<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)], entity: &str) -> Result<T> {
        let answer = self.get(path, query, entity)?;
        self.typed(answer, entity, path)
    }

    pub(crate) fn post(&self, path: &str, body: &impl serde::Serialize, entity: &str) -> Result<Value> {
        let url = format!("{}/api/2.0/mlflow{path}", self.base);
        self.answer(self.client.post(url).json(body).send(), entity, path)
    }

    /// Every page of a listing POSTed to `api_path` (`/api/<v>/mlflow/...`).
    pub(crate) fn pages<L: Listing>(&self, api_path: &str, mut body: impl Paged, entity: &str) -> Result<Vec<L::Item>> {
        let url = format!("{}{api_path}", self.base);
        let mut out = Vec::new();
        loop {
            let answer = self.answer(self.client.post(&url).json(&body).send(), entity, api_path)?;
            let (items, next) = self.typed::<L>(answer, entity, api_path)?.parts();
            out.extend(items);
            match next.filter(|t| !t.is_empty()) {
                Some(token) => body.set_page_token(token),
                None => return Ok(out),
            }
        }
    }

    /// Every trace record of an experiment; none on servers from before
    /// MLflow 3, which have no such endpoint.
    pub(crate) fn trace_infos(&self, experiment_id: &str) -> Result<Vec<wire::traces::TraceInfoV3>> {
        let body = rq::SearchTraces {
            locations: vec![wire::traces::TraceLocation::experiment(experiment_id)],
            max_results: 100,
            page_token: None,
        };
        let entity = format!("experiment {experiment_id}");
        match self.pages::<wire::traces::TracesPage>("/api/3.0/mlflow/traces/search", body, &entity) {
            Err(e) if e.reason.starts_with("404") => Ok(Vec::new()),
            other => other,
        }
    }

    pub(crate) fn patch(&self, path: &str, body: &impl serde::Serialize, entity: &str) -> Result<Value> {
        let url = format!("{}/api/2.0/mlflow{path}", self.base);
        self.answer(self.client.patch(url).json(body).send(), entity, path)
    }

    pub(crate) fn get(&self, path: &str, query: &[(&str, &str)], entity: &str) -> Result<Value> {
        let url = format!("{}/api/2.0/mlflow{path}", self.base);
        self.answer(self.client.get(url).query(query).send(), entity, path)
    }

    /// Every version of a registered model. A plain search hides prompt
    /// versions, so they are asked for separately.
    pub(crate) fn model_versions(&self, name: &str, entity: &str) -> Result<Vec<wire::ModelVersion>> {
        let by_name = format!("name='{}'", name.replace('\'', "\\'"));
        let mut found: Vec<wire::ModelVersion> = Vec::new();
        for filter in [by_name.clone(), format!("{by_name} AND tags.`mlflow.prompt.is_prompt` = 'true'")] {
            let query = [("filter", filter.as_str()), ("max_results", "10000")];
            let page: wire::ModelVersionsPage = self.get_as("/model-versions/search", &query, entity)?;
            for v in page.model_versions {
                if !found.iter().any(|x| x.version == v.version) {
                    found.push(v);
                }
            }
        }
        Ok(found)
    }
}

/// A listing page of some wire shape: its items and the next page's token.
pub(crate) trait Listing: DeserializeOwned {
    type Item;
    fn parts(self) -> (Vec<Self::Item>, Option<String>);
}

macro_rules! listing {
    ($page:ty, $field:ident, $item:ty) => {
        impl Listing for $page {
            type Item = $item;
            fn parts(self) -> (Vec<$item>, Option<String>) {
                (self.$field, self.next_page_token)
            }
        }
    };
}

listing!(wire::ExperimentsPage, experiments, wire::Experiment);
listing!(wire::RunsPage, runs, wire::Run);
listing!(wire::LoggedModelsPage, models, wire::LoggedModel);
listing!(wire::traces::TracesPage, traces, wire::traces::TraceInfoV3);

/// A registered model's aliases as (alias, version number).
pub(crate) fn aliases(model: &wire::RegisteredModel) -> Vec<(String, i64)> {
    model.aliases.iter().filter_map(|a| Some((a.alias.clone(), a.version.parse().ok()?))).collect()
}

pub(crate) fn tags(items: &[wire::KeyValue]) -> Vec<Tag> {
    items.iter().cloned().map(Tag::from).collect()
}

/// A `map<string, string>` field (TraceInfoV3's tags and metadata), in key order.
fn map_tags(map: &std::collections::BTreeMap<String, String>) -> Vec<Tag> {
    map.iter().map(|(key, value)| Tag { key: key.clone(), value: value.clone() }).collect()
}

/// Some servers send an empty string for what they lack.
fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
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

impl RestServer {
    /// One trace from its TraceInfoV3 JSON, with its spans: the
    /// `traces.json` artifact through the server's proxy, else the spans the
    /// server keeps in its database.
    fn trace(&self, experiment_id: &str, info: &wire::traces::TraceInfoV3) -> Result<Trace> {
        use almanac_core::trace;
        let trace_id = info.trace_id.clone();
        let entity = format!("trace {trace_id}");
        let fail = |reason: String| SourceError::new(&entity, format!("{}/api/3.0/mlflow/traces", self.base), reason);
        let request_time = &info.request_time;
        let request_time_ms = trace::parse_rfc3339_ms(request_time)
            .ok_or_else(|| fail(format!("unreadable request_time '{request_time}'")))?;
        let all_tags = map_tags(&info.tags);
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
                client_request_id: info.client_request_id.clone(),
                request_time_ms,
                execution_duration_ms: info.execution_duration.as_deref().and_then(trace::parse_duration_ms),
                state: records::trace_state(Some(&info.state)),
                request_preview: info.request_preview.clone(),
                response_preview: info.response_preview.clone(),
                trace_metadata: map_tags(&info.trace_metadata),
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
        let probe = rq::SearchExperiments { max_results: 1, ..Default::default() };
        server.api.post("/experiments/search", &probe, "source").map_err(|e| {
            SourceError::new("source", &server.base, format!("not an MLflow server, or unreachable: {}", e.reason))
        })?;
        Ok(server)
    }

    fn answer(&self, r: reqwest::Result<reqwest::blocking::Response>, entity: &str, what: &str) -> Result<Value> {
        self.api.answer(r, entity, what)
    }

    fn get_as<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)], entity: &str) -> Result<T> {
        self.api.get_as(path, query, entity)
    }

    /// Every page of a listing under `/api/2.0/mlflow`.
    fn pages<L: Listing>(&self, path: &str, body: impl Paged, entity: &str) -> Result<Vec<L::Item>> {
        self.api.pages::<L>(&format!("/api/2.0/mlflow{path}"), body, entity)
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
            let listing: wire::ArtifactListing = self.get_as("/artifacts/list", &query, entity)?;
            for f in listing.files {
                let path = f.path;
                if f.is_dir {
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
            let answer =
                self.answer(self.http.get(&proxy).query(&[("path", &listing_path)]).send(), entity, "/artifacts")?;
            let listing: wire::ArtifactListing = self.api.typed(answer, entity, "/artifacts")?;
            for f in listing.files {
                let name = f.path;
                let rel = if dir.is_empty() { name } else { format!("{dir}/{name}") };
                if f.is_dir {
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
        let body = rq::SearchExperiments { max_results: 1000, view_type: Some("ALL".into()), ..Default::default() };
        let all = self.pages::<wire::ExperimentsPage>("/experiments/search", body, "experiments")?;
        all.into_iter()
            .map(|e| {
                if e.experiment_id.is_empty() {
                    return Err(SourceError::new("experiment", &self.base, "no id"));
                }
                Ok(Experiment {
                    lifecycle: records::lifecycle(Some(&e.lifecycle_stage)),
                    creation_time: e.creation_time,
                    tags: tags(&e.tags),
                    id: e.experiment_id,
                    name: e.name,
                })
            })
            .collect()
    }

    fn run_ids(&mut self, experiment_id: &str) -> Result<Vec<String>> {
        let body = rq::SearchRuns {
            experiment_ids: vec![experiment_id.into()],
            run_view_type: Some("ALL".into()),
            max_results: 1000,
            page_token: None,
        };
        let runs = self.pages::<wire::RunsPage>("/runs/search", body, &format!("experiment {experiment_id}"))?;
        let mut ids = Vec::new();
        for run in runs {
            let id = run.info.id().to_string();
            if !id.is_empty() {
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
            None => self.get_as::<wire::RunReply>("/runs/get", &[("run_id", run_id)], &entity)?.run,
        };
        let mut metrics = Vec::new();
        for key in run.data.metrics.iter().map(|m| m.key.as_str()) {
            let mut token = String::new();
            loop {
                let mut query = vec![("run_id", run_id), ("metric_key", key), ("max_results", "25000")];
                if !token.is_empty() {
                    query.push(("page_token", token.as_str()));
                }
                let page: wire::Metrics = self.get_as("/metrics/get-history", &query, &entity)?;
                metrics.extend(page.metrics.iter().map(|m| Metric {
                    key: key.to_string(),
                    point: m.to_point(),
                    model_id: None,
                    dataset_name: None,
                    dataset_digest: None,
                }));
                match wire::next_token(&page.next_page_token) {
                    Some(t) => token = t.to_string(),
                    None => break,
                }
            }
        }
        records::collapse(&mut metrics);
        let info = &run.info;
        let status = records::run_status(&info.status)
            .ok_or_else(|| SourceError::new(&entity, &self.base, format!("unknown status {:?}", info.status)))?;
        Ok(Run {
            run_id: run_id.to_string(),
            experiment_id: experiment_id.to_string(),
            run_name: info.run_name.clone(),
            user_id: info.user_id.clone(),
            status,
            start_time: info.start_time,
            end_time: info.end_time,
            lifecycle: records::lifecycle(Some(&info.lifecycle_stage)),
            params: run.data.params.iter().cloned().map(Param::from).collect(),
            tags: tags(&run.data.tags),
            metrics,
            inputs: run.inputs.dataset_inputs.iter().cloned().map(Into::into).collect(),
            outputs: run.outputs.model_outputs.iter().map(|o| (o.model_id.clone(), o.step)).collect(),
            artifacts: Some(self.run_artifacts(run_id, &entity)?),
        })
    }

    fn logged_models(&mut self, experiment_id: &str) -> Result<Vec<Result<LoggedModel>>> {
        let entity = format!("experiment {experiment_id}");
        let body =
            rq::SearchLoggedModels { experiment_ids: vec![experiment_id.into()], max_results: 100, page_token: None };
        let models = match self.pages::<wire::LoggedModelsPage>("/logged-models/search", body, &entity) {
            Ok(m) => m,
            // Servers before MLflow 3 have no logged models.
            Err(e) if e.reason.starts_with("404") => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(models
            .into_iter()
            .map(|m| {
                let info = &m.info;
                let entity = format!("logged model {}", info.model_id);
                let metrics = m
                    .data
                    .metrics
                    .iter()
                    .filter_map(|x| {
                        let metric = Metric {
                            key: x.key.clone(),
                            point: x.to_point(),
                            model_id: Some(info.model_id.clone()),
                            dataset_name: x.dataset_name.clone(),
                            dataset_digest: x.dataset_digest.clone(),
                        };
                        Some((x.run_id.clone()?, metric))
                    })
                    .collect();
                Ok(LoggedModel {
                    experiment_id: experiment_id.to_string(),
                    name: info.name.clone(),
                    creation_time: info.creation_timestamp_ms,
                    model_type: info.model_type.clone(),
                    source_run_id: info.source_run_id.clone(),
                    status: m.status(),
                    lifecycle: almanac_core::model::LifecycleStage::Active,
                    params: m.data.params.iter().cloned().map(Param::from).collect(),
                    tags: tags(&info.tags),
                    metrics,
                    artifacts: self.model_artifacts(&info.model_id, &info.artifact_uri, &entity)?,
                    model_id: info.model_id.clone(),
                })
            })
            .collect())
    }

    fn traces(&mut self, experiment_id: &str) -> Result<Vec<Result<Trace>>> {
        let infos = self.api.trace_infos(experiment_id)?;
        Ok(infos.into_iter().map(|info| self.trace(experiment_id, &info)).collect())
    }

    fn registered_models(&mut self) -> Result<Vec<Result<RegisteredModel>>> {
        let mut models: Vec<wire::RegisteredModel> = Vec::new();
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
                let page: wire::RegisteredModelsPage =
                    self.get_as("/registered-models/search", &query, "registered models")?;
                for m in page.registered_models {
                    if !models.iter().any(|x| x.name == m.name) {
                        models.push(m);
                    }
                }
                match wire::next_token(&page.next_page_token) {
                    Some(t) => token = t.to_string(),
                    None => break,
                }
            }
        }
        Ok(models
            .into_iter()
            .map(|m| {
                let entity = format!("registered model {}", m.name);
                let found = self.api.model_versions(&m.name, &entity)?;
                let mut versions: Vec<ModelVersion> = found
                    .iter()
                    .filter_map(|v| {
                        Some(ModelVersion {
                            version: v.version.parse().ok()?,
                            creation_time: v.creation_timestamp,
                            description: non_empty(&v.description),
                            current_stage: if v.current_stage.is_empty() {
                                "None".into()
                            } else {
                                v.current_stage.clone()
                            },
                            source: v.source.clone(),
                            storage_location: v.storage_location.clone(),
                            run_id: non_empty(&v.run_id),
                            run_link: non_empty(&v.run_link),
                            model_id: v.model_id.as_deref().and_then(non_empty),
                            tags: tags(&v.tags),
                        })
                    })
                    .collect();
                versions.sort_by_key(|v| v.version);
                Ok(RegisteredModel {
                    creation_time: m.creation_timestamp,
                    description: non_empty(&m.description),
                    tags: tags(&m.tags),
                    aliases: aliases(&m),
                    versions,
                    name: m.name,
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
