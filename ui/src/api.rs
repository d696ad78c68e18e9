//! The server, as the UI sees it: MLflow's REST API plus Almanac's review
//! routes, over `fetch`. Errors arrive as `{code, message}`.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// An error as the server (or the network) reported it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: String,
    pub message: String,
}

impl ApiError {
    fn network(message: impl Into<String>) -> Self {
        ApiError { code: "NETWORK_ERROR".into(), message: message.into() }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

fn js_message(v: wasm_bindgen::JsValue) -> String {
    v.as_string().or_else(|| js_sys::JSON::stringify(&v).ok().and_then(|s| s.as_string())).unwrap_or_default()
}

/// One request; `body` goes as JSON. Non-2xx replies become [`ApiError`].
async fn call<T: DeserializeOwned>(method: &str, path: &str, body: Option<Value>) -> ApiResult<T> {
    let window = web_sys::window().ok_or_else(|| ApiError::network("no window"))?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&wasm_bindgen::JsValue::from_str(&body.to_string()));
        let headers = web_sys::Headers::new().map_err(|e| ApiError::network(js_message(e)))?;
        headers.set("Content-Type", "application/json").map_err(|e| ApiError::network(js_message(e)))?;
        init.set_headers(&headers);
    }
    let request = web_sys::Request::new_with_str_and_init(path, &init).map_err(|e| ApiError::network(js_message(e)))?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|e| ApiError::network(format!("The server did not answer: {}", js_message(e))))?
        .unchecked_into();
    let text = JsFuture::from(response.text().map_err(|e| ApiError::network(js_message(e)))?)
        .await
        .map_err(|e| ApiError::network(js_message(e)))?
        .as_string()
        .unwrap_or_default();
    if !response.ok() {
        #[derive(Deserialize)]
        struct Wire {
            error_code: Option<String>,
            message: Option<String>,
        }
        let wire: Option<Wire> = serde_json::from_str(&text).ok();
        return Err(match wire {
            Some(Wire { error_code: Some(code), message }) => ApiError { code, message: message.unwrap_or_default() },
            _ => ApiError { code: format!("HTTP_{}", response.status()), message: text },
        });
    }
    let text = if text.trim().is_empty() { "{}".to_string() } else { text };
    serde_json::from_str(&text).map_err(|e| ApiError { code: "BAD_REPLY".into(), message: e.to_string() })
}

pub async fn get<T: DeserializeOwned>(path: &str) -> ApiResult<T> {
    call("GET", path, None).await
}

pub async fn post<T: DeserializeOwned>(path: &str, body: Value) -> ApiResult<T> {
    call("POST", path, Some(body)).await
}

pub async fn send(method: &str, path: &str, body: Value) -> ApiResult<()> {
    call::<Value>(method, path, Some(body)).await.map(|_| ())
}

/// The raw text of a file, for previews.
pub async fn text(path: &str) -> ApiResult<String> {
    let window = web_sys::window().ok_or_else(|| ApiError::network("no window"))?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(path))
        .await
        .map_err(|e| ApiError::network(js_message(e)))?
        .unchecked_into();
    if !response.ok() {
        return Err(ApiError { code: format!("HTTP_{}", response.status()), message: format!("Cannot read {path}") });
    }
    JsFuture::from(response.text().map_err(|e| ApiError::network(js_message(e)))?)
        .await
        .map(|v| v.as_string().unwrap_or_default())
        .map_err(|e| ApiError::network(js_message(e)))
}

// ----- wire types (MLflow's JSON) -----

/// Numbers, or MLflow's "NaN" / "Infinity" strings.
fn float<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => Ok(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => Ok(match s.as_str() {
            "Infinity" => f64::INFINITY,
            "-Infinity" => f64::NEG_INFINITY,
            other => other.parse().unwrap_or(f64::NAN),
        }),
        _ => Ok(f64::NAN),
    }
}

fn opt_float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => float(v).map(Some).map_err(serde::de::Error::custom),
    }
}

