//! Traces (MLflow 3's GenAI tracing): one record per request to an LLM app,
//! with metadata and tags. The spans themselves are a JSON file
//! (`traces.json`) in the trace's artifact folder, written by the client.
//!
//! This module holds the record, its validation, and trace search: MLflow's
//! filter grammar over trace fields, evaluated in memory.

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::error::Result;
use crate::model::Tag;
use crate::search::{Attribute, CompareOp, Filter, Key, Literal, OrderBy};

/// The tag naming where the client uploads the trace's spans.
pub const ARTIFACT_LOCATION_TAG: &str = "mlflow.artifactLocation";
/// The tag holding the trace's name (its root span's name).
pub const NAME_TAG: &str = "mlflow.traceName";
/// The metadata key naming the run a trace was logged under.
pub const SOURCE_RUN_METADATA: &str = "mlflow.sourceRun";
/// The file inside the trace's artifact folder that holds the spans.
pub const SPANS_FILE: &str = "traces.json";

/// MLflow's trace states.
pub const STATES: [&str; 4] = ["STATE_UNSPECIFIED", "OK", "ERROR", "IN_PROGRESS"];

/// Previews longer than this are refused; MLflow's client cuts them at 1,000.
pub const MAX_PREVIEW_CHARS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceInfo {
    pub trace_id: String,
    pub experiment_id: String,
    pub client_request_id: Option<String>,
    pub request_time_ms: i64,
    pub execution_duration_ms: Option<i64>,
    pub state: String,
    pub request_preview: Option<String>,
    pub response_preview: Option<String>,
    pub trace_metadata: Vec<Tag>,
    pub tags: Vec<Tag>,
}

impl TraceInfo {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }

    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.trace_metadata.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
}

/// Milliseconds since the epoch from an RFC 3339 time as protobuf's JSON
/// writes a Timestamp (`2026-11-27T00:49:21.364Z`, any offset).
pub fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    // Digits only, and years a calendar can hold: no signs, no overflow.
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
    };
    let mut d = date.splitn(3, '-');
    let (y, m, day) = (num(d.next()?)?, num(d.next()?)?, num(d.next()?)?);
    let zone_at = rest.find(['Z', 'z', '+', '-'])?;
    let (clock, zone) = rest.split_at(zone_at);
    let mut c = clock.splitn(3, ':');
    let (h, min) = (num(c.next()?)?, num(c.next()?)?);
    let seconds = c.next()?;
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
    let s = num(whole)?;
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms: i64 = format!("{fraction:0<3}").get(..3)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || s > 60 {
        return None;
    }
    let offset_min = match zone {
        "Z" | "z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (oh, om) = z[1..].split_once(':')?;
            sign * (num(oh)? * 60 + num(om)?)
        }
    };
    let days = days_from_civil(y, m, day);
    Some((((days * 24 + h) * 60 + min - offset_min) * 60 + s) * 1000 + ms)
}

/// The RFC 3339 UTC text of a time in milliseconds, as protobuf writes it.
pub fn format_rfc3339_ms(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// The longest trace duration accepted: a year.
pub const MAX_DURATION_MS: i64 = 366 * 86_400_000;

/// Milliseconds from protobuf's JSON Duration (`"0.033s"`, `"12s"`).
pub fn parse_duration_ms(text: &str) -> Option<i64> {
    let seconds: f64 = text.strip_suffix('s')?.parse().ok()?;
    let ms = seconds * 1000.0;
    (ms.is_finite() && (0.0..=MAX_DURATION_MS as f64).contains(&ms)).then(|| ms.round() as i64)
}

pub fn format_duration_ms(ms: i64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

// Howard Hinnant's civil-date algorithms (proleptic Gregorian calendar).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The artifact folder of a trace, relative to the artifact root, the
/// layout MLflow's own server uses.
pub fn artifact_folder(experiment_id: &str, trace_id: &str) -> String {
    format!("{experiment_id}/traces/{trace_id}/artifacts")
}

/// A trace id names a folder, so it is one path segment of plain characters.
pub fn validate_trace_id(trace_id: &str) -> Result<()> {
    let ok = !trace_id.is_empty()
        && trace_id.len() <= 128
        && trace_id != "."
        && trace_id != ".."
        && trace_id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!("Invalid trace id '{trace_id}': use up to 128 letters, digits, '-', '_' and '.'")))
    }
}

