//! MLflow 3's GenAI trace records (TraceInfoV3, `/api/3.0/mlflow/traces`).
//! Spans travel separately, as the trace's `traces.json` artifact.

use std::collections::BTreeMap;

use almanac_core::model::Tag;
use almanac_core::trace::{self as domain, TraceInfo};
use serde::{Deserialize, Serialize};

use crate::codec;

/// Where a trace lives. Almanac keeps traces in experiments only.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TraceLocation {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlflow_experiment: Option<ExperimentLocation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExperimentLocation {
    #[serde(default, deserialize_with = "codec::text")]
    pub experiment_id: String,
}

impl TraceLocation {
    pub fn experiment(experiment_id: &str) -> TraceLocation {
        TraceLocation {
            kind: "MLFLOW_EXPERIMENT".into(),
            mlflow_experiment: Some(ExperimentLocation { experiment_id: experiment_id.into() }),
        }
    }
}

/// TraceInfoV3 as MLflow's JSON writes it: times as RFC 3339 text,
/// durations as protobuf's "1.5s", tags and metadata as maps.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TraceInfoV3 {
    #[serde(default)]
    pub trace_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_request_id: Option<String>,
    #[serde(default)]
    pub trace_location: TraceLocation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_preview: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_preview: Option<String>,
    #[serde(default)]
    pub request_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_duration: Option<String>,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub trace_metadata: BTreeMap<String, String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

fn map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect()
}

impl TraceInfoV3 {
    /// The record of `t`, placed in experiment `experiment_id` (export
    /// places it in the destination's experiment).
    pub fn new(t: &TraceInfo, experiment_id: &str) -> TraceInfoV3 {
        TraceInfoV3 {
            trace_id: t.trace_id.clone(),
            client_request_id: t.client_request_id.clone(),
            trace_location: TraceLocation::experiment(experiment_id),
            request_preview: t.request_preview.clone(),
            response_preview: t.response_preview.clone(),
            request_time: domain::format_rfc3339_ms(t.request_time_ms),
            execution_duration: t.execution_duration_ms.map(domain::format_duration_ms),
            state: t.state.clone(),
            trace_metadata: map(&t.trace_metadata),
            tags: map(&t.tags),
        }
    }

    pub fn experiment_id(&self) -> Option<&str> {
        self.trace_location.mlflow_experiment.as_ref().map(|e| e.experiment_id.as_str())
    }

    pub fn name(&self) -> &str {
        self.tags.get("mlflow.traceName").map(String::as_str).unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Trace {
    #[serde(default)]
    pub trace_info: TraceInfoV3,
}

/// `{"trace": {"trace_info": ..}}`: start a trace, get one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TraceReply {
    #[serde(default)]
    pub trace: Trace,
}

/// `traces/search`: the list is written even when empty, as MLflow does.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TracesPage {
    #[serde(default)]
    pub traces: Vec<TraceInfoV3>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `traces/delete-traces`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TracesDeleted {
    #[serde(default)]
    pub traces_deleted: i64,
}

/// A trace's `traces.json`: its spans as MLflow's client writes them.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpansDoc {
    #[serde(default)]
    pub spans: Vec<SpanDict>,
}

/// One span of `traces.json`. Both forms MLflow has written are read:
/// MLflow 3's OpenTelemetry names (`span_id`, `parent_span_id`,
/// `*_unix_nano`, `status.code`) and MLflow 2.x's (`context.span_id`,
/// `parent_id`, `start_time`, `status_code`). Attributes are JSON text.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpanDict {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// MLflow 2.x keeps the id here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<SpanContext>,
    #[serde(default, alias = "parent_id")]
    pub parent_span_id: Option<String>,
    #[serde(default)]
    pub name: String,
    #[serde(default, alias = "start_time")]
    pub start_time_unix_nano: u64,
    #[serde(default, alias = "end_time")]
    pub end_time_unix_nano: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
    /// MLflow 2.x: "OK", "ERROR" or "UNSET".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    #[serde(default)]
    pub attributes: std::collections::HashMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SpanContext {
    #[serde(default)]
    pub span_id: String,
}

impl SpanDict {
    /// The span's id in either form.
    pub fn id(&self) -> &str {
        self.span_id.as_deref().or(self.context.as_ref().map(|c| c.span_id.as_str())).unwrap_or_default()
    }

    pub fn failed(&self) -> bool {
        let code = self.status.as_ref().and_then(|s| s.get("code")).and_then(serde_json::Value::as_str);
        code == Some("STATUS_CODE_ERROR") || self.status_code.as_deref() == Some("ERROR")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_record_is_written_as_mlflow_writes_it_and_read_back() {
        let t = TraceInfo {
            trace_id: "tr-1".into(),
            experiment_id: "0".into(),
            client_request_id: None,
            request_time_ms: 1_700_000_000_123,
            execution_duration_ms: Some(1500),
            state: "OK".into(),
            request_preview: Some("hi".into()),
            response_preview: None,
            trace_metadata: vec![],
            tags: vec![Tag { key: "mlflow.traceName".into(), value: "agent".into() }],
        };
        let json = serde_json::to_string(&TraceInfoV3::new(&t, "7")).unwrap();
        assert_eq!(
            json,
            r#"{"trace_id":"tr-1","trace_location":{"type":"MLFLOW_EXPERIMENT","mlflow_experiment":{"experiment_id":"7"}},"request_preview":"hi","request_time":"2023-11-14T22:13:20.123Z","execution_duration":"1.500s","state":"OK","trace_metadata":{},"tags":{"mlflow.traceName":"agent"}}"#
        );
        let back: TraceInfoV3 = serde_json::from_str(&json).unwrap();
        assert_eq!((back.experiment_id(), back.name()), (Some("7"), "agent"));
    }
}
