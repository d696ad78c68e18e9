//! The server, as the UI sees it: MLflow's REST API plus Almanac's review
//! routes, over `fetch`. Errors arrive as `{code, message}`.

use std::collections::HashMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
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
async fn call<T: DeserializeOwned>(method: &str, path: &str, body: Option<String>) -> ApiResult<T> {
    let window = web_sys::window().ok_or_else(|| ApiError::network("no window"))?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&wasm_bindgen::JsValue::from_str(&body));
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
        let wire: Option<almanac_wire::ErrorBody> = serde_json::from_str(&text).ok();
        return Err(match wire {
            Some(body) if !body.error_code.is_empty() => ApiError { code: body.error_code, message: body.message },
            _ => ApiError { code: format!("HTTP_{}", response.status()), message: text },
        });
    }
    let text = if text.trim().is_empty() { "{}".to_string() } else { text };
    serde_json::from_str(&text).map_err(|e| ApiError { code: "BAD_REPLY".into(), message: e.to_string() })
}

pub async fn get<T: DeserializeOwned>(path: &str) -> ApiResult<T> {
    call("GET", path, None).await
}

/// A request body as JSON text. The shapes are `almanac-wire`'s, which
/// always encode.
fn body(value: &impl Serialize) -> ApiResult<String> {
    serde_json::to_string(value).map_err(|e| ApiError { code: "BAD_REQUEST".into(), message: e.to_string() })
}

pub async fn post<T: DeserializeOwned>(path: &str, request: &impl Serialize) -> ApiResult<T> {
    call("POST", path, Some(body(request)?)).await
}

pub async fn send(method: &str, path: &str, request: &impl Serialize) -> ApiResult<()> {
    call::<Value>(method, path, Some(body(request)?)).await.map(|_| ())
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

// ----- wire types: MLflow's JSON, defined once in almanac-wire -----

pub use almanac_wire::almanac::{Aggregate, Annotation, Range, RunGroup, RunKeys, SavedView, TableWindow};
pub use almanac_wire::traces::TraceInfoV3;
pub use almanac_wire::{
    AliasEntry, Dataset, DatasetInput, Experiment, FileInfo, KeyValue, Metric, ModelOutput, ModelVersion,
    RegisteredModel, Run, RunData, RunInfo, RunInputs, RunOutputs,
};
use almanac_wire::{almanac as ui, requests as rq, traces};

pub const NOTE_TAG: &str = almanac_core::model::tags::NOTE;
pub const PARENT_TAG: &str = almanac_core::model::tags::PARENT_RUN_ID;

// ----- calls -----

const MLFLOW: &str = "/ajax-api/2.0/mlflow";
const ALMANAC: &str = "/ajax-api/2.0/almanac";

fn q(s: &str) -> String {
    crate::route::encode(s)
}

pub async fn experiments(show_deleted: bool) -> ApiResult<Vec<Experiment>> {
    let view = if show_deleted { "ALL" } else { "ACTIVE_ONLY" };
    let mut all = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let request = rq::SearchExperiments {
            max_results: 50000,
            view_type: Some(view.into()),
            order_by: vec!["name ASC".into()],
            page_token: token.clone(),
        };
        let page: almanac_wire::ExperimentsPage = post(&format!("{MLFLOW}/experiments/search"), &request).await?;
        all.extend(page.experiments);
        match almanac_wire::next_token(&page.next_page_token) {
            Some(t) => token = Some(t.to_string()),
            None => return Ok(all),
        }
    }
}

pub async fn run_counts() -> ApiResult<HashMap<String, i64>> {
    Ok(get::<ui::RunCounts>(&format!("{ALMANAC}/experiments/run-counts")).await?.counts)
}

pub async fn create_experiment(name: &str) -> ApiResult<String> {
    Ok(post::<almanac_wire::ExperimentCreated>(
        &format!("{MLFLOW}/experiments/create"),
        &rq::CreateExperiment { name: name.into(), tags: vec![] },
    )
    .await?
    .experiment_id)
}

pub async fn rename_experiment(id: &str, name: &str) -> ApiResult<()> {
    let request = rq::UpdateExperiment { experiment_id: id.into(), new_name: name.into() };
    send("POST", &format!("{MLFLOW}/experiments/update"), &request).await
}

pub async fn set_experiment_lifecycle(id: &str, delete: bool) -> ApiResult<()> {
    let action = if delete { "delete" } else { "restore" };
    send("POST", &format!("{MLFLOW}/experiments/{action}"), &rq::ExperimentId { experiment_id: id.into() }).await
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
    let order_by = if q.order_by.trim().is_empty() { vec![] } else { vec![q.order_by.clone()] };
    let request = ui::TableRequest {
        experiment_ids: q.experiment_ids.clone(),
        filter: q.filter.clone(),
        order_by,
        offset: q.offset,
        limit: q.limit,
        with_ranges: q.with_ranges,
    };
    post(&format!("{ALMANAC}/runs/table"), &request).await
}

