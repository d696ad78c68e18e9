//! MLflow 3's trace endpoints: the record a client sends when a trace ends
//! (`POST /api/3.0/mlflow/traces`), reading and searching records, tags and
//! deletes. Spans travel as the trace's `traces.json` artifact; OTLP span
//! export (`/v1/traces`) is answered "not supported", which the client
//! takes as its cue to upload that file instead.

use almanac_api::{ApiError, App, Error, SearchTraces, TraceSelection};
use almanac_core::model::Tag;
use almanac_core::trace::{self, TraceInfo};
use almanac_wire::traces::{OtlpSpan, SpansDoc, Trace, TraceInfoV3, TraceReply, TracesDeleted, TracesPage};
use axum::routing::MethodFilter;

use crate::input::Input;
use crate::reply::{Route, empty, reply};

/// Under `/api/3.0/mlflow`.
pub const V3: &[Route] = &[
    ("/traces", MethodFilter::POST, start_trace),
    ("/traces/search", MethodFilter::POST.or(MethodFilter::GET), search_traces),
    ("/traces/delete-traces", MethodFilter::POST, delete_traces),
    ("/traces/get", MethodFilter::GET, get_trace),
    ("/traces/{trace_id}", MethodFilter::GET, get_trace_info),
    ("/traces/{trace_id}/tags", MethodFilter::PATCH, set_trace_tag),
    ("/traces/{trace_id}/tags", MethodFilter::DELETE, delete_trace_tag),
];

/// Under `/api/2.0/mlflow`: what the client still sends to the v2 paths.
pub const V2: &[Route] = &[
    ("/traces/{trace_id}/tags", MethodFilter::PATCH, set_trace_tag),
    ("/traces/{trace_id}/tags", MethodFilter::DELETE, delete_trace_tag),
    ("/traces/delete-traces", MethodFilter::POST, delete_traces),
];

/// What `/v1/traces` answers: the client looks for this phrase.
pub const OTLP_UNSUPPORTED: &str =
    "REST OTLP span logging is not supported by Almanac: spans are uploaded as the trace's traces.json artifact";

fn pairs(map: Vec<(String, String)>) -> Vec<Tag> {
    map.into_iter().map(|(key, value)| Tag { key, value }).collect()
}

/// A TraceInfoV3 message from the request.
fn trace_info_of(r: &Input) -> Result<TraceInfo, ApiError> {
    let missing = || ApiError::from(Error::invalid("Missing value for required parameter 'trace.trace_info'."));
    let trace = r.object("trace")?.ok_or_else(missing)?;
    let info = trace.object("trace_info")?.ok_or_else(missing)?;
    let experiment_id = info
        .object("trace_location")?
        .and_then(|l| l.object("mlflow_experiment").ok().flatten().map(|e| e.req_str("experiment_id")))
        .transpose()?
        .ok_or_else(|| {
            ApiError::from(Error::invalid(
                "A trace needs trace_location.mlflow_experiment.experiment_id; other locations are not supported.",
            ))
        })?;
    let request_time = info.req_str("request_time")?;
    let request_time_ms = trace::parse_rfc3339_ms(&request_time).ok_or_else(|| {
        ApiError::from(Error::invalid(format!("Invalid request_time '{request_time}': expected an RFC 3339 time")))
    })?;
    let execution_duration_ms = match info.opt_str("execution_duration")? {
        None => None,
        Some(d) => Some(trace::parse_duration_ms(&d).ok_or_else(|| {
            ApiError::from(Error::invalid(format!("Invalid execution_duration '{d}': expected seconds like '0.5s'")))
        })?),
    };
    Ok(TraceInfo {
        trace_id: info.req_str("trace_id")?,
        experiment_id,
        client_request_id: info.opt_str("client_request_id")?,
        request_time_ms,
        execution_duration_ms,
        state: info.opt_str("state")?.unwrap_or_else(|| "STATE_UNSPECIFIED".into()),
        request_preview: info.opt_str("request_preview")?,
        response_preview: info.opt_str("response_preview")?,
        trace_metadata: pairs(info.str_map("trace_metadata")?),
        tags: pairs(info.str_map("tags")?),
    })
}