fn text_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct KeyValue {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    pub lifecycle_stage: String,
    #[serde(default)]
    pub creation_time: i64,
    #[serde(default)]
    pub last_update_time: i64,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MetricValue {
    pub key: String,
    #[serde(deserialize_with = "float")]
    pub value: f64,
    #[serde(default)]
    pub timestamp: i64,
    #[serde(default)]
    pub step: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunInfo {
    pub run_id: String,
    pub experiment_id: String,
    #[serde(default)]
    pub run_name: String,
    #[serde(default)]
    pub user_id: String,
    pub status: String,
    #[serde(default)]
    pub start_time: i64,
    pub end_time: Option<i64>,
    #[serde(default)]
    pub artifact_uri: String,
    pub lifecycle_stage: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct RunData {
    #[serde(default)]
    pub metrics: Vec<MetricValue>,
    #[serde(default)]
    pub params: Vec<KeyValue>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct Dataset {
    pub name: String,
    pub digest: String,
    #[serde(default)]
    pub source_type: String,
    #[serde(default)]
    pub source: String,
    pub schema: Option<String>,
    pub profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct DatasetInput {
    pub dataset: Dataset,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct RunInputs {
    #[serde(default)]
    pub dataset_inputs: Vec<DatasetInput>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ModelOutput {
    pub model_id: String,
    #[serde(default)]
    pub step: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct RunOutputs {
    #[serde(default)]
    pub model_outputs: Vec<ModelOutput>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Run {
    pub info: RunInfo,
    #[serde(default)]
    pub data: RunData,
    #[serde(default)]
    pub inputs: RunInputs,
    #[serde(default)]
    pub outputs: RunOutputs,
}

impl Run {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.data.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
    pub fn param(&self, key: &str) -> Option<&str> {
        self.data.params.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
    pub fn metric(&self, key: &str) -> Option<f64> {
        self.data.metrics.iter().find(|m| m.key == key).map(|m| m.value)
    }
    pub fn name(&self) -> &str {
        if self.info.run_name.is_empty() { &self.info.run_id } else { &self.info.run_name }
    }
    pub fn has_note(&self) -> bool {
        self.tag(NOTE_TAG).is_some_and(|n| !n.trim().is_empty())
    }
}

pub const NOTE_TAG: &str = "mlflow.note.content";
pub const PARENT_TAG: &str = "mlflow.parentRunId";

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Range {
    #[serde(deserialize_with = "opt_float")]
    pub min: Option<f64>,
    #[serde(deserialize_with = "opt_float")]
    pub max: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct TableWindow {
    pub total: i64,
    #[serde(default)]
    pub runs: Vec<Run>,
    #[serde(default)]
    pub child_counts: HashMap<String, i64>,
    #[serde(default)]
    pub ranges: HashMap<String, HashMap<String, Range>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
pub struct RunKeys {
    #[serde(default)]
    pub params: Vec<String>,
    #[serde(default)]
    pub metrics: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Aggregate {
    #[serde(deserialize_with = "opt_float")]
    pub mean: Option<f64>,
    #[serde(deserialize_with = "opt_float")]
    pub min: Option<f64>,
    #[serde(deserialize_with = "opt_float")]
    pub max: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RunGroup {
    pub value: Option<String>,
    pub count: i64,
    #[serde(default)]
    pub metrics: HashMap<String, Aggregate>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ArtifactFile {
    pub path: String,
    #[serde(default)]
    pub is_dir: bool,
    #[serde(default, deserialize_with = "opt_size")]
    pub file_size: Option<i64>,
}

fn opt_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    })
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ModelVersion {
    pub name: String,
    #[serde(deserialize_with = "text_number")]
    pub version: String,
    #[serde(default)]
    pub creation_timestamp: i64,
    #[serde(default)]
    pub last_updated_timestamp: i64,
    #[serde(default)]
    pub current_stage: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub run_id: String,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    #[serde(default)]
    pub aliases: Vec<String>,
}

impl ModelVersion {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AliasEntry {
    pub alias: String,
    #[serde(deserialize_with = "text_number")]
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RegisteredModel {
    pub name: String,
    #[serde(default)]
    pub creation_timestamp: i64,
    #[serde(default)]
    pub last_updated_timestamp: i64,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub latest_versions: Vec<ModelVersion>,
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    #[serde(default)]
    pub aliases: Vec<AliasEntry>,
}

// ----- calls -----

const MLFLOW: &str = "/ajax-api/2.0/mlflow";
const ALMANAC: &str = "/ajax-api/2.0/almanac";

fn q(s: &str) -> String {
    crate::route::encode(s)
}

pub async fn experiments(show_deleted: bool) -> ApiResult<Vec<Experiment>> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        experiments: Vec<Experiment>,
        next_page_token: Option<String>,
    }
    let view = if show_deleted { "ALL" } else { "ACTIVE_ONLY" };
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"max_results": 50000, "view_type": view, "order_by": ["name ASC"]});
        if let Some(t) = &token {
            body["page_token"] = json!(t);
        }
        let page: Page = post(&format!("{MLFLOW}/experiments/search"), body).await?;
        all.extend(page.experiments);
        match page.next_page_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => return Ok(all),
        }
    }
}

pub async fn run_counts() -> ApiResult<HashMap<String, i64>> {
    #[derive(Deserialize)]
    struct Counts {
        counts: HashMap<String, i64>,
    }
    Ok(get::<Counts>(&format!("{ALMANAC}/experiments/run-counts")).await?.counts)
}

pub async fn create_experiment(name: &str) -> ApiResult<String> {
    #[derive(Deserialize)]
    struct Created {
        experiment_id: String,
    }
    Ok(post::<Created>(&format!("{MLFLOW}/experiments/create"), json!({"name": name})).await?.experiment_id)
}

pub async fn rename_experiment(id: &str, name: &str) -> ApiResult<()> {
    send("POST", &format!("{MLFLOW}/experiments/update"), json!({"experiment_id": id, "new_name": name})).await
}

pub async fn set_experiment_lifecycle(id: &str, delete: bool) -> ApiResult<()> {
    let action = if delete { "delete" } else { "restore" };
    send("POST", &format!("{MLFLOW}/experiments/{action}"), json!({"experiment_id": id})).await
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableQuery {
    pub experiment_ids: Vec<String>,
    pub filter: String,
    pub order_by: String,
    pub offset: i64,
    pub limit: i64,
    pub with_ranges: bool,
}

pub async fn run_table(q: &TableQuery) -> ApiResult<TableWindow> {
    let order: Vec<&str> = if q.order_by.trim().is_empty() { vec![] } else { vec![q.order_by.as_str()] };
    post(
        &format!("{ALMANAC}/runs/table"),
        json!({
            "experiment_ids": q.experiment_ids, "filter": q.filter, "order_by": order,
            "offset": q.offset, "limit": q.limit, "with_ranges": q.with_ranges,
        }),
    )
    .await
}

pub async fn run_keys(experiment_ids: &[String]) -> ApiResult<RunKeys> {
    post(&format!("{ALMANAC}/runs/keys"), json!({"experiment_ids": experiment_ids})).await
}

pub async fn run_groups(
    experiment_ids: &[String],
    filter: &str,
    group_by: &str,
    metric_keys: &[String],
) -> ApiResult<Vec<RunGroup>> {
    #[derive(Deserialize)]
    struct Groups {
        #[serde(default)]
        groups: Vec<RunGroup>,
    }
    let body =
        json!({"experiment_ids": experiment_ids, "filter": filter, "group_by": group_by, "metric_keys": metric_keys});
    Ok(post::<Groups>(&format!("{ALMANAC}/runs/groups"), body).await?.groups)
}

pub async fn tag_runs(run_ids: &[String], set: &[(String, String)], remove: &[String]) -> ApiResult<()> {
    let tags: Vec<Value> = set.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
    send("POST", &format!("{ALMANAC}/runs/tags"), json!({"run_ids": run_ids, "tags": tags, "remove_keys": remove}))
        .await
}

pub async fn run(run_id: &str) -> ApiResult<Run> {
    #[derive(Deserialize)]
    struct Got {
        run: Run,
    }
    Ok(get::<Got>(&format!("{MLFLOW}/runs/get?run_id={}", q(run_id))).await?.run)
}

pub async fn set_tag(run_id: &str, key: &str, value: &str) -> ApiResult<()> {
    send("POST", &format!("{MLFLOW}/runs/set-tag"), json!({"run_id": run_id, "key": key, "value": value})).await
}

pub async fn delete_tag(run_id: &str, key: &str) -> ApiResult<()> {
    send("POST", &format!("{MLFLOW}/runs/delete-tag"), json!({"run_id": run_id, "key": key})).await
}

pub async fn delete_run(run_id: &str) -> ApiResult<()> {
    send("POST", &format!("{MLFLOW}/runs/delete"), json!({"run_id": run_id})).await
}

/// A metric's history thinned to about `max_points`, min/max preserving.
pub async fn history(run_id: &str, key: &str, max_points: i64) -> ApiResult<Vec<MetricValue>> {
    #[derive(Deserialize)]
    struct Points {
        #[serde(default)]
        metrics: Vec<MetricValue>,
    }
    let path = format!(
        "{MLFLOW}/metrics/get-history-bulk-interval?run_ids={}&metric_key={}&max_results={max_points}",
        q(run_id),
        q(key)
    );
    Ok(get::<Points>(&path).await?.metrics)
}

/// Several runs' histories of one metric, min/max thinned to at most
/// `max_points` per run, optionally within a step range (for zooming in).
pub async fn history_bulk(
    run_ids: &[String],
    key: &str,
    steps: Option<(i64, i64)>,
    max_points: i64,
) -> ApiResult<Vec<(String, almanac_charts::Point)>> {
    #[derive(Deserialize)]
    struct P {
        run_id: String,
        #[serde(deserialize_with = "float")]
        value: f64,
        #[serde(default)]
        timestamp: i64,
        #[serde(default)]
        step: i64,
    }
    #[derive(Deserialize)]
    struct Points {
        #[serde(default)]
        metrics: Vec<P>,
    }
    let mut path = format!("{MLFLOW}/metrics/get-history-bulk-interval?metric_key={}&max_results={max_points}", q(key));
    for id in run_ids {
        path.push_str(&format!("&run_ids={}", q(id)));
    }
    if let Some((start, end)) = steps {
        path.push_str(&format!("&start_step={start}&end_step={end}"));
    }
    Ok(get::<Points>(&path)
        .await?
        .metrics
        .into_iter()
        .map(|p| (p.run_id, almanac_charts::Point { step: p.step, timestamp: p.timestamp, value: p.value }))
        .collect())
}

pub async fn artifacts(run_id: &str, path: &str) -> ApiResult<Vec<ArtifactFile>> {
    #[derive(Deserialize)]
    struct Listing {
        #[serde(default)]
        files: Vec<ArtifactFile>,
    }
    let mut url = format!("{MLFLOW}/artifacts/list?run_id={}", q(run_id));
    if !path.is_empty() {
        url.push_str(&format!("&path={}", q(path)));
    }
    Ok(get::<Listing>(&url).await?.files)
}

/// Where the browser can fetch a run's artifact (its proxied download URL).
pub fn artifact_url(run: &RunInfo, path: &str) -> String {
    let base = run.artifact_uri.strip_prefix("mlflow-artifacts:").unwrap_or(&run.artifact_uri).trim_start_matches('/');
    let encoded: Vec<String> = format!("{base}/{path}").split('/').map(q).collect();
    format!("/api/2.0/mlflow-artifacts/artifacts/{}", encoded.join("/"))
}

pub async fn registered_models(filter: &str) -> ApiResult<Vec<RegisteredModel>> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        registered_models: Vec<RegisteredModel>,
    }
    let url = format!("{MLFLOW}/registered-models/search?max_results=1000&filter={}", q(filter));
    Ok(get::<Page>(&url).await?.registered_models)
}

pub async fn registered_model(name: &str) -> ApiResult<RegisteredModel> {
    #[derive(Deserialize)]
    struct Got {
        registered_model: RegisteredModel,
    }
    Ok(get::<Got>(&format!("{MLFLOW}/registered-models/get?name={}", q(name))).await?.registered_model)
}

/// A model's versions, newest first. Prompts' versions are hidden from plain
/// searches, as in MLflow, so `prompt` asks for them by their tag.
pub async fn model_versions(name: &str, prompt: bool) -> ApiResult<Vec<ModelVersion>> {
    #[derive(Deserialize)]
    struct Page {
        #[serde(default)]
        model_versions: Vec<ModelVersion>,
    }
    let mut filter = format!("name = '{}'", name.replace('\'', "\\'"));
    if prompt {
        filter.push_str(" AND tags.`mlflow.prompt.is_prompt` = 'true'");
    }
    let url = format!("{MLFLOW}/model-versions/search?max_results=10000&filter={}", q(&filter));
    let mut versions = get::<Page>(&url).await?.model_versions;
    versions.sort_by_key(|v| std::cmp::Reverse(v.version.parse::<i64>().unwrap_or(0)));
    Ok(versions)
}

pub async fn model_version(name: &str, version: &str) -> ApiResult<ModelVersion> {
    #[derive(Deserialize)]
    struct Got {
        model_version: ModelVersion,
    }
    let url = format!("{MLFLOW}/model-versions/get?name={}&version={}", q(name), q(version));
    Ok(get::<Got>(&url).await?.model_version)
}

pub async fn update_model_description(name: &str, description: &str) -> ApiResult<()> {
    send("PATCH", &format!("{MLFLOW}/registered-models/update"), json!({"name": name, "description": description}))
        .await
}

pub async fn update_version_description(name: &str, version: &str, description: &str) -> ApiResult<()> {
    let body = json!({"name": name, "version": version, "description": description});
    send("PATCH", &format!("{MLFLOW}/model-versions/update"), body).await
}

pub async fn set_alias(name: &str, alias: &str, version: &str) -> ApiResult<()> {
    let body = json!({"name": name, "alias": alias, "version": version});
    send("POST", &format!("{MLFLOW}/registered-models/alias"), body).await
}

pub async fn delete_alias(name: &str, alias: &str) -> ApiResult<()> {
    send("DELETE", &format!("{MLFLOW}/registered-models/alias"), json!({"name": name, "alias": alias})).await
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Annotation {
    pub annotation_id: String,
    pub run_id: String,
    pub metric_key: String,
    pub step: i64,
    pub text: String,
    pub author: String,
    pub created_ms: i64,
}

pub async fn annotations(run_ids: &[String]) -> ApiResult<Vec<Annotation>> {
    #[derive(Deserialize)]
    struct List {
        #[serde(default)]
        annotations: Vec<Annotation>,
    }
    Ok(post::<List>(&format!("{ALMANAC}/annotations/list"), json!({"run_ids": run_ids})).await?.annotations)
}

pub async fn annotate(run_id: &str, metric_key: &str, step: i64, text: &str, author: &str) -> ApiResult<()> {
    let body = json!({"run_id": run_id, "metric_key": metric_key, "step": step, "text": text, "author": author});
    send("POST", &format!("{ALMANAC}/annotations/create"), body).await
}

pub async fn delete_annotation(run_id: &str, annotation_id: &str) -> ApiResult<()> {
    send("POST", &format!("{ALMANAC}/annotations/delete"), json!({"run_id": run_id, "annotation_id": annotation_id}))
        .await
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SavedView {
    pub view_id: String,
    pub experiment_id: String,
    pub name: String,
    pub spec: String,
    #[serde(default)]
    pub updated_ms: i64,
}

#[derive(Deserialize)]
struct OneView {
    view: SavedView,
}

pub async fn save_view(experiment_id: &str, name: &str, spec: &Value) -> ApiResult<SavedView> {
    let body = json!({"experiment_id": experiment_id, "name": name, "spec": spec.to_string()});
    Ok(post::<OneView>(&format!("{ALMANAC}/views/save"), body).await?.view)
}

pub async fn saved_views(experiment_id: &str) -> ApiResult<Vec<SavedView>> {
    #[derive(Deserialize)]
    struct Views {
        #[serde(default)]
        views: Vec<SavedView>,
    }
    Ok(get::<Views>(&format!("{ALMANAC}/views/list?experiment_id={}", q(experiment_id))).await?.views)
}

pub async fn saved_view(view_id: &str) -> ApiResult<SavedView> {
    Ok(get::<OneView>(&format!("{ALMANAC}/views/get?view_id={}", q(view_id))).await?.view)
}

/// A trace as the trace list shows it (MLflow's TraceInfoV3).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TraceSummary {
    pub trace_id: String,
    pub request_time: String,
    #[serde(default)]
    pub execution_duration: Option<String>,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub request_preview: Option<String>,
    #[serde(default)]
    pub response_preview: Option<String>,
    #[serde(default)]
    pub tags: HashMap<String, String>,
}

impl TraceSummary {
    pub fn name(&self) -> &str {
        self.tags.get("mlflow.traceName").map(String::as_str).unwrap_or("")
    }

    /// Where the spans file is served: the `mlflow.artifactLocation` tag's
    /// folder under the artifact proxy.
    pub fn spans_url(&self) -> Option<String> {
        let location = self.tags.get("mlflow.artifactLocation")?;
        let path = almanac_core::validation::proxied_path(location)?;
        Some(format!("/api/2.0/mlflow-artifacts/artifacts/{path}/traces.json"))
    }
}

/// An experiment's traces, newest first.
pub async fn traces(experiment_id: &str) -> ApiResult<Vec<TraceSummary>> {
    #[derive(Deserialize)]
    struct Reply {
        #[serde(default)]
        traces: Vec<TraceSummary>,
    }
    let body = json!({
        "locations": [{"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}],
        "max_results": 500,
    });
    Ok(post::<Reply>("/api/3.0/mlflow/traces/search", body).await?.traces)
}