pub fn validate_trace(info: &TraceInfo) -> Result<()> {
    validate_trace_id(&info.trace_id)?;
    if !STATES.contains(&info.state.as_str()) {
        return Err(Error::invalid(format!("Invalid trace state '{}'. Valid states are {STATES:?}", info.state)));
    }
    if info.request_time_ms < 0 || info.execution_duration_ms.is_some_and(|d| !(0..=MAX_DURATION_MS).contains(&d)) {
        return Err(Error::invalid("A trace's request time cannot be negative, nor its duration outside 0 to a year"));
    }
    for (what, preview) in [("request", &info.request_preview), ("response", &info.response_preview)] {
        if preview.as_ref().is_some_and(|p| p.chars().count() > MAX_PREVIEW_CHARS) {
            return Err(Error::invalid(format!("The {what} preview is longer than {MAX_PREVIEW_CHARS} characters")));
        }
    }
    for tag in info.tags.iter().chain(&info.trace_metadata) {
        validate_trace_tag(&tag.key, &tag.value)?;
    }
    Ok(())
}

pub fn validate_trace_tag(key: &str, value: &str) -> Result<()> {
    if key.is_empty() || key.chars().count() > 250 {
        return Err(Error::invalid(format!("Invalid trace tag key '{key}': 1 to 250 characters")));
    }
    if value.chars().count() > MAX_TRACE_TAG_VALUE_CHARS {
        return Err(Error::invalid(format!(
            "The value of trace tag '{key}' is longer than {MAX_TRACE_TAG_VALUE_CHARS} characters"
        )));
    }
    Ok(())
}

pub const MAX_TRACE_TAG_VALUE_CHARS: usize = 8000;

/// As MLflow does, a trace tag's value over the limit is cut to it rather
/// than refused (metadata is not: MLflow refuses it too).
pub fn fit_trace_tags(info: &mut TraceInfo) {
    for tag in &mut info.tags {
        crate::validation::truncate_chars(&mut tag.value, MAX_TRACE_TAG_VALUE_CHARS);
    }
}

/// Whether `info` passes `filter` (MLflow's trace search syntax, parsed for
/// [`crate::search::Target::Traces`]).
pub fn matches(filter: &Filter, info: &TraceInfo) -> bool {
    match filter {
        Filter::And(parts) => parts.iter().all(|f| matches(f, info)),
        Filter::Or(parts) => parts.iter().any(|f| matches(f, info)),
        Filter::Compare(c) => compare(field(&c.key, info), c.op, &c.value),
    }
}

/// A trace's value for a search key.
enum Field<'a> {
    Text(Option<&'a str>),
    Number(Option<i64>),
}

fn field<'a>(key: &Key, info: &'a TraceInfo) -> Field<'a> {
    match key {
        Key::Tag(k) => Field::Text(info.tag(k)),
        Key::Metadata(k) => Field::Text(info.metadata(k)),
        Key::Attribute(a) => match a {
            Attribute::Status => Field::Text(Some(&info.state)),
            Attribute::StartTime => Field::Number(Some(info.request_time_ms)),
            Attribute::ExecutionTime => Field::Number(info.execution_duration_ms),
            Attribute::EndTime => {
                Field::Number(info.execution_duration_ms.map(|d| info.request_time_ms.saturating_add(d)))
            }
            Attribute::Name => Field::Text(info.tag(NAME_TAG)),
            Attribute::TraceId => Field::Text(Some(&info.trace_id)),
            Attribute::ClientRequestId => Field::Text(info.client_request_id.as_deref()),
            Attribute::RunId => Field::Text(info.metadata(SOURCE_RUN_METADATA)),
            Attribute::ExperimentId => Field::Text(Some(&info.experiment_id)),
            _ => Field::Text(None),
        },
        _ => Field::Text(None),
    }
}

fn like(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if case_insensitive {
        (pattern.to_lowercase().chars().collect(), text.to_lowercase().chars().collect())
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    // Iterative wildcard match: '%' any run, '_' one character.
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '%')
}

