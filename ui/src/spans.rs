//! A trace's spans (its `traces.json`) as the rows of a tree: parents
//! before children, siblings in start order, with each span's type,
//! duration, status, inputs and outputs. Pure, so it is tested natively.
//!
//! Both forms MLflow has written are read: MLflow 3's OpenTelemetry names
//! (`span_id`, `parent_span_id`, `*_unix_nano`, `status.code`) and MLflow
//! 2.x's (`context.span_id`, `parent_id`, `start_time`, `status_code`).

use std::collections::HashMap;

use almanac_wire::traces::{SpanDict as Span, SpansDoc as Doc};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct SpanRow {
    pub depth: usize,
    pub name: String,
    pub span_type: String,
    pub duration_ms: f64,
    pub ok: bool,
    pub inputs: String,
    pub outputs: String,
}

/// MLflow keeps each attribute as JSON text; this is its value, compact.
fn attribute(span: &Span, key: &str) -> Option<Value> {
    match span.attributes.get(key)? {
        Value::String(text) => Some(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))),
        other => Some(other.clone()),
    }
}

fn shown(v: Option<Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    }
}

pub fn span_rows(traces_json: &str) -> Result<Vec<SpanRow>, String> {
    let doc: Doc = serde_json::from_str(traces_json).map_err(|e| format!("unreadable spans: {e}"))?;
    let ids: std::collections::HashSet<&str> = doc.spans.iter().map(Span::id).collect();
    let mut children: HashMap<Option<&str>, Vec<&Span>> = HashMap::new();
    for span in &doc.spans {
        // A parent that is not in the file makes its child a root.
        let parent = span.parent_span_id.as_deref().filter(|p| ids.contains(p));
        children.entry(parent).or_default().push(span);
    }
    for list in children.values_mut() {
        list.sort_by_key(|s| (s.start_time_unix_nano, s.name.clone()));
    }
    let mut rows = Vec::new();
    let mut stack: Vec<(&Span, usize)> = children.get(&None).into_iter().flatten().rev().map(|s| (*s, 0)).collect();
    // A malformed file may repeat ids into a cycle: each span shows once.
    let mut seen = std::collections::HashSet::new();
    while let Some((span, depth)) = stack.pop() {
        if !seen.insert(span as *const Span) {
            continue;
        }
        rows.push(SpanRow {
            depth,
            name: span.name.clone(),
            span_type: shown(attribute(span, "mlflow.spanType")),
            duration_ms: span.end_time_unix_nano.saturating_sub(span.start_time_unix_nano) as f64 / 1e6,
            ok: !span.failed(),
            inputs: shown(attribute(span, "mlflow.spanInputs")),
            outputs: shown(attribute(span, "mlflow.spanOutputs")),
        });
        if let Some(kids) = children.get(&Some(span.id())) {
            stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_form_a_tree_in_start_order() {
        let doc = r#"{"spans": [
            {"span_id": "c", "parent_span_id": "a", "name": "add", "start_time_unix_nano": 30, "end_time_unix_nano": 40,
             "status": {"code": "STATUS_CODE_ERROR"}, "attributes": {"mlflow.spanType": "\"TOOL\"", "mlflow.spanInputs": "{\"a\": 1}"}},
            {"span_id": "a", "parent_span_id": null, "name": "agent", "start_time_unix_nano": 0, "end_time_unix_nano": 2000000,
             "attributes": {"mlflow.spanType": "\"AGENT\"", "mlflow.spanOutputs": "{\"answer\": 5}"}},
            {"span_id": "b", "parent_span_id": "a", "name": "retrieve", "start_time_unix_nano": 10, "end_time_unix_nano": 20},
            {"span_id": "d", "parent_span_id": "gone", "name": "orphan", "start_time_unix_nano": 5}
        ]}"#;
        let rows = span_rows(doc).unwrap();
        let shape: Vec<(usize, &str)> = rows.iter().map(|r| (r.depth, r.name.as_str())).collect();
        assert_eq!(shape, [(0, "agent"), (1, "retrieve"), (1, "add"), (0, "orphan")]);
        assert_eq!((rows[0].span_type.as_str(), rows[0].duration_ms), ("AGENT", 2.0));
        assert_eq!(rows[0].outputs, r#"{"answer":5}"#);
        assert_eq!((rows[2].inputs.as_str(), rows[2].ok), (r#"{"a":1}"#, false));
        assert!(span_rows("not json").is_err());
        let cycle = r#"{"spans": [
            {"span_id": "x", "parent_span_id": null, "name": "root"},
            {"span_id": "x", "parent_span_id": "x", "name": "loop"}
        ]}"#;
        assert_eq!(span_rows(cycle).unwrap().len(), 2, "a repeated id ends, each span once");
    }

    #[test]
    fn mlflow_2_span_files_read_the_same() {
        let doc = r#"{"spans": [
            {"name": "tool", "context": {"span_id": "0x02", "trace_id": "0x01"}, "parent_id": "0x01a",
             "start_time": 1500000, "end_time": 2000000, "status_code": "ERROR", "status_message": "boom",
             "attributes": {"mlflow.spanType": "\"TOOL\"", "mlflow.spanInputs": "{\"q\": 2}"}, "events": []},
            {"name": "agent", "context": {"span_id": "0x01a", "trace_id": "0x01"}, "parent_id": null,
             "start_time": 1000000, "end_time": 4000000, "status_code": "OK",
             "attributes": {"mlflow.spanType": "\"AGENT\"", "mlflow.spanOutputs": "4"}, "events": []}
        ]}"#;
        let rows = span_rows(doc).unwrap();
        let shape: Vec<(usize, &str, bool)> = rows.iter().map(|r| (r.depth, r.name.as_str(), r.ok)).collect();
        assert_eq!(shape, [(0, "agent", true), (1, "tool", false)]);
        assert_eq!((rows[0].duration_ms, rows[0].outputs.as_str()), (3.0, "4"));
        assert_eq!((rows[1].span_type.as_str(), rows[1].inputs.as_str()), ("TOOL", r#"{"q":2}"#));
    }
}
