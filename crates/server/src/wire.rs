//! Domain → MLflow JSON. Field names and presence follow MLflow's
//! `message_to_json`: unset optionals and empty lists are left out.

use almanac_core::model::{DatasetInput, Experiment, Metric, MetricPoint, Param, Run, RunInfo, Tag};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// NaN and ±infinity as the strings protobuf's JSON mapping uses.
pub fn float(v: f64) -> Value {
    if v.is_nan() {
        Value::from("NaN")
    } else if v.is_infinite() {
        Value::from(if v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        serde_json::Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null)
    }
}

fn key_values<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Array(items.map(|(k, v)| json!({"key": k, "value": v})).collect())
}

fn tags(t: &[Tag]) -> Value {
    key_values(t.iter().map(|t| (t.key.as_str(), t.value.as_str())))
}

fn params(p: &[Param]) -> Value {
    key_values(p.iter().map(|p| (p.key.as_str(), p.value.as_str())))
}

/// Inserts `value` unless it is an empty list.
fn put(map: &mut Map<String, Value>, key: &str, value: Value) {
    if !matches!(&value, Value::Array(a) if a.is_empty()) {
        map.insert(key.to_string(), value);
    }
}

pub fn experiment(e: &Experiment) -> Value {
    let mut m = Map::new();
    m.insert("experiment_id".into(), e.experiment_id.clone().into());
    m.insert("name".into(), e.name.clone().into());
    m.insert("artifact_location".into(), e.artifact_location.clone().into());
    m.insert("lifecycle_stage".into(), e.lifecycle_stage.as_str().into());
    m.insert("last_update_time".into(), e.last_update_time.into());
    m.insert("creation_time".into(), e.creation_time.into());
    put(&mut m, "tags", tags(&e.tags));
    Value::Object(m)
}

pub fn point(key: &str, p: &MetricPoint) -> Value {
    json!({"key": key, "value": float(p.value), "timestamp": p.timestamp, "step": p.step})
}

fn metric(m: &Metric) -> Value {
    point(&m.key, &m.point)
}

pub fn run_info(i: &RunInfo) -> Value {
    let mut m = Map::new();
    m.insert("run_uuid".into(), i.run_id.clone().into());
    m.insert("experiment_id".into(), i.experiment_id.clone().into());
    m.insert("run_name".into(), i.run_name.clone().into());
    m.insert("user_id".into(), i.user_id.clone().into());
    m.insert("status".into(), i.status.as_str().into());
    m.insert("start_time".into(), i.start_time.into());
    if let Some(end) = i.end_time.filter(|e| *e != 0) {
        m.insert("end_time".into(), end.into());
    }
    if !i.artifact_uri.is_empty() {
        m.insert("artifact_uri".into(), i.artifact_uri.clone().into());
    }
    m.insert("lifecycle_stage".into(), i.lifecycle_stage.as_str().into());
    m.insert("run_id".into(), i.run_id.clone().into());
    Value::Object(m)
}

fn dataset_input(d: &DatasetInput) -> Value {
    let mut ds = Map::new();
    ds.insert("name".into(), d.dataset.name.clone().into());
    ds.insert("digest".into(), d.dataset.digest.clone().into());
    ds.insert("source_type".into(), d.dataset.source_type.clone().into());
    ds.insert("source".into(), d.dataset.source.clone().into());
    if let Some(s) = &d.dataset.schema {
        ds.insert("schema".into(), s.clone().into());
    }
    if let Some(p) = &d.dataset.profile {
        ds.insert("profile".into(), p.clone().into());
    }
    let mut m = Map::new();
    put(&mut m, "tags", tags(&d.tags));
    m.insert("dataset".into(), Value::Object(ds));
    Value::Object(m)
}

pub fn run(r: &Run) -> Value {
    let mut data = Map::new();
    put(&mut data, "metrics", Value::Array(r.metrics.iter().map(metric).collect()));
    put(&mut data, "params", params(&r.params));
    put(&mut data, "tags", tags(&r.tags));
    let mut inputs = Map::new();
    put(&mut inputs, "dataset_inputs", Value::Array(r.inputs.iter().map(dataset_input).collect()));
    put(&mut inputs, "model_inputs", Value::Array(r.model_inputs.iter().map(|id| json!({"model_id": id})).collect()));
    let mut outputs = Map::new();
    put(
        &mut outputs,
        "model_outputs",
        Value::Array(r.outputs.iter().map(|(id, step)| json!({"model_id": id, "step": step})).collect()),
    );
    json!({"info": run_info(&r.info), "data": data, "inputs": inputs, "outputs": outputs})
}

