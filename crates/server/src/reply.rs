//! What every route shares: the handler types, the route table's row, and
//! how answers and errors are written. A leaf: it imports no sibling.

use almanac_api::{ApiError, App, ErrorCode};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodFilter;

use crate::input::Input;

pub const GET_OR_POST: MethodFilter = MethodFilter::GET.or(MethodFilter::POST);

/// A route's function: the request's fields in, the serialized JSON reply
/// (or the error to send) out.
pub type Handler = fn(&App, &Input) -> Result<Vec<u8>, ApiError>;

/// A route's fast path: `None` when the body is not in the one shape it
/// reads, and the general handler then answers (with its exact messages).
pub type FastHandler = fn(&App, &[u8]) -> Option<Result<Vec<u8>, ApiError>>;

/// One row of a feature's route table: path (relative to its prefix),
/// methods, handler.
pub type Route = (&'static str, MethodFilter, Handler);

pub(crate) fn reply(value: &impl serde::Serialize) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError {
        code: almanac_api::ErrorCode::InternalError,
        message: format!("cannot encode reply: {e}"),
    })
}

/// `{}`, the answer of every call that returns nothing.
pub(crate) fn empty() -> almanac_wire::Empty {
    almanac_wire::Empty {}
}

pub(crate) fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response {
    json_bytes(status, serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()))
}

pub(crate) fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// An error as MLflow writes it, with the HTTP status of its code.
pub(crate) fn api_error(e: ApiError) -> Response {
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        tracing::error!(code = %e.code, message = %e.message, "request failed");
    } else {
        tracing::debug!(code = %e.code, message = %e.message, "request refused");
    }
    error_response(e.code, status, e.message)
}

pub(crate) fn error_response(code: ErrorCode, status: StatusCode, message: String) -> Response {
    json_response(status, &almanac_wire::ErrorBody { error_code: code.as_str().into(), message, detail: None })
}
