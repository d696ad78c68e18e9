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

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Trace {
    #[serde(default)]
    pub trace_info: TraceInfoV3,
    /// Only `traces/get` sends spans with the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<OtlpSpan>,
}

/// A span in OTLP's JSON (opentelemetry-proto's `Span`), as MLflow's
/// `traces/get` answers: ids as base64, times as int64 text, attributes
/// typed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OtlpSpan {
    #[serde(default)]
    pub trace_id: String,
    #[serde(default)]
    pub span_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent_span_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub start_time_unix_nano: String,
    #[serde(default)]
    pub end_time_unix_nano: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<OtlpAttribute>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<OtlpEvent>,
    #[serde(default)]
    pub status: OtlpStatus,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OtlpAttribute {
    pub key: String,
    /// An OTLP `AnyValue`: `{"string_value": ..}`, `{"int_value": ..}`, ...
    pub value: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OtlpEvent {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub time_unix_nano: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<OtlpAttribute>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OtlpStatus {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub code: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// A plain JSON value as OTLP's typed `AnyValue`.
pub fn any_value(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::{Value, json};
    match v {
        Value::Null => json!({}),
        Value::Bool(b) => json!({"bool_value": b}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"int_value": n.to_string()}),
        Value::Number(n) => json!({"double_value": n}),
        Value::String(s) => json!({"string_value": s}),
        Value::Array(items) => json!({"array_value": {"values": items.iter().map(any_value).collect::<Vec<_>>()}}),
        Value::Object(map) => {
            let values: Vec<Value> = map.iter().map(|(k, v)| json!({"key": k, "value": any_value(v)})).collect();
            json!({"kvlist_value": {"values": values}})
        }
    }
}

/// `traces.json` keeps each span attribute as JSON text; OTLP types it.
fn attributes_of(map: &std::collections::HashMap<String, serde_json::Value>) -> Vec<OtlpAttribute> {
    let mut out: Vec<OtlpAttribute> = map
        .iter()
        .map(|(key, raw)| {
            let value = match raw {
                serde_json::Value::String(text) => {
                    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.clone()))
                }
                other => other.clone(),
            };
            OtlpAttribute { key: key.clone(), value: any_value(&value) }
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

impl OtlpSpan {
    /// A span of `traces.json` in OTLP's form.
    pub fn from_dict(span: &SpanDict) -> OtlpSpan {
        let status = match &span.status {
            Some(serde_json::Value::Object(s)) => OtlpStatus {
                code: s.get("code").and_then(|c| c.as_str()).unwrap_or_default().to_string(),
                message: s.get("message").and_then(|m| m.as_str()).unwrap_or_default().to_string(),
            },
            _ => OtlpStatus {
                code: match span.status_code.as_deref() {
                    Some("OK") => "STATUS_CODE_OK".into(),
                    Some("ERROR") => "STATUS_CODE_ERROR".into(),
                    _ => String::new(),
                },
                message: String::new(),
            },
        };
        let events = span
            .events
            .iter()
            .map(|e| OtlpEvent {
                name: e.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_string(),
                time_unix_nano: e.get("time_unix_nano").map(|t| t.to_string()).unwrap_or_default(),
                attributes: e
                    .get("attributes")
                    .and_then(|a| a.as_object())
                    .map(|a| a.iter().map(|(k, v)| OtlpAttribute { key: k.clone(), value: any_value(v) }).collect())
                    .unwrap_or_default(),
            })
            .collect();
        OtlpSpan {
            trace_id: span.trace_id.clone().unwrap_or_default(),
            span_id: span.id().to_string(),
            parent_span_id: span.parent_span_id.clone().unwrap_or_default(),
            name: span.name.clone(),
            start_time_unix_nano: span.start_time_unix_nano.to_string(),
            end_time_unix_nano: span.end_time_unix_nano.to_string(),
            attributes: attributes_of(&span.attributes),
            events,
            status,
        }
    }
}

/// `{"trace": {"trace_info": ..}}`: start a trace, get one.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
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
    pub trace_id: Option<String>,
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
    #[serde(default)]
    pub events: Vec<serde_json::Value>,
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

    #[test]
    fn a_traces_json_span_becomes_an_otlp_span() {
        let doc: SpansDoc = serde_json::from_str(
            r#"{"spans": [{"trace_id": "AAE=", "span_id": "AQI=", "parent_span_id": null, "name": "agent",
                "start_time_unix_nano": 10, "end_time_unix_nano": 25,
                "status": {"code": "STATUS_CODE_OK", "message": ""},
                "attributes": {"mlflow.spanType": "\"AGENT\"", "mlflow.spanInputs": "{\"q\": 1}"},
                "events": [{"name": "e", "time_unix_nano": 12, "attributes": {"n": 2.5}}]}]}"#,
        )
        .unwrap();
        let span = OtlpSpan::from_dict(&doc.spans[0]);
        let json = serde_json::to_value(&span).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "trace_id": "AAE=", "span_id": "AQI=", "name": "agent",
                "start_time_unix_nano": "10", "end_time_unix_nano": "25",
                "attributes": [
                    {"key": "mlflow.spanInputs", "value": {"kvlist_value": {"values": [{"key": "q", "value": {"int_value": "1"}}]}}},
                    {"key": "mlflow.spanType", "value": {"string_value": "AGENT"}},
                ],
                "events": [{"name": "e", "time_unix_nano": "12", "attributes": [{"key": "n", "value": {"double_value": 2.5}}]}],
                "status": {"code": "STATUS_CODE_OK"},
            })
        );
    }
}
