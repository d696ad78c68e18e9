//! Operations: the journal's vocabulary.
//!
//! Every change to the store is one `Op`. The store records it in its journal
//! and folds it into the query tables in the same transaction; git sync will
//! exchange exactly these records. An op therefore carries everything needed
//! to replay it on another replica: ids, names, times, values. Nothing in an
//! op refers to local row ids.

use serde::{Deserialize, Serialize};

use crate::model::{DatasetInput, LifecycleStage, LoggedModelStatus, Metric, Param, RunStatus, Tag};
use crate::trace::TraceInfo;

/// Serialized externally tagged (`{"log_batch": {...}}`): the tag comes
/// first, so a batch of a thousand points is read in one streaming pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    CreateExperiment {
        experiment_id: String,
        name: String,
        artifact_location: String,
        creation_time: i64,
        #[serde(default)]
        tags: Vec<Tag>,
    },
    RenameExperiment {
        experiment_id: String,
        name: String,
    },
    SetExperimentLifecycle {
        experiment_id: String,
        stage: LifecycleStage,
    },
    SetExperimentTag {
        experiment_id: String,
        tag: Tag,
    },
    DeleteExperimentTag {
        experiment_id: String,
        key: String,
    },
    /// Another id that names this experiment from now on: its id in the
    /// MLflow store it was imported from, so old ids and links resolve.
    AliasExperiment {
        alias: String,
        experiment_id: String,
    },
    CreateRun {
        run_id: String,
        experiment_id: String,
        run_name: String,
        user_id: String,
        start_time: i64,
        status: RunStatus,
        artifact_uri: String,
        #[serde(default)]
        tags: Vec<Tag>,
    },
    UpdateRun {
        run_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<RunStatus>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end_time: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run_name: Option<String>,
    },
    SetRunLifecycle {
        run_id: String,
        stage: LifecycleStage,
    },
    LogBatch {
        run_id: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty", with = "metric_columns")]
        metrics: Vec<Metric>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        params: Vec<Param>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tags: Vec<Tag>,
    },
    DeleteRunTag {
        run_id: String,
        key: String,
    },
    LogInputs {
        run_id: String,
        datasets: Vec<DatasetInput>,
        /// Logged models the run used (MLflow 3 model inputs).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        models: Vec<String>,
    },
    CreateLoggedModel {
        model_id: String,
        experiment_id: String,
        name: String,
        artifact_location: String,
        creation_time: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model_type: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_run_id: Option<String>,
        #[serde(default)]
        tags: Vec<Tag>,
        #[serde(default)]
        params: Vec<Param>,
    },
    FinalizeLoggedModel {
        model_id: String,
        status: LoggedModelStatus,
    },
    DeleteLoggedModel {
        model_id: String,
    },
    SetLoggedModelTags {
        model_id: String,
        tags: Vec<Tag>,
    },
    DeleteLoggedModelTag {
        model_id: String,
        key: String,
    },
    LogLoggedModelParams {
        model_id: String,
        params: Vec<Param>,
    },
    /// Records that a run produced these logged models (at these steps).
    LogRunOutputs {
        run_id: String,
        models: Vec<(String, i64)>,
    },
    CreateRegisteredModel {
        name: String,
        creation_time: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default)]
        tags: Vec<Tag>,
    },
    RenameRegisteredModel {
        name: String,
        new_name: String,
    },
    UpdateRegisteredModel {
        name: String,
        description: String,
    },
    DeleteRegisteredModel {
        name: String,
    },
    SetRegisteredModelTag {
        name: String,
        tag: Tag,
    },
    DeleteRegisteredModelTag {
        name: String,
        key: String,
    },
    SetRegisteredModelAlias {
        name: String,
        alias: String,
        version: i64,
        /// The op id of the version's creation, filled in by the store: the
        /// reference follows the version if a sync renumbers it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version_op: Option<String>,
    },
    DeleteRegisteredModelAlias {
        name: String,
        alias: String,
    },
    CreateModelVersion {
        name: String,
        version: i64,
        creation_time: i64,
        source: String,
        storage_location: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run_link: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model_id: Option<String>,
        #[serde(default)]
        tags: Vec<Tag>,
    },
    UpdateModelVersion {
        name: String,
        version: i64,
        description: String,
        /// The op id of the version's creation, filled in by the store: the
        /// reference follows the version if a sync renumbers it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version_op: Option<String>,
    },
    TransitionModelVersionStage {
        name: String,
        version: i64,
        stage: String,
        archive_existing_versions: bool,
        /// The op id of the version's creation, filled in by the store: the
        /// reference follows the version if a sync renumbers it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version_op: Option<String>,
    },
    DeleteModelVersion {
        name: String,
        version: i64,
        /// The op id of the version's creation, filled in by the store: the
        /// reference follows the version if a sync renumbers it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version_op: Option<String>,
    },
    SetModelVersionTag {
        name: String,
        version: i64,
        tag: Tag,
        /// The op id of the version's creation, filled in by the store: the
        /// reference follows the version if a sync renumbers it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version_op: Option<String>,
    },
    DeleteModelVersionTag {
        name: String,
        version: i64,
        key: String,
        /// The op id of the version's creation, filled in by the store: the
        /// reference follows the version if a sync renumbers it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version_op: Option<String>,
    },
    /// A file stored at `path` under the artifact root, by content address.
    PutArtifact {
        path: String,
        sha256: String,
        size: u64,
    },
    /// Removes the file at `path`, or everything under it if it is a folder.
    DeleteArtifacts {
        path: String,
    },
    /// A note anchored to a run's metric at a step ("LR dropped here");
    /// writing the same id again edits it.
    PutAnnotation {
        annotation_id: String,
        run_id: String,
        metric_key: String,
        step: i64,
        text: String,
        author: String,
        created_ms: i64,
    },
    DeleteAnnotation {
        annotation_id: String,
        run_id: String,
    },
    /// A named comparison (runs, charts, axes, smoothing) kept with an
    /// experiment; `spec` is the UI's JSON, opaque to the store. Saving the
    /// same id again replaces it.
    SaveView {
        view_id: String,
        experiment_id: String,
        name: String,
        spec: String,
        created_ms: i64,
    },
    DeleteView {
        view_id: String,
        experiment_id: String,
    },
    /// A trace's record, written when the client finishes the trace (or an
    /// import brings it). Writing it again replaces the record and its
    /// metadata, and sets the tags it names.
    PutTrace {
        info: TraceInfo,
    },
    SetTraceTag {
        trace_id: String,
        key: String,
        value: String,
    },
    DeleteTraceTag {
        trace_id: String,
        key: String,
    },
    DeleteTrace {
        trace_id: String,
    },
}