pub async fn run_keys(experiment_ids: &[String]) -> ApiResult<RunKeys> {
    post(&format!("{ALMANAC}/runs/keys"), &ui::KeysRequest { experiment_ids: experiment_ids.to_vec() }).await
}

pub async fn run_groups(
    experiment_ids: &[String],
    filter: &str,
    group_by: &str,
    metric_keys: &[String],
) -> ApiResult<Vec<RunGroup>> {
    let request = ui::GroupsRequest {
        experiment_ids: experiment_ids.to_vec(),
        filter: filter.into(),
        group_by: group_by.into(),
        metric_keys: metric_keys.to_vec(),
    };
    Ok(post::<ui::RunGroups>(&format!("{ALMANAC}/runs/groups"), &request).await?.groups)
}

pub async fn tag_runs(run_ids: &[String], set: &[(String, String)], remove: &[String]) -> ApiResult<()> {
    let tags = set.iter().map(|(key, value)| KeyValue { key: key.clone(), value: value.clone() }).collect();
    let request = ui::TagRunsRequest { run_ids: run_ids.to_vec(), tags, remove_keys: remove.to_vec() };
    send("POST", &format!("{ALMANAC}/runs/tags"), &request).await
}

pub async fn run(run_id: &str) -> ApiResult<Run> {
    Ok(get::<almanac_wire::RunReply>(&format!("{MLFLOW}/runs/get?run_id={}", q(run_id))).await?.run)
}

pub async fn set_tag(run_id: &str, key: &str, value: &str) -> ApiResult<()> {
    let request = rq::SetTag { run_id: run_id.into(), key: key.into(), value: value.into() };
    send("POST", &format!("{MLFLOW}/runs/set-tag"), &request).await
}

pub async fn delete_tag(run_id: &str, key: &str) -> ApiResult<()> {
    send("POST", &format!("{MLFLOW}/runs/delete-tag"), &rq::DeleteTag { run_id: run_id.into(), key: key.into() }).await
}

pub async fn delete_run(run_id: &str) -> ApiResult<()> {
    send("POST", &format!("{MLFLOW}/runs/delete"), &rq::RunId { run_id: run_id.into() }).await
}

/// A metric's history thinned to about `max_points`, min/max preserving.
pub async fn history(run_id: &str, key: &str, max_points: i64) -> ApiResult<Vec<Metric>> {
    let path = format!(
        "{MLFLOW}/metrics/get-history-bulk-interval?run_ids={}&metric_key={}&max_results={max_points}",
        q(run_id),
        q(key)
    );
    Ok(get::<almanac_wire::Metrics>(&path).await?.metrics)
}

/// Several runs' histories of one metric, min/max thinned to at most
/// `max_points` per run, optionally within a step range (for zooming in).
pub async fn history_bulk(
    run_ids: &[String],
    key: &str,
    steps: Option<(i64, i64)>,
    max_points: i64,
) -> ApiResult<Vec<(String, almanac_charts::Point)>> {
    let mut path = format!("{MLFLOW}/metrics/get-history-bulk-interval?metric_key={}&max_results={max_points}", q(key));
    for id in run_ids {
        path.push_str(&format!("&run_ids={}", q(id)));
    }
    if let Some((start, end)) = steps {
        path.push_str(&format!("&start_step={start}&end_step={end}"));
    }
    Ok(get::<almanac_wire::Metrics>(&path)
        .await?
        .metrics
        .into_iter()
        .map(|p| {
            let point = almanac_charts::Point { step: p.step, timestamp: p.timestamp, value: p.value };
            (p.run_id.unwrap_or_default(), point)
        })
        .collect())
}

pub async fn artifacts(run_id: &str, path: &str) -> ApiResult<Vec<FileInfo>> {
    let mut url = format!("{MLFLOW}/artifacts/list?run_id={}", q(run_id));
    if !path.is_empty() {
        url.push_str(&format!("&path={}", q(path)));
    }
    Ok(get::<almanac_wire::ArtifactListing>(&url).await?.files)
}

/// Where the browser can fetch a run's artifact (its proxied download URL).
pub fn artifact_url(run: &RunInfo, path: &str) -> String {
    let base = run.artifact_uri.strip_prefix("mlflow-artifacts:").unwrap_or(&run.artifact_uri).trim_start_matches('/');
    let encoded: Vec<String> = format!("{base}/{path}").split('/').map(q).collect();
    format!("/api/2.0/mlflow-artifacts/artifacts/{}", encoded.join("/"))
}

pub async fn registered_models(filter: &str) -> ApiResult<Vec<RegisteredModel>> {
    let url = format!("{MLFLOW}/registered-models/search?max_results=1000&filter={}", q(filter));
    Ok(get::<almanac_wire::RegisteredModelsPage>(&url).await?.registered_models)
}

pub async fn registered_model(name: &str) -> ApiResult<RegisteredModel> {
    Ok(get::<almanac_wire::RegisteredModelReply>(&format!("{MLFLOW}/registered-models/get?name={}", q(name)))
        .await?
        .registered_model)
}

