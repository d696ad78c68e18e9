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

use crate::rest::Http;
use crate::{Result, SourceError};
use almanac_wire as wire;
use almanac_wire::requests as rq;

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

fn tag_json(tags: &[Tag]) -> Vec<wire::KeyValue> {
    wire::tracking::key_values(tags)
}

/// The wire's key-value list as a map (tags and params by key).
fn map_of(items: &[wire::KeyValue]) -> HashMap<String, String> {
    items.iter().map(|t| (t.key.clone(), t.value.clone())).collect()
}

impl MlflowServer {
    /// The experiment's traces on the server: id → where their spans go
    /// (`mlflow.artifactLocation`), so export can tell which still lack them.
    pub fn trace_locations(&self, experiment_id: &str) -> Result<HashMap<String, Option<String>>> {
        Ok(self
            .api
            .trace_infos(experiment_id)?
            .into_iter()
            .map(|t| {
                let location = t.tags.get(trace::ARTIFACT_LOCATION_TAG).cloned();
                (t.trace_id, location)
            })
            .collect())
    }

    /// Records a trace in `experiment_id`, keeping its id. Returns where the
    /// server wants its spans (`mlflow.artifactLocation`).
    pub fn start_trace(&self, info: &TraceInfo, experiment_id: &str) -> Result<Option<String>> {
        let entity = format!("trace {}", info.trace_id);
        let url = format!("{}/api/3.0/mlflow/traces", self.api.base);
        let trace_info = wire::traces::TraceInfoV3::new(info, experiment_id);
        let body = wire::traces::TraceReply { trace: wire::traces::Trace { trace_info, spans: vec![] } };
        let answer = self.api.answer(self.api.client.post(&url).json(&body).send(), &entity, "/traces")?;
        let stored: wire::traces::TraceReply = self.api.typed(answer, &entity, "/traces")?;
        Ok(stored.trace.trace_info.tags.get(trace::ARTIFACT_LOCATION_TAG).cloned())
    }

    pub fn connect(url: &str) -> Result<MlflowServer> {
        let api = Http::new(url)?;
        api.post("/experiments/search", &rq::SearchExperiments { max_results: 1, ..Default::default() }, "destination")
            .map_err(|e| {
                SourceError::new(
                    "destination",
                    &api.base,
                    format!("not an MLflow server, or unreachable: {}", e.reason),
                )
            })?;
        Ok(MlflowServer { api })
    }

    pub fn describe(&self) -> String {
        format!("MLflow server {}", self.api.base)
    }