fn compare(field: Field<'_>, op: CompareOp, value: &Literal) -> bool {
    let text = match &field {
        Field::Text(t) => t.map(str::to_string),
        Field::Number(n) => n.map(|n| n.to_string()),
    };
    match op {
        CompareOp::IsNull => return text.is_none(),
        CompareOp::IsNotNull => return text.is_some(),
        _ => {}
    }
    let Some(text) = text else { return false };
    match (&field, value) {
        (Field::Number(Some(n)), Literal::Number(v)) => {
            let n = *n as f64;
            match op {
                CompareOp::Eq => n == *v,
                CompareOp::Ne => n != *v,
                CompareOp::Lt => n < *v,
                CompareOp::Le => n <= *v,
                CompareOp::Gt => n > *v,
                CompareOp::Ge => n >= *v,
                _ => false,
            }
        }
        (_, Literal::String(v)) => match op {
            CompareOp::Eq => text == *v,
            CompareOp::Ne => text != *v,
            CompareOp::Lt => text < *v,
            CompareOp::Le => text <= *v,
            CompareOp::Gt => text > *v,
            CompareOp::Ge => text >= *v,
            CompareOp::Like => like(v, &text, false),
            CompareOp::ILike => like(v, &text, true),
            _ => false,
        },
        (_, Literal::List(items)) => match op {
            CompareOp::In => items.contains(&text),
            CompareOp::NotIn => !items.contains(&text),
            _ => false,
        },
        _ => false,
    }
}

/// Sorts traces by `order` (default: newest request first), then by id so
/// pages are stable.
pub fn sort(traces: &mut [TraceInfo], order: &[OrderBy]) {
    traces.sort_by(|a, b| {
        for o in order {
            let ord = match (field(&o.key, a), field(&o.key, b)) {
                (Field::Number(x), Field::Number(y)) => x.cmp(&y),
                (x, y) => text_of(x).cmp(&text_of(y)),
            };
            let ord = if o.ascending { ord } else { ord.reverse() };
            if ord.is_ne() {
                return ord;
            }
        }
        if order.is_empty() {
            let ord = b.request_time_ms.cmp(&a.request_time_ms);
            if ord.is_ne() {
                return ord;
            }
        }
        a.trace_id.cmp(&b.trace_id)
    });
}

