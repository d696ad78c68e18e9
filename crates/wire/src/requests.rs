//! Request bodies. The server reads requests field by field
//! (`almanac-server`'s `Input`, in MLflow's schema order), which gives
//! MLflow's exact message for the first bad field; it parses one shape here
//! whole, the log-batch fast path. The MLflow client side (export to and
//! import from a server) sends the other shapes here.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::traces::TraceLocation;
use crate::tracking::{DatasetInput, KeyValue, Metric};

/// A log-batch of metrics alone, every number a JSON number: what the
/// mlflow client sends while training. Any other shape (strings for
/// numbers, params or tags, unknown fields) fails to parse, and the
/// server's general path answers it with MLflow's messages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsBatch<'a> {
    #[serde(borrow)]
    pub run_id: Cow<'a, str>,
    #[serde(borrow)]
    pub metrics: Vec<BatchPoint<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchPoint<'a> {
    #[serde(borrow)]
    pub key: Cow<'a, str>,
    pub value: f64,
    pub timestamp: i64,
    #[serde(default)]
    pub step: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_plain_shape_parses() {
        let plain = br#"{"run_id": "r", "metrics": [{"key": "loss", "value": 0.5, "timestamp": 1}]}"#;
        let batch: MetricsBatch = serde_json::from_slice(plain).unwrap();
        assert_eq!((batch.run_id.as_ref(), batch.metrics[0].step), ("r", 0));
        for other in [
            &br#"{"run_id": "r", "metrics": [{"key": "l", "value": "NaN", "timestamp": 1}]}"#[..],
            br#"{"run_id": "r", "metrics": [], "params": []}"#,
            br#"{"run_id": "r", "metrics": [{"key": "l", "value": 1, "timestamp": "1"}]}"#,
        ] {
            assert!(serde_json::from_slice::<MetricsBatch>(other).is_err());
        }
    }
}

// ----- Bodies the MLflow client side sends (export to, import from a server) -----

/// A search request that pages: the next request carries the token the
/// last answer gave.
pub trait Paged: Serialize {
    fn set_page_token(&mut self, token: String);
}

macro_rules! paged {
    ($($t:ty),*) => {
        $(impl Paged for $t {
            fn set_page_token(&mut self, token: String) {
                self.page_token = Some(token);
            }
        })*
    };
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SearchExperiments {
    pub max_results: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view_type: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order_by: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SearchRuns {
    pub experiment_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_view_type: Option<String>,
    pub max_results: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SearchLoggedModels {
    pub experiment_ids: Vec<String>,
    pub max_results: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SearchTraces {
    pub locations: Vec<TraceLocation>,
    pub max_results: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
}

paged!(SearchExperiments, SearchRuns, SearchLoggedModels, SearchTraces);

#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateExperiment {
    pub name: String,
    pub tags: Vec<KeyValue>,
}

/// `experiments/delete`, `experiments/restore`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExperimentId {
    pub experiment_id: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SetExperimentTag {
    pub experiment_id: String,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateRun {
    pub experiment_id: String,
    pub run_name: String,
    pub start_time: i64,
    pub tags: Vec<KeyValue>,
}

/// `runs/delete`, `runs/restore`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunId {
    pub run_id: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateRun {
    pub run_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LogBatch {
    pub run_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LogInputs {
    pub run_id: String,
    pub datasets: Vec<DatasetInput>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateLoggedModel {
    pub experiment_id: String,
    pub name: String,
    pub params: Vec<KeyValue>,
    pub tags: Vec<KeyValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct FinalizeLoggedModel {
    pub model_id: String,
    /// `LOGGED_MODEL_READY` or `LOGGED_MODEL_UPLOAD_FAILED`.
    pub status: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateRegisteredModel {
    pub name: String,
    pub description: String,
    pub tags: Vec<KeyValue>,
}

/// `registered-models/set-tag`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SetRegisteredModelTag {
    pub name: String,
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CreateModelVersion {
    pub name: String,
    pub source: String,
    pub tags: Vec<KeyValue>,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TransitionStage {
    pub name: String,
    /// MLflow's registry takes version numbers as text.
    pub version: String,
    pub stage: String,
    pub archive_existing_versions: bool,
}

/// `registered-models/alias` (POST).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SetAlias {
    pub name: String,
    pub alias: String,
    pub version: String,
}

// ----- Further bodies the review UI sends -----

/// `experiments/update`: a rename.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateExperiment {
    pub experiment_id: String,
    pub new_name: String,
}

/// `runs/set-tag`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SetTag {
    pub run_id: String,
    pub key: String,
    pub value: String,
}

/// `runs/delete-tag`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeleteTag {
    pub run_id: String,
    pub key: String,
}

/// `registered-models/update`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateRegisteredModel {
    pub name: String,
    pub description: String,
}

/// `model-versions/update`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UpdateModelVersion {
    pub name: String,
    pub version: String,
    pub description: String,
}

/// `registered-models/alias` (DELETE).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeleteAlias {
    pub name: String,
    pub alias: String,
}