/// A batch's metric points as columns, one series per key: `{"key",
/// "steps": [..], "timestamps": [..], "values": [..]}`. Histories are most
/// of what a journal holds; columns are about half the size of one object
/// per point, and compress far better in git.
mod metric_columns {
    use std::collections::HashMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::model::{Metric, MetricPoint, float_text};

    #[derive(Serialize, Deserialize)]
    struct Value(#[serde(with = "float_text")] f64);

    #[derive(Serialize, Deserialize)]
    struct Series {
        key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dataset_name: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dataset_digest: Option<String>,
        steps: Vec<i64>,
        timestamps: Vec<i64>,
        values: Vec<Value>,
    }

    /// What makes points one series: key, model, dataset name and digest.
    type SeriesId<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);

    pub fn serialize<S: Serializer>(metrics: &[Metric], s: S) -> Result<S::Ok, S::Error> {
        // Series in order of first appearance, points in their given order:
        // serializing what was deserialized gives the same bytes.
        let mut series: Vec<Series> = Vec::new();
        let mut index: HashMap<SeriesId, usize> = HashMap::new();
        let mut last: Option<(SeriesId, usize)> = None;
        for m in metrics {
            let id = (m.key.as_str(), m.model_id.as_deref(), m.dataset_name.as_deref(), m.dataset_digest.as_deref());
            // Batches are mostly runs of one series: skip the hash for those.
            if let Some((last_id, i)) = last
                && last_id == id
            {
                let target = &mut series[i];
                target.steps.push(m.point.step);
                target.timestamps.push(m.point.timestamp);
                target.values.push(Value(m.point.value));
                continue;
            }
            let i = *index.entry(id).or_insert_with(|| {
                series.push(Series {
                    key: m.key.clone(),
                    model_id: m.model_id.clone(),
                    dataset_name: m.dataset_name.clone(),
                    dataset_digest: m.dataset_digest.clone(),
                    steps: Vec::new(),
                    timestamps: Vec::new(),
                    values: Vec::new(),
                });
                series.len() - 1
            });
            last = Some((id, i));
            let target = &mut series[i];
            target.steps.push(m.point.step);
            target.timestamps.push(m.point.timestamp);
            target.values.push(Value(m.point.value));
        }
        series.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Metric>, D::Error> {
        let series = Vec::<Series>::deserialize(d)?;
        let mut out = Vec::new();
        for s in series {
            if s.steps.len() != s.timestamps.len() || s.steps.len() != s.values.len() {
                return Err(serde::de::Error::custom(format!("series '{}' has columns of different lengths", s.key)));
            }
            for ((step, timestamp), value) in s.steps.iter().zip(&s.timestamps).zip(&s.values) {
                out.push(Metric {
                    key: s.key.clone(),
                    point: MetricPoint { value: value.0, timestamp: *timestamp, step: *step },
                    model_id: s.model_id.clone(),
                    dataset_name: s.dataset_name.clone(),
                    dataset_digest: s.dataset_digest.clone(),
                });
            }
        }
        Ok(out)
    }
}

/// Which entity an artifact path belongs to: the run in
/// `<experiment>/<run_id>/artifacts/...`, the logged model in
/// `<experiment>/models/<model_id>/artifacts/...`, the trace in
/// `<experiment>/traces/<trace_id>/artifacts/...`, else the path's first
/// two segments.
pub fn artifact_owner(path: &str) -> &str {
    let segments: Vec<&str> = path.splitn(5, '/').collect();
    match segments.as_slice() {
        [_, "models", model, "artifacts", ..] => model,
        [_, "traces", trace, "artifacts", ..] => trace,
        [_, run, "artifacts", ..] => run,
        _ => match path.match_indices('/').nth(1) {
            Some((i, _)) => &path[..i],
            None => path,
        },
    }
}

impl Op {
    /// The id of the entity (experiment or run) the op changes. Sync orders
    /// and merges ops per entity.
    pub fn entity_id(&self) -> &str {
        match self {
            Op::CreateExperiment { experiment_id, .. }
            | Op::RenameExperiment { experiment_id, .. }
            | Op::SetExperimentLifecycle { experiment_id, .. }
            | Op::SetExperimentTag { experiment_id, .. }
            | Op::DeleteExperimentTag { experiment_id, .. }
            | Op::AliasExperiment { experiment_id, .. }
            | Op::SaveView { experiment_id, .. }
            | Op::DeleteView { experiment_id, .. } => experiment_id,
            Op::CreateRun { run_id, .. }
            | Op::UpdateRun { run_id, .. }
            | Op::SetRunLifecycle { run_id, .. }
            | Op::LogBatch { run_id, .. }
            | Op::DeleteRunTag { run_id, .. }
            | Op::LogInputs { run_id, .. }
            | Op::PutAnnotation { run_id, .. }
            | Op::DeleteAnnotation { run_id, .. } => run_id,
            Op::PutArtifact { path, .. } | Op::DeleteArtifacts { path } => artifact_owner(path),
            Op::CreateLoggedModel { model_id, .. }
            | Op::FinalizeLoggedModel { model_id, .. }
            | Op::DeleteLoggedModel { model_id }
            | Op::SetLoggedModelTags { model_id, .. }
            | Op::DeleteLoggedModelTag { model_id, .. }
            | Op::LogLoggedModelParams { model_id, .. } => model_id,
            Op::LogRunOutputs { run_id, .. } => run_id,
            Op::PutTrace { info } => &info.trace_id,
            Op::SetTraceTag { trace_id, .. } | Op::DeleteTraceTag { trace_id, .. } | Op::DeleteTrace { trace_id } => {
                trace_id
            }
            Op::CreateRegisteredModel { name, .. }
            | Op::RenameRegisteredModel { name, .. }
            | Op::UpdateRegisteredModel { name, .. }
            | Op::DeleteRegisteredModel { name }
            | Op::SetRegisteredModelTag { name, .. }
            | Op::DeleteRegisteredModelTag { name, .. }
            | Op::SetRegisteredModelAlias { name, .. }
            | Op::DeleteRegisteredModelAlias { name, .. }
            | Op::CreateModelVersion { name, .. }
            | Op::UpdateModelVersion { name, .. }
            | Op::TransitionModelVersionStage { name, .. }
            | Op::DeleteModelVersion { name, .. }
            | Op::SetModelVersionTag { name, .. }
            | Op::DeleteModelVersionTag { name, .. } => name,
        }
    }