/// `{"trace": {"trace_info": ..}}` in the trace's own experiment.
fn trace_reply(t: &TraceInfo) -> Result<Vec<u8>, ApiError> {
    reply(&TraceReply { trace: Trace { trace_info: TraceInfoV3::new(t, &t.experiment_id), spans: vec![] } })
}

fn start_trace(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let stored = app.start_trace(trace_info_of(r)?)?;
    trace_reply(&stored)
}

fn get_trace_info(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let info = app.trace_info(&r.req_str("trace_id")?)?;
    trace_reply(&info)
}

/// `traces/get`: the record with its spans in OTLP's form.
fn get_trace(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let (info, spans) = app.trace_with_spans(&r.req_str("trace_id")?)?;
    let spans = match spans {
        None => vec![],
        Some(bytes) => {
            let doc: SpansDoc = serde_json::from_slice(&bytes).map_err(|e| {
                ApiError::from(Error::new(
                    almanac_api::ErrorCode::InternalError,
                    format!("the spans of trace {} cannot be read: {e}", info.trace_id),
                ))
            })?;
            doc.spans.iter().map(OtlpSpan::from_dict).collect()
        }
    };
    reply(&TraceReply { trace: Trace { trace_info: TraceInfoV3::new(&info, &info.experiment_id), spans } })
}

fn search_traces(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let mut experiment_ids = Vec::new();
    for location in r.objects("locations")? {
        match location.object("mlflow_experiment")? {
            Some(e) => experiment_ids.push(e.req_str("experiment_id")?),
            None => {
                return Err(Error::invalid("Only MLFLOW_EXPERIMENT trace locations are supported").into());
            }
        }
    }
    // The v2 form names experiments directly.
    experiment_ids.extend(r.str_list("experiment_ids")?);
    let page = app.search_traces(&SearchTraces {
        experiment_ids,
        filter: r.opt_str("filter")?.unwrap_or_default(),
        order_by: r.str_list("order_by")?,
        max_results: r.opt_i64("max_results")?,
        page_token: r.opt_str("page_token")?,
    })?;
    reply(&TracesPage {
        traces: page.items.iter().map(|t| TraceInfoV3::new(t, &t.experiment_id)).collect(),
        next_page_token: page.next_page_token,
    })
}

fn set_trace_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.set_trace_tag(&r.req_str("trace_id")?, &r.req_str("key")?, &r.opt_str("value")?.unwrap_or_default())?;
    reply(&empty())
}

fn delete_trace_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_trace_tag(&r.req_str("trace_id")?, &r.req_str("key")?)?;
    reply(&empty())
}

fn delete_traces(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let experiment_id = r.req_str("experiment_id")?;
    let ids = {
        let mut ids = r.str_list("request_ids")?;
        ids.extend(r.str_list("trace_ids")?);
        ids
    };
    let max_timestamp = r.opt_i64("max_timestamp_millis")?;
    let selection = match (ids.is_empty(), max_timestamp) {
        (false, None) => TraceSelection::Ids(ids),
        (true, Some(max_timestamp_ms)) => {
            TraceSelection::OlderThan { max_timestamp_ms, max_traces: r.opt_i64("max_traces")?.unwrap_or(i64::MAX) }
        }
        _ => {
            return Err(
                Error::invalid("Exactly one of 'max_timestamp_millis' and 'request_ids' must be specified.").into()
            );
        }
    };
    let deleted = app.delete_traces(&experiment_id, selection)?;
    reply(&TracesDeleted { traces_deleted: deleted as i64 })
}

/// Mounts `/v1/traces`, OTLP span export, answered "not supported" in the
/// words the client looks for, so it uploads `traces.json` instead.
pub fn mount_otlp(router: axum::Router<App>) -> axum::Router<App> {
    router.route(
        "/v1/traces",
        axum::routing::post(|| async {
            crate::reply::json_response(
                axum::http::StatusCode::NOT_IMPLEMENTED,
                &almanac_wire::ErrorBody {
                    error_code: almanac_api::ErrorCode::NotImplemented.as_str().into(),
                    message: OTLP_UNSUPPORTED.into(),
                    detail: Some(OTLP_UNSUPPORTED.into()),
                },
            )
        }),
    )
}