/// One metric point on the wire, serialized without building a JSON tree.
#[derive(Serialize)]
pub struct PointOut<'a> {
    key: &'a str,
    #[serde(serialize_with = "almanac_core::model::float_text::serialize")]
    value: f64,
    timestamp: i64,
    step: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<&'a str>,
}

impl<'a> PointOut<'a> {
    pub fn new(key: &'a str, p: &MetricPoint, run_id: Option<&'a str>) -> Self {
        PointOut { key, value: p.value, timestamp: p.timestamp, step: p.step, run_id }
    }
}

/// `{"metrics": [...], "next_page_token": ...}`, empty parts left out.
#[derive(Serialize)]
pub struct Points<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<PointOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

pub fn logged_model(m: &almanac_core::model::LoggedModel) -> Value {
    let mut info = Map::new();
    info.insert("model_id".into(), m.model_id.clone().into());
    info.insert("experiment_id".into(), m.experiment_id.clone().into());
    info.insert("name".into(), m.name.clone().into());
    info.insert("creation_timestamp_ms".into(), m.creation_timestamp.into());
    info.insert("last_updated_timestamp_ms".into(), m.last_updated_timestamp.into());
    info.insert("artifact_uri".into(), m.artifact_location.clone().into());
    info.insert("status".into(), m.status.wire_name().into());
    if let Some(t) = &m.model_type {
        info.insert("model_type".into(), t.clone().into());
    }
    if let Some(r) = &m.source_run_id {
        info.insert("source_run_id".into(), r.clone().into());
    }
    put(&mut info, "tags", tags(&m.tags));
    let mut data = Map::new();
    put(&mut data, "params", params(&m.params));
    let metrics = m
        .metrics
        .iter()
        .map(|(run_id, metric)| {
            let mut v = point(&metric.key, &metric.point);
            if let Some(d) = &metric.dataset_name {
                v["dataset_name"] = d.clone().into();
            }
            if let Some(d) = &metric.dataset_digest {
                v["dataset_digest"] = d.clone().into();
            }
            v["model_id"] = m.model_id.clone().into();
            v["run_id"] = run_id.clone().into();
            v
        })
        .collect();
    put(&mut data, "metrics", Value::Array(metrics));
    json!({"info": info, "data": data})
}

/// A model version as MLflow's registry emits it: `version` is a string,
/// absent optional strings are `""`, and `aliases` appear only on
/// single-version answers.
pub fn model_version(v: &almanac_core::model::ModelVersion, with_aliases: bool) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), v.name.clone().into());
    m.insert("version".into(), v.version.to_string().into());
    m.insert("creation_timestamp".into(), v.creation_timestamp.into());
    m.insert("last_updated_timestamp".into(), v.last_updated_timestamp.into());
    m.insert("current_stage".into(), v.current_stage.clone().into());
    m.insert("description".into(), v.description.clone().unwrap_or_default().into());
    m.insert("source".into(), v.source.clone().into());
    m.insert("run_id".into(), v.run_id.clone().unwrap_or_default().into());
    m.insert("status".into(), "READY".into());
    put(&mut m, "tags", tags(&v.tags));
    m.insert("run_link".into(), v.run_link.clone().unwrap_or_default().into());
    if with_aliases {
        put(&mut m, "aliases", Value::Array(v.aliases.iter().map(|a| Value::from(a.clone())).collect()));
    }
    Value::Object(m)
}

pub fn registered_model(r: &almanac_core::model::RegisteredModel) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), r.name.clone().into());
    m.insert("creation_timestamp".into(), r.creation_timestamp.into());
    m.insert("last_updated_timestamp".into(), r.last_updated_timestamp.into());
    if let Some(d) = r.description.as_ref().filter(|d| !d.is_empty()) {
        m.insert("description".into(), d.clone().into());
    }
    put(&mut m, "latest_versions", Value::Array(r.latest_versions.iter().map(|v| model_version(v, false)).collect()));
    put(&mut m, "tags", tags(&r.tags));
    put(
        &mut m,
        "aliases",
        Value::Array(r.aliases.iter().map(|(a, v)| json!({"alias": a, "version": v.to_string()})).collect()),
    );
    Value::Object(m)
}
