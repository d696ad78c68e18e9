//! Almanac's own routes under `/api/2.0/almanac`, for what MLflow's API
//! lacks: the review UI's runs table, groups, annotations and saved views.
//! Written in MLflow's style (snake_case, floats as protobuf writes them).

use std::collections::HashMap;

use almanac_core::model as domain;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::tracking::Run;

/// A metric's min and max over a run's history.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Range {
    #[serde(default, deserialize_with = "codec::opt_float", serialize_with = "codec::serialize_opt_float")]
    pub min: Option<f64>,
    #[serde(default, deserialize_with = "codec::opt_float", serialize_with = "codec::serialize_opt_float")]
    pub max: Option<f64>,
}

/// `runs/table`: a window of the runs table by offset, with the match
/// count, child counts and (when asked) metric ranges by run and key.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TableWindow {
    #[serde(default)]
    pub total: i64,
    #[serde(default)]
    pub runs: Vec<Run>,
    #[serde(default)]
    pub child_counts: HashMap<String, i64>,
    #[serde(default)]
    pub ranges: HashMap<String, HashMap<String, Range>>,
}

/// `experiments/run-counts`: live runs per experiment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunCounts {
    #[serde(default)]
    pub counts: HashMap<String, i64>,
}

/// `runs/keys`: every key the experiments' runs use.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunKeys {
    #[serde(default)]
    pub params: Vec<String>,
    #[serde(default)]
    pub metrics: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Aggregate {
    #[serde(default, deserialize_with = "codec::opt_float", serialize_with = "codec::serialize_opt_float")]
    pub mean: Option<f64>,
    #[serde(default, deserialize_with = "codec::opt_float", serialize_with = "codec::serialize_opt_float")]
    pub min: Option<f64>,
    #[serde(default, deserialize_with = "codec::opt_float", serialize_with = "codec::serialize_opt_float")]
    pub max: Option<f64>,
}

/// One group of `runs/groups`: a param or tag value, its run count and
/// each metric's aggregate.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunGroup {
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub count: i64,
    #[serde(default)]
    pub metrics: HashMap<String, Aggregate>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunGroups {
    #[serde(default)]
    pub groups: Vec<RunGroup>,
}

/// `runs/tags`: how many tags were set or removed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TagChanges {
    #[serde(default)]
    pub changes: i64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Annotation {
    #[serde(default)]
    pub annotation_id: String,
    #[serde(default)]
    pub run_id: String,
    #[serde(default)]
    pub metric_key: String,
    #[serde(default, deserialize_with = "codec::int64")]
    pub step: i64,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub author: String,
    #[serde(default, deserialize_with = "codec::int64")]
    pub created_ms: i64,
}

impl From<&domain::Annotation> for Annotation {
    fn from(a: &domain::Annotation) -> Self {
        Annotation {
            annotation_id: a.annotation_id.clone(),
            run_id: a.run_id.clone(),
            metric_key: a.metric_key.clone(),
            step: a.step,
            text: a.text.clone(),
            author: a.author.clone(),
            created_ms: a.created_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AnnotationReply {
    #[serde(default)]
    pub annotation: Annotation,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Annotations {
    #[serde(default)]
    pub annotations: Vec<Annotation>,
}

/// A saved comparison; `spec` is the UI's own JSON, kept as text.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SavedView {
    #[serde(default)]
    pub view_id: String,
    #[serde(default)]
    pub experiment_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub spec: String,
    #[serde(default, deserialize_with = "codec::int64")]
    pub created_ms: i64,
    #[serde(default, deserialize_with = "codec::int64")]
    pub updated_ms: i64,
}

impl From<&domain::SavedView> for SavedView {
    fn from(v: &domain::SavedView) -> Self {
        SavedView {
            view_id: v.view_id.clone(),
            experiment_id: v.experiment_id.clone(),
            name: v.name.clone(),
            spec: v.spec.clone(),
            created_ms: v.created_ms,
            updated_ms: v.updated_ms,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ViewReply {
    #[serde(default)]
    pub view: SavedView,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Views {
    #[serde(default)]
    pub views: Vec<SavedView>,
}

/// One op of `history?entity_id=`: an op recorded against an entity, in
/// fold order, as it travels in sync packs (see FORMAT.md), with the fold's
/// refusal if it was refused.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(default)]
    pub op_id: String,
    #[serde(default)]
    pub lamport: i64,
    #[serde(default)]
    pub writer: String,
    #[serde(default)]
    pub time_ms: i64,
    #[serde(default)]
    pub kind: String,
    /// The op in the journal's own format (`almanac_core::op::Op`).
    #[serde(default)]
    pub op: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct History {
    #[serde(default)]
    pub entries: Vec<HistoryEntry>,
}

// ----- Requests to these routes, as the UI sends them -----

/// `runs/table`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TableRequest {
    pub experiment_ids: Vec<String>,
    pub filter: String,
    pub order_by: Vec<String>,
    pub offset: i64,
    pub limit: i64,
    pub with_ranges: bool,
}

/// `runs/keys`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KeysRequest {
    pub experiment_ids: Vec<String>,
}

/// `runs/groups`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GroupsRequest {
    pub experiment_ids: Vec<String>,
    pub filter: String,
    pub group_by: String,
    pub metric_keys: Vec<String>,
}

/// `runs/tags`: set `tags` and remove `remove_keys` on every run of `run_ids`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TagRunsRequest {
    pub run_ids: Vec<String>,
    pub tags: Vec<crate::KeyValue>,
    pub remove_keys: Vec<String>,
}

/// `annotations/list`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AnnotationsRequest {
    pub run_ids: Vec<String>,
}

/// `annotations/create`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AnnotateRequest {
    pub run_id: String,
    pub metric_key: String,
    pub step: i64,
    pub text: String,
    pub author: String,
}

/// `annotations/delete`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DeleteAnnotationRequest {
    pub run_id: String,
    pub annotation_id: String,
}

/// `views/save`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SaveViewRequest {
    pub experiment_id: String,
    pub name: String,
    pub spec: String,
}