    /// The server's experiment of this name, deleted ones included.
    pub fn experiment_by_name(&self, name: &str) -> Result<Option<RemoteExperiment>> {
        let query = [("experiment_name", name)];
        match self.api.get_as::<wire::ExperimentReply>(
            "/experiments/get-by-name",
            &query,
            &format!("experiment {name}"),
        ) {
            Ok(v) => Ok(Some(RemoteExperiment {
                tags: map_of(&v.experiment.tags),
                deleted: v.experiment.lifecycle_stage == "deleted",
                id: v.experiment.experiment_id,
            })),
            Err(e) if e.reason.contains("RESOURCE_DOES_NOT_EXIST") => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn create_experiment(&self, name: &str, tags: &[Tag]) -> Result<String> {
        let body = rq::CreateExperiment { name: name.into(), tags: tag_json(tags) };
        let v: wire::ExperimentCreated =
            self.api.post_as("/experiments/create", &body, &format!("experiment {name}"))?;
        Ok(v.experiment_id)
    }

    pub fn set_experiment_tag(&self, experiment_id: &str, tag: &Tag) -> Result<()> {
        let body = rq::SetExperimentTag {
            experiment_id: experiment_id.into(),
            key: tag.key.clone(),
            value: tag.value.clone(),
        };
        self.api.post("/experiments/set-experiment-tag", &body, &format!("experiment {experiment_id}")).map(drop)
    }

    /// The experiment's runs that came from Almanac, by Almanac run id.
    pub fn exported_runs(&self, experiment_id: &str) -> Result<HashMap<String, RemoteRun>> {
        let mut out = HashMap::new();
        let mut body = rq::SearchRuns {
            experiment_ids: vec![experiment_id.into()],
            run_view_type: Some("ALL".into()),
            max_results: 1000,
            page_token: None,
        };
        loop {
            let page: wire::RunsPage =
                self.api.post_as("/runs/search", &body, &format!("experiment {experiment_id}"))?;
            for run in page.runs {
                let tags = map_of(&run.data.tags);
                let Some(origin) = tags.get(RUN_ORIGIN_TAG).cloned() else { continue };
                let datasets = run
                    .inputs
                    .dataset_inputs
                    .iter()
                    .map(|i| (i.dataset.name.clone(), i.dataset.digest.clone()))
                    .collect();
                let info = run.info;
                out.insert(
                    origin,
                    RemoteRun {
                        run_id: info.id().to_string(),
                        artifact_uri: info.artifact_uri,
                        status: info.status,
                        end_time: info.end_time,
                        lifecycle: info.lifecycle_stage,
                        params: map_of(&run.data.params),
                        tags,
                        datasets,
                    },
                );
            }
            match wire::next_token(&page.next_page_token) {
                Some(token) => body.page_token = Some(token.to_string()),
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
        let body = rq::CreateRun {
            experiment_id: experiment_id.into(),
            run_name: name.into(),
            start_time,
            tags: tag_json(tags),
        };
        let v: wire::RunReply = self.api.post_as("/runs/create", &body, &format!("run {name}"))?;
        Ok((v.run.info.id().to_string(), v.run.info.artifact_uri))
    }

    /// Logs in as many batches as MLflow's limits need.
    pub fn log_batch(&self, run_id: &str, metrics: &[Metric], params: &[Param], tags: &[Tag]) -> Result<()> {
        let entity = format!("run {run_id}");
        for chunk in params.chunks(100) {
            let params = wire::tracking::key_values(chunk);
            self.api.post(
                "/runs/log-batch",
                &rq::LogBatch { run_id: run_id.into(), params, ..Default::default() },
                &entity,
            )?;
        }
        for chunk in tags.chunks(100) {
            let batch = rq::LogBatch { run_id: run_id.into(), tags: tag_json(chunk), ..Default::default() };
            self.api.post("/runs/log-batch", &batch, &entity)?;
        }
        for chunk in metrics.chunks(1000) {
            let metrics: Vec<wire::Metric> =
                chunk.iter().map(|m| wire::Metric { model_id: m.model_id.clone(), ..wire::Metric::from(m) }).collect();
            self.api.post(
                "/runs/log-batch",
                &rq::LogBatch { run_id: run_id.into(), metrics, ..Default::default() },
                &entity,
            )?;
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
            let page: wire::Metrics = self.api.get_as("/metrics/get-history", &query, &format!("run {run_id}"))?;
            out.extend(page.metrics.iter().map(wire::Metric::to_point));
            match wire::next_token(&page.next_page_token) {
                Some(t) => token = t.to_string(),
                None => return Ok(out),
            }
        }
    }

    pub fn update_run(&self, run_id: &str, status: RunStatus, end_time: Option<i64>) -> Result<()> {
        let body = rq::UpdateRun { run_id: run_id.into(), status: status.as_str().into(), end_time };
        self.api.post("/runs/update", &body, &format!("run {run_id}")).map(drop)
    }

    /// Deletes or restores an experiment; its runs follow it, as MLflow's
    /// stores take them.
    pub fn set_experiment_deleted(&self, experiment_id: &str, deleted: bool) -> Result<()> {
        let path = if deleted { "/experiments/delete" } else { "/experiments/restore" };
        let body = rq::ExperimentId { experiment_id: experiment_id.into() };
        self.api.post(path, &body, &format!("experiment {experiment_id}")).map(drop)
    }

    pub fn set_deleted(&self, run_id: &str, deleted: bool) -> Result<()> {
        let path = if deleted { "/runs/delete" } else { "/runs/restore" };
        self.api.post(path, &rq::RunId { run_id: run_id.into() }, &format!("run {run_id}")).map(drop)
    }

    pub fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<()> {
        let datasets: Vec<wire::DatasetInput> = inputs.iter().map(wire::DatasetInput::from).collect();
        self.api
            .post("/runs/log-inputs", &rq::LogInputs { run_id: run_id.into(), datasets }, &format!("run {run_id}"))
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
            let answer =
                self.api.answer(self.api.client.get(&url).query(&[("path", &path)]).send(), root_uri, "/artifacts")?;
            let listing: wire::ArtifactListing = self.api.typed(answer, root_uri, "/artifacts")?;
            for f in listing.files {
                let rel = if dir.is_empty() { f.path } else { format!("{dir}/{}", f.path) };
                if f.is_dir {
                    dirs.push(rel);
                } else {
                    out.insert(rel, f.file_size.unwrap_or(0) as u64);
                }
            }
        }
        Ok(out)
    }

    /// Whether the file `name` lies directly under the artifact root `root_uri`.
    pub fn has_artifact(&self, root_uri: &str, name: &str) -> Result<bool> {
        let root = proxied(root_uri, &self.api.base)?;
        let url = format!("{}/api/2.0/mlflow-artifacts/artifacts", self.api.base);
        let answer = self.api.answer(self.api.client.get(&url).query(&[("path", &root)]).send(), name, "/artifacts")?;
        let listing: wire::ArtifactListing = self.api.typed(answer, name, "/artifacts")?;
        Ok(listing.files.iter().any(|f| f.path == name && !f.is_dir))
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
        let mut body =
            rq::SearchLoggedModels { experiment_ids: vec![experiment_id.into()], max_results: 100, page_token: None };
        loop {
            let entity = format!("experiment {experiment_id}");
            let page: wire::LoggedModelsPage = match self.api.post_as("/logged-models/search", &body, &entity) {
                Ok(p) => p,
                Err(e) if e.reason.contains("404") => return Ok(out),
                Err(e) => return Err(e),
            };
            for m in page.models {
                if let Some(origin) = map_of(&m.info.tags).remove(MODEL_ORIGIN_TAG) {
                    out.insert(origin, (m.info.model_id, m.info.artifact_uri));
                }
            }
            match wire::next_token(&page.next_page_token) {
                Some(token) => body.page_token = Some(token.to_string()),
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
        let params = wire::tracking::key_values(params);
        let body = rq::CreateLoggedModel {
            experiment_id: experiment_id.into(),
            name: name.into(),
            params,
            tags: tag_json(tags),
            source_run_id: source_run_id.map(Into::into),
            model_type: model_type.map(Into::into),
        };
        let v: wire::LoggedModelReply = self.api.post_as("/logged-models", &body, &format!("logged model {name}"))?;
        Ok((v.model.info.model_id, v.model.info.artifact_uri))
    }

    pub fn finalize_logged_model(&self, model_id: &str, ready: bool) -> Result<()> {
        let status = if ready { "LOGGED_MODEL_READY" } else { "LOGGED_MODEL_UPLOAD_FAILED" };
        self.api
            .patch(
                &format!("/logged-models/{model_id}"),
                &rq::FinalizeLoggedModel { model_id: model_id.into(), status: status.into() },
                model_id,
            )
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
        let model =
            match self.api.get_as::<wire::RegisteredModelReply>("/registered-models/get", &[("name", name)], &entity) {
                Ok(v) => v.registered_model,
                Err(e) if e.reason.contains("RESOURCE_DOES_NOT_EXIST") => return Ok(None),
                Err(e) => return Err(e),
            };
        let aliases = crate::rest::aliases(&model).into_iter().collect();
        let versions = self
            .api
            .model_versions(name, &entity)?
            .iter()
            .filter_map(|v| Some((v.tag(VERSION_ORIGIN_TAG)?.parse().ok()?, v.version.parse().ok()?)))
            .collect();
        Ok(Some((map_of(&model.tags), aliases, versions)))
    }

    pub fn create_registered_model(&self, name: &str, description: Option<&str>, tags: &[Tag]) -> Result<()> {
        let body = rq::CreateRegisteredModel {
            name: name.into(),
            description: description.unwrap_or_default().into(),
            tags: tag_json(tags),
        };
        self.api.post("/registered-models/create", &body, &format!("registered model {name}")).map(drop)
    }

    pub fn set_registered_model_tag(&self, name: &str, tag: &Tag) -> Result<()> {
        let body = rq::SetRegisteredModelTag { name: name.into(), key: tag.key.clone(), value: tag.value.clone() };
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
        let body = rq::CreateModelVersion {
            name: name.into(),
            source: source.into(),
            tags: tag_json(tags),
            description: description.unwrap_or_default().into(),
            run_id: run_id.map(Into::into),
            model_id: model_id.map(Into::into),
        };
        let v: wire::ModelVersionReply =
            self.api.post_as("/model-versions/create", &body, &format!("registered model {name}"))?;
        v.model_version.version.parse().map_err(|_| SourceError::new(name, &self.api.base, "no version in the answer"))
    }

    pub fn transition_stage(&self, name: &str, version: i64, stage: &str) -> Result<()> {
        let body = rq::TransitionStage {
            name: name.into(),
            version: version.to_string(),
            stage: stage.into(),
            archive_existing_versions: false,
        };
        self.api.post("/model-versions/transition-stage", &body, &format!("registered model {name}")).map(drop)
    }

    pub fn set_alias(&self, name: &str, alias: &str, version: i64) -> Result<()> {
        let body = rq::SetAlias { name: name.into(), alias: alias.into(), version: version.to_string() };
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