    /// A short, stable name for logs and the journal's `kind` column.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::CreateExperiment { .. } => "create_experiment",
            Op::RenameExperiment { .. } => "rename_experiment",
            Op::SetExperimentLifecycle { .. } => "set_experiment_lifecycle",
            Op::SetExperimentTag { .. } => "set_experiment_tag",
            Op::AliasExperiment { .. } => "alias_experiment",
            Op::DeleteExperimentTag { .. } => "delete_experiment_tag",
            Op::CreateRun { .. } => "create_run",
            Op::UpdateRun { .. } => "update_run",
            Op::SetRunLifecycle { .. } => "set_run_lifecycle",
            Op::LogBatch { .. } => "log_batch",
            Op::DeleteRunTag { .. } => "delete_run_tag",
            Op::LogInputs { .. } => "log_inputs",
            Op::PutArtifact { .. } => "put_artifact",
            Op::CreateLoggedModel { .. } => "create_logged_model",
            Op::FinalizeLoggedModel { .. } => "finalize_logged_model",
            Op::DeleteLoggedModel { .. } => "delete_logged_model",
            Op::SetLoggedModelTags { .. } => "set_logged_model_tags",
            Op::DeleteLoggedModelTag { .. } => "delete_logged_model_tag",
            Op::LogLoggedModelParams { .. } => "log_logged_model_params",
            Op::LogRunOutputs { .. } => "log_run_outputs",
            Op::CreateRegisteredModel { .. } => "create_registered_model",
            Op::RenameRegisteredModel { .. } => "rename_registered_model",
            Op::UpdateRegisteredModel { .. } => "update_registered_model",
            Op::DeleteRegisteredModel { .. } => "delete_registered_model",
            Op::SetRegisteredModelTag { .. } => "set_registered_model_tag",
            Op::DeleteRegisteredModelTag { .. } => "delete_registered_model_tag",
            Op::SetRegisteredModelAlias { .. } => "set_registered_model_alias",
            Op::DeleteRegisteredModelAlias { .. } => "delete_registered_model_alias",
            Op::CreateModelVersion { .. } => "create_model_version",
            Op::UpdateModelVersion { .. } => "update_model_version",
            Op::TransitionModelVersionStage { .. } => "transition_model_version_stage",
            Op::DeleteModelVersion { .. } => "delete_model_version",
            Op::SetModelVersionTag { .. } => "set_model_version_tag",
            Op::DeleteModelVersionTag { .. } => "delete_model_version_tag",
            Op::DeleteArtifacts { .. } => "delete_artifacts",
            Op::PutAnnotation { .. } => "put_annotation",
            Op::DeleteAnnotation { .. } => "delete_annotation",
            Op::SaveView { .. } => "save_view",
            Op::DeleteView { .. } => "delete_view",
            Op::PutTrace { .. } => "put_trace",
            Op::SetTraceTag { .. } => "set_trace_tag",
            Op::DeleteTraceTag { .. } => "delete_trace_tag",
            Op::DeleteTrace { .. } => "delete_trace",
        }
    }
}

