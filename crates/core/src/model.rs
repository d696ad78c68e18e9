//! The domain model: what an experiment and a run are, independent of any
//! wire format. The HTTP layer maps these to MLflow's JSON.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    Active,
    Deleted,
}

impl LifecycleStage {
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStage::Active => "active",
            LifecycleStage::Deleted => "deleted",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(LifecycleStage::Active),
            "deleted" => Some(LifecycleStage::Deleted),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    Running,
    Scheduled,
    Finished,
    Failed,
    Killed,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] =
        [RunStatus::Running, RunStatus::Scheduled, RunStatus::Finished, RunStatus::Failed, RunStatus::Killed];
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// Which lifecycle stages a search returns (MLflow's `ViewType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ViewType {
    #[default]
    ActiveOnly,
    DeletedOnly,
    All,
}

impl ViewType {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ACTIVE_ONLY" | "1" => Some(ViewType::ActiveOnly),
            "DELETED_ONLY" | "2" => Some(ViewType::DeletedOnly),
            "ALL" | "3" => Some(ViewType::All),
            _ => None,
        }
    }
    pub fn admits(self, stage: LifecycleStage) -> bool {
        match self {
            ViewType::ActiveOnly => stage == LifecycleStage::Active,
            ViewType::DeletedOnly => stage == LifecycleStage::Deleted,
            ViewType::All => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub key: String,
    pub value: String,
}

/// One metric point. `value` may be NaN or ±infinity: MLflow keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MetricPoint {
    #[serde(with = "float_text")]
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
}

impl MetricPoint {
    /// MLflow's latest-metric rule: the point with the greatest
    /// `(step, timestamp, value)` is the run's latest value for its key.
    /// A NaN value sorts below every number here, as in MLflow's SQL store
    /// where `is_nan` points are compared by a 0 placeholder.
    pub fn supersedes(&self, other: &MetricPoint) -> bool {
        let v = |p: &MetricPoint| if p.value.is_nan() { 0.0 } else { p.value };
        (self.step, self.timestamp)
            .cmp(&(other.step, other.timestamp))
            .then_with(|| v(self).partial_cmp(&v(other)).unwrap_or(std::cmp::Ordering::Equal))
            != std::cmp::Ordering::Less
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "MetricRecord", into = "MetricRecord")]
pub struct Metric {
    pub key: String,
    pub point: MetricPoint,
    /// MLflow 3 links a metric to a logged model (and the dataset it was
    /// computed on); the model then lists it among its metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<String>,
}

/// A metric's flat serialized form. (`#[serde(flatten)]` would buffer every
/// point through serde's generic content tree: far slower for histories of
/// millions of points.)
#[derive(Serialize, Deserialize)]
struct MetricRecord {
    key: String,
    #[serde(with = "float_text")]
    value: f64,
    timestamp: i64,
    step: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dataset_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dataset_digest: Option<String>,
}

impl From<MetricRecord> for Metric {
    fn from(r: MetricRecord) -> Self {
        Metric {
            key: r.key,
            point: MetricPoint { value: r.value, timestamp: r.timestamp, step: r.step },
            model_id: r.model_id,
            dataset_name: r.dataset_name,
            dataset_digest: r.dataset_digest,
        }
    }
}