/// A model's versions, newest first. Prompts' versions are hidden from plain
/// searches, as in MLflow, so `prompt` asks for them by their tag.
pub async fn model_versions(name: &str, prompt: bool) -> ApiResult<Vec<ModelVersion>> {
    let mut filter = format!("name = '{}'", name.replace('\'', "\\'"));
    if prompt {
        filter.push_str(" AND tags.`mlflow.prompt.is_prompt` = 'true'");
    }
    let url = format!("{MLFLOW}/model-versions/search?max_results=10000&filter={}", q(&filter));
    let mut versions = get::<almanac_wire::ModelVersionsPage>(&url).await?.model_versions;
    versions.sort_by_key(|v| std::cmp::Reverse(v.version.parse::<i64>().unwrap_or(0)));
    Ok(versions)
}

pub async fn model_version(name: &str, version: &str) -> ApiResult<ModelVersion> {
    let url = format!("{MLFLOW}/model-versions/get?name={}&version={}", q(name), q(version));
    Ok(get::<almanac_wire::ModelVersionReply>(&url).await?.model_version)
}

pub async fn update_model_description(name: &str, description: &str) -> ApiResult<()> {
    let request = rq::UpdateRegisteredModel { name: name.into(), description: description.into() };
    send("PATCH", &format!("{MLFLOW}/registered-models/update"), &request).await
}

pub async fn update_version_description(name: &str, version: &str, description: &str) -> ApiResult<()> {
    let request =
        rq::UpdateModelVersion { name: name.into(), version: version.into(), description: description.into() };
    send("PATCH", &format!("{MLFLOW}/model-versions/update"), &request).await
}

pub async fn set_alias(name: &str, alias: &str, version: &str) -> ApiResult<()> {
    let request = rq::SetAlias { name: name.into(), alias: alias.into(), version: version.into() };
    send("POST", &format!("{MLFLOW}/registered-models/alias"), &request).await
}

pub async fn delete_alias(name: &str, alias: &str) -> ApiResult<()> {
    let request = rq::DeleteAlias { name: name.into(), alias: alias.into() };
    send("DELETE", &format!("{MLFLOW}/registered-models/alias"), &request).await
}

pub async fn annotations(run_ids: &[String]) -> ApiResult<Vec<Annotation>> {
    Ok(post::<ui::Annotations>(
        &format!("{ALMANAC}/annotations/list"),
        &ui::AnnotationsRequest { run_ids: run_ids.to_vec() },
    )
    .await?
    .annotations)
}

pub async fn annotate(run_id: &str, metric_key: &str, step: i64, text: &str, author: &str) -> ApiResult<()> {
    let request = ui::AnnotateRequest {
        run_id: run_id.into(),
        metric_key: metric_key.into(),
        step,
        text: text.into(),
        author: author.into(),
    };
    send("POST", &format!("{ALMANAC}/annotations/create"), &request).await
}

pub async fn delete_annotation(run_id: &str, annotation_id: &str) -> ApiResult<()> {
    let request = ui::DeleteAnnotationRequest { run_id: run_id.into(), annotation_id: annotation_id.into() };
    send("POST", &format!("{ALMANAC}/annotations/delete"), &request).await
}

pub async fn save_view(experiment_id: &str, name: &str, spec: &Value) -> ApiResult<SavedView> {
    let request =
        ui::SaveViewRequest { experiment_id: experiment_id.into(), name: name.into(), spec: spec.to_string() };
    Ok(post::<ui::ViewReply>(&format!("{ALMANAC}/views/save"), &request).await?.view)
}

pub async fn saved_views(experiment_id: &str) -> ApiResult<Vec<SavedView>> {
    Ok(get::<ui::Views>(&format!("{ALMANAC}/views/list?experiment_id={}", q(experiment_id))).await?.views)
}

pub async fn saved_view(view_id: &str) -> ApiResult<SavedView> {
    Ok(get::<ui::ViewReply>(&format!("{ALMANAC}/views/get?view_id={}", q(view_id))).await?.view)
}

/// Where a trace's spans file is served: the `mlflow.artifactLocation`
/// tag's folder under the artifact proxy.
pub fn spans_url(trace: &TraceInfoV3) -> Option<String> {
    let location = trace.tags.get("mlflow.artifactLocation")?;
    let path = almanac_core::validation::proxied_path(location)?;
    Some(format!("/api/2.0/mlflow-artifacts/artifacts/{path}/traces.json"))
}

/// An experiment's traces, newest first.
pub async fn traces(experiment_id: &str) -> ApiResult<Vec<TraceInfoV3>> {
    let request = rq::SearchTraces {
        locations: vec![traces::TraceLocation::experiment(experiment_id)],
        max_results: 500,
        page_token: None,
    };
    Ok(post::<traces::TracesPage>("/api/3.0/mlflow/traces/search", &request).await?.traces)
}