/// Who wrote an op and when: the explicit inputs every write needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteContext {
    /// The replica that writes (a store's writer id).
    pub writer: String,
    /// Wall time of the write, in milliseconds since the epoch.
    pub time_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MetricPoint;

    #[test]
    fn metric_columns_round_trip_byte_for_byte() {
        let m = |key: &str, step: i64, value: f64| Metric {
            key: key.into(),
            point: MetricPoint { value, timestamp: 100 + step, step },
            ..Default::default()
        };
        let op = Op::LogBatch {
            run_id: "r".into(),
            metrics: vec![m("loss", 0, 1.5), m("acc", 0, f64::NAN), m("loss", 1, f64::INFINITY), m("acc", 1, 0.25)],
            params: vec![],
            tags: vec![],
        };
        let text = serde_json::to_string(&op).unwrap();
        assert!(
            text.contains(r#""key":"loss","steps":[0,1],"timestamps":[100,101],"values":[1.5,"Infinity"]"#),
            "{text}"
        );
        let back: Op = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text, "op ids are hashes of this text");
        let bad = text.replace("[100,101]", "[100]");
        assert!(serde_json::from_str::<Op>(&bad).is_err());
    }

    #[test]
    fn artifact_owners() {
        for (path, owner) in [
            ("1/abc/artifacts/model/MLmodel", "abc"),
            ("1/abc/artifacts", "abc"),
            ("1/models/m-123/artifacts/x", "m-123"),
            ("loose/file/here", "loose/file"),
            ("top", "top"),
        ] {
            assert_eq!(super::artifact_owner(path), owner, "{path}");
        }
    }
}