fn text_of(f: Field<'_>) -> Option<String> {
    match f {
        Field::Text(t) => t.map(str::to_string),
        Field::Number(n) => n.map(|n| n.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{Target, parse_filter, parse_order_by};

    fn trace(id: &str, time: i64, state: &str, name: &str, tags: &[(&str, &str)]) -> TraceInfo {
        let mut all: Vec<Tag> = tags.iter().map(|(k, v)| Tag { key: k.to_string(), value: v.to_string() }).collect();
        all.push(Tag { key: NAME_TAG.into(), value: name.into() });
        TraceInfo {
            trace_id: id.into(),
            experiment_id: "1".into(),
            client_request_id: None,
            request_time_ms: time,
            execution_duration_ms: Some(time / 10),
            state: state.into(),
            request_preview: None,
            response_preview: None,
            trace_metadata: vec![Tag { key: SOURCE_RUN_METADATA.into(), value: format!("run-{id}") }],
            tags: all,
        }
    }

    #[test]
    fn filters_select_the_traces_mlflow_would() {
        let traces = [
            trace("tr-a", 1000, "OK", "agent", &[("env", "prod")]),
            trace("tr-b", 2000, "ERROR", "agent", &[("env", "dev")]),
            trace("tr-c", 3000, "OK", "retriever", &[]),
        ];
        for (filter, expected) in [
            ("status = 'OK'", vec!["tr-a", "tr-c"]),
            ("attributes.status = 'ERROR'", vec!["tr-b"]),
            ("timestamp_ms > 1500", vec!["tr-b", "tr-c"]),
            ("execution_time_ms <= 200", vec!["tr-a", "tr-b"]),
            ("tags.env = 'prod'", vec!["tr-a"]),
            ("tags.env != 'prod'", vec!["tr-b"]),
            ("name = 'agent' AND status = 'OK'", vec!["tr-a"]),
            ("trace.name LIKE 'retr%'", vec!["tr-c"]),
            ("name ILIKE 'AGENT'", vec!["tr-a", "tr-b"]),
            ("metadata.`mlflow.sourceRun` = 'run-tr-b'", vec!["tr-b"]),
            ("request_metadata.`mlflow.sourceRun` IN ('run-tr-a', 'run-tr-c')", vec!["tr-a", "tr-c"]),
            ("trace_id = 'tr-c'", vec!["tr-c"]),
        ] {
            let parsed = parse_filter(filter, Target::Traces).unwrap().unwrap();
            let got: Vec<&str> = traces.iter().filter(|t| matches(&parsed, t)).map(|t| t.trace_id.as_str()).collect();
            assert_eq!(got, expected, "{filter}");
        }
    }

    #[test]
    fn bad_trace_filters_are_refused() {
        for filter in ["params.lr = '1'", "metrics.loss < 1", "nonsense = 'x'", "timestamp_ms > 'abc'"] {
            assert!(parse_filter(filter, Target::Traces).is_err(), "{filter}");
        }
    }

    #[test]
    fn ordering_defaults_to_newest_first() {
        let mut traces = vec![trace("tr-a", 1000, "OK", "x", &[]), trace("tr-b", 3000, "OK", "y", &[])];
        sort(&mut traces, &[]);
        assert_eq!(traces[0].trace_id, "tr-b");
        sort(&mut traces, &[parse_order_by("timestamp_ms ASC", Target::Traces).unwrap()]);
        assert_eq!(traces[0].trace_id, "tr-a");
        sort(&mut traces, &[parse_order_by("name DESC", Target::Traces).unwrap()]);
        assert_eq!(traces[0].trace_id, "tr-b");
    }

    #[test]
    fn protobuf_times_and_durations() {
        for (text, ms) in [
            ("1970-01-01T00:00:00Z", Some(0)),
            ("2026-11-27T00:49:21.364Z", Some(1_795_740_561_364)),
            ("2026-11-27T00:49:21.364123Z", Some(1_795_740_561_364)),
            ("2026-11-27T01:49:21.364+01:00", Some(1_795_740_561_364)),
            ("2000-02-29T12:00:00.5Z", Some(951_825_600_500)),
            ("2026-13-01T00:00:00Z", None),
            ("yesterday", None),
            ("99999999999-01-01T00:00:00Z", None),
            ("2026-11-27T00:49:21.-5Z", None),
            ("-2026-11-27T00:49:21Z", None),
        ] {
            assert_eq!(parse_rfc3339_ms(text), ms, "{text}");
        }
        for ms in [0, 951_825_600_500, 1_795_740_561_364] {
            assert_eq!(parse_rfc3339_ms(&format_rfc3339_ms(ms)), Some(ms));
        }
        assert_eq!(format_rfc3339_ms(1_795_740_561_364), "2026-11-27T00:49:21.364Z");
        for (text, ms) in [("0.033s", Some(33)), ("12s", Some(12_000)), ("1.5", None), ("-1s", None), ("1e300s", None)]
        {
            assert_eq!(parse_duration_ms(text), ms, "{text}");
        }
        assert_eq!(format_duration_ms(1_033), "1.033s");
    }

    #[test]
    fn like_matching() {
        for (pattern, text, ci, expected) in [
            ("a%", "abc", false, true),
            ("%c", "abc", false, true),
            ("a_c", "abc", false, true),
            ("a_c", "abbc", false, false),
            ("%b%", "abc", false, true),
            ("A%", "abc", false, false),
            ("A%", "abc", true, true),
            ("", "", false, true),
        ] {
            assert_eq!(like(pattern, text, ci), expected, "{pattern} {text}");
        }
    }

    #[test]
    fn trace_records_are_checked() {
        let ok = trace("tr-0123abcd", 1, "OK", "n", &[]);
        assert!(validate_trace(&ok).is_ok());
        for bad in [
            TraceInfo { trace_id: "../x".into(), ..ok.clone() },
            TraceInfo { trace_id: "".into(), ..ok.clone() },
            TraceInfo { state: "DONE".into(), ..ok.clone() },
            TraceInfo { request_time_ms: -1, ..ok.clone() },
            TraceInfo { request_preview: Some("x".repeat(MAX_PREVIEW_CHARS + 1)), ..ok.clone() },
            TraceInfo { tags: vec![Tag { key: "".into(), value: "v".into() }], ..ok.clone() },
        ] {
            assert!(validate_trace(&bad).is_err(), "{bad:?}");
        }
    }
}
