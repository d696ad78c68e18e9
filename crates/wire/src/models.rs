//! MLflow 3's logged models (`/api/2.0/mlflow/logged-models`).

use almanac_core::model as domain;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::tracking::{KeyValue, Metric, key_values};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LoggedModelInfo {
    #[serde(default)]
    pub model_id: String,
    #[serde(default, deserialize_with = "codec::text")]
    pub experiment_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, deserialize_with = "codec::int64")]
    pub creation_timestamp_ms: i64,
    #[serde(default, deserialize_with = "codec::int64")]
    pub last_updated_timestamp_ms: i64,
    #[serde(default)]
    pub artifact_uri: String,
    /// `LOGGED_MODEL_PENDING`, `LOGGED_MODEL_READY` or `LOGGED_MODEL_UPLOAD_FAILED`.
    #[serde(default, deserialize_with = "codec::text")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LoggedModelData {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<KeyValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LoggedModel {
    #[serde(default)]
    pub info: LoggedModelInfo,
    #[serde(default)]
    pub data: LoggedModelData,
}

impl LoggedModel {
    pub fn status(&self) -> domain::LoggedModelStatus {
        domain::LoggedModelStatus::from_wire(&self.info.status).unwrap_or(domain::LoggedModelStatus::Pending)
    }
}

impl From<&domain::LoggedModel> for LoggedModel {
    fn from(m: &domain::LoggedModel) -> Self {
        let metrics = m
            .metrics
            .iter()
            .map(|(run_id, metric)| Metric {
                dataset_name: metric.dataset_name.clone(),
                dataset_digest: metric.dataset_digest.clone(),
                model_id: Some(m.model_id.clone()),
                run_id: Some(run_id.clone()),
                ..Metric::from(metric)
            })
            .collect();
        LoggedModel {
            info: LoggedModelInfo {
                model_id: m.model_id.clone(),
                experiment_id: m.experiment_id.clone(),
                name: m.name.clone(),
                creation_timestamp_ms: m.creation_timestamp,
                last_updated_timestamp_ms: m.last_updated_timestamp,
                artifact_uri: m.artifact_location.clone(),
                status: m.status.wire_name().into(),
                model_type: m.model_type.clone(),
                source_run_id: m.source_run_id.clone(),
                tags: key_values(&m.tags),
            },
            data: LoggedModelData { params: key_values(&m.params), metrics },
        }
    }
}

/// `{"model": ..}`: create, get, finalize and tag a logged model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LoggedModelReply {
    #[serde(default)]
    pub model: LoggedModel,
}