impl From<Metric> for MetricRecord {
    fn from(m: Metric) -> Self {
        MetricRecord {
            key: m.key,
            value: m.point.value,
            timestamp: m.point.timestamp,
            step: m.point.step,
            model_id: m.model_id,
            dataset_name: m.dataset_name,
            dataset_digest: m.dataset_digest,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    pub name: String,
    pub digest: String,
    pub source_type: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInput {
    pub dataset: Dataset,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Experiment {
    pub experiment_id: String,
    pub name: String,
    pub artifact_location: String,
    pub lifecycle_stage: LifecycleStage,
    pub creation_time: i64,
    pub last_update_time: i64,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    pub run_id: String,
    pub run_name: String,
    pub experiment_id: String,
    pub user_id: String,
    pub status: RunStatus,
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub artifact_uri: String,
    pub lifecycle_stage: LifecycleStage,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub info: RunInfo,
    /// The latest value per key, by [`MetricPoint::supersedes`].
    pub metrics: Vec<Metric>,
    pub params: Vec<Param>,
    pub tags: Vec<Tag>,
    pub inputs: Vec<DatasetInput>,
    /// Logged models the run used as inputs, by id.
    pub model_inputs: Vec<String>,
    /// Logged models the run produced, with the step they were logged at.
    pub outputs: Vec<(String, i64)>,
}

/// A note anchored to a run's metric at a step, shown on its charts.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub annotation_id: String,
    pub run_id: String,
    pub metric_key: String,
    pub step: i64,
    pub text: String,
    pub author: String,
    pub created_ms: i64,
}

/// A named comparison kept with an experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedView {
    pub view_id: String,
    pub experiment_id: String,
    pub name: String,
    /// The UI's JSON description of the view (runs, charts, axes, smoothing).
    pub spec: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// MLflow's reserved tag keys that Almanac reads or writes itself.
pub mod tags {
    pub const RUN_NAME: &str = "mlflow.runName";
    pub const PARENT_RUN_ID: &str = "mlflow.parentRunId";
    pub const USER: &str = "mlflow.user";
    pub const NOTE: &str = "mlflow.note.content";
}

/// Floats as JSON numbers, with NaN and ±infinity as MLflow's strings
/// ("NaN", "Infinity", "-Infinity"), which plain JSON cannot carry.
pub mod float_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_str("NaN")
        } else if v.is_infinite() {
            s.serialize_str(if *v > 0.0 { "Infinity" } else { "-Infinity" })
        } else {
            s.serialize_f64(*v)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Num {
            F(f64),
            S(String),
        }
        match Num::deserialize(d)? {
            Num::F(f) => Ok(f),
            Num::S(s) => parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a number: {s:?}"))),
        }
    }

    /// Parses MLflow's float spellings, including the non-finite ones.
    pub fn parse(s: &str) -> Option<f64> {
        match s {
            "NaN" | "nan" => Some(f64::NAN),
            "Infinity" | "inf" | "+Infinity" => Some(f64::INFINITY),
            "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
            _ => s.trim().parse::<f64>().ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(step: i64, timestamp: i64, value: f64) -> MetricPoint {
        MetricPoint { value, timestamp, step }
    }

    #[test]
    fn latest_metric_rule() {
        // (new, old, new supersedes old)
        let cases = [
            (p(2, 0, 0.0), p(1, 9, 9.0), true),
            (p(1, 0, 9.0), p(2, 0, 0.0), false),
            (p(1, 5, 0.0), p(1, 4, 9.0), true),
            (p(1, 5, 2.0), p(1, 5, 1.0), true),
            (p(1, 5, 1.0), p(1, 5, 2.0), false),
            (p(1, 5, 1.0), p(1, 5, 1.0), true),
        ];
        for (new, old, expected) in cases {
            assert_eq!(new.supersedes(&old), expected, "{new:?} vs {old:?}");
        }
    }

    #[test]
    fn non_finite_floats_round_trip() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.5, -0.0, 1e300] {
            let json = serde_json::to_string(&p(0, 0, v)).unwrap();
            let back: MetricPoint = serde_json::from_str(&json).unwrap();
            assert!(back.value == v || (v.is_nan() && back.value.is_nan()), "{json}");
        }
    }
}

/// A logged model's upload state (MLflow 3's `LoggedModelStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LoggedModelStatus {
    Pending,
    Ready,
    Failed,
}

impl LoggedModelStatus {
    /// The protobuf enum name MLflow puts on the wire.
    pub fn wire_name(self) -> &'static str {
        match self {
            LoggedModelStatus::Pending => "LOGGED_MODEL_PENDING",
            LoggedModelStatus::Ready => "LOGGED_MODEL_READY",
            LoggedModelStatus::Failed => "LOGGED_MODEL_UPLOAD_FAILED",
        }
    }
    /// Reads the wire enum by name or number.
    pub fn from_wire(s: &str) -> Option<Self> {
        match s {
            "LOGGED_MODEL_PENDING" | "1" | "PENDING" => Some(LoggedModelStatus::Pending),
            "LOGGED_MODEL_READY" | "2" | "READY" => Some(LoggedModelStatus::Ready),
            "LOGGED_MODEL_UPLOAD_FAILED" | "3" | "FAILED" => Some(LoggedModelStatus::Failed),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            LoggedModelStatus::Pending => "PENDING",
            LoggedModelStatus::Ready => "READY",
            LoggedModelStatus::Failed => "FAILED",
        }
    }
}

/// An MLflow 3 logged model: a model's artifacts plus metadata, linked to
/// the run that produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModel {
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    pub artifact_location: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub status: LoggedModelStatus,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub lifecycle_stage: LifecycleStage,
    pub tags: Vec<Tag>,
    pub params: Vec<Param>,
    /// Metrics logged against this model, with the run that logged each.
    pub metrics: Vec<(String, Metric)>,
}

/// A model version's registry stage. Deprecated in MLflow, still answered.
pub const STAGES: [&str; 4] = ["None", "Staging", "Production", "Archived"];

/// A name in the model registry: a family of model versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredModel {
    pub name: String,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub description: Option<String>,
    pub tags: Vec<Tag>,
    /// (alias, version)
    pub aliases: Vec<(String, i64)>,
    /// The newest live version per stage.
    pub latest_versions: Vec<ModelVersion>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelVersion {
    pub name: String,
    pub version: i64,
    pub creation_timestamp: i64,
    pub last_updated_timestamp: i64,
    pub description: Option<String>,
    pub current_stage: String,
    pub source: String,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
    pub model_id: Option<String>,
    /// Where the version's files are: the logged model's artifact location
    /// for `models:/m-…` sources, else the source itself.
    pub storage_location: String,
    pub tags: Vec<Tag>,
    /// This version's aliases.
    pub aliases: Vec<String>,
}

/// MLflow's tag marking a registered model (and its versions) as a prompt.
pub const PROMPT_TAG: &str = "mlflow.prompt.is_prompt";
