//! The error every front end shows: an MLflow error code plus a message.

use std::fmt;

/// MLflow's `ErrorCode` values (databricks.proto) that Almanac produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InternalError,
    BadRequest,
    InvalidParameterValue,
    EndpointNotFound,
    MalformedRequest,
    InvalidState,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
    PermissionDenied,
    RequestLimitExceeded,
    NotImplemented,
    TemporarilyUnavailable,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InternalError => "INTERNAL_ERROR",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::InvalidParameterValue => "INVALID_PARAMETER_VALUE",
            ErrorCode::EndpointNotFound => "ENDPOINT_NOT_FOUND",
            ErrorCode::MalformedRequest => "MALFORMED_REQUEST",
            ErrorCode::InvalidState => "INVALID_STATE",
            ErrorCode::ResourceAlreadyExists => "RESOURCE_ALREADY_EXISTS",
            ErrorCode::ResourceDoesNotExist => "RESOURCE_DOES_NOT_EXIST",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::RequestLimitExceeded => "REQUEST_LIMIT_EXCEEDED",
            ErrorCode::NotImplemented => "NOT_IMPLEMENTED",
            ErrorCode::TemporarilyUnavailable => "TEMPORARILY_UNAVAILABLE",
        }
    }

    /// The HTTP status MLflow's server answers with for this code
    /// (`mlflow/exceptions.py`).
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InternalError => 500,
            ErrorCode::BadRequest
            | ErrorCode::InvalidParameterValue
            | ErrorCode::MalformedRequest
            | ErrorCode::InvalidState
            | ErrorCode::ResourceAlreadyExists => 400,
            ErrorCode::EndpointNotFound | ErrorCode::ResourceDoesNotExist => 404,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::RequestLimitExceeded => 429,
            ErrorCode::NotImplemented => 501,
            ErrorCode::TemporarilyUnavailable => 503,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classified domain error. Front ends serialize it as `{code, message}`
/// (MLflow's wire calls the first field `error_code`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error { code, message: message.into() }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameterValue, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceDoesNotExist, message)
    }
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceAlreadyExists, message)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
