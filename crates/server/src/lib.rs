//! Almanac's HTTP layer: MLflow's REST wire format over [`almanac_api::App`].
//!
//! The layer is thin on purpose: [`routes`] maps each MLflow route to app
//! calls, [`input`] reads requests with MLflow's leniency, [`wire`] writes
//! MLflow's JSON. No tracking logic lives here.

mod artifacts;
mod input;
mod review;
mod routes;
mod traces;
mod ui;

use std::future::Future;

use almanac_api::{ApiError, App, ErrorCode};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawPathParams, RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, on};

pub use input::Input;

/// The MLflow release whose tracking API this server speaks. The client
/// reads `/version` only to decide how to send trace spans.
pub const MLFLOW_COMPAT_VERSION: &str = "3.17.2";

/// Bodies above this are refused with 400 before they are read whole.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Every path prefix MLflow serves the tracking API under.
const PREFIXES: [&str; 2] = ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"];

/// Where Almanac's own endpoints live: what MLflow's API has no route for.
const ALMANAC_PREFIXES: [&str; 2] = ["/api/2.0/almanac", "/ajax-api/2.0/almanac"];

/// Mounts a route table under `prefix`: one method router per path, holding
/// every method the table lists for it.
fn mount(
    mut router: Router<App>,
    prefix: &str,
    table: &[(&'static str, axum::routing::MethodFilter, routes::Handler)],
) -> Router<App> {
    let mut by_path: Vec<(&str, axum::routing::MethodRouter<App>)> = Vec::new();
    for &(path, filter, handler) in table {
        let fast = routes::fast_path(path);
        let one =
            on(filter, move |state: State<App>, method: Method, params: RawPathParams, query: RawQuery, body: Body| {
                call(state, method, params, query, body, handler, fast)
            });
        match by_path.iter_mut().find(|(p, _)| *p == path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(one),
            None => by_path.push((path, one)),
        }
    }
    for (path, methods) in by_path {
        let methods = methods.fallback(|method: Method| async move {
            error_response(
                ErrorCode::EndpointNotFound,
                StatusCode::METHOD_NOT_ALLOWED,
                format!("Method {method} is not allowed here"),
            )
        });
        router = router.route(&format!("{prefix}{path}"), methods);
    }
    router
}

pub fn router(app: App) -> Router {
    let mut router = Router::new()
        .route("/", get(ui::index))
        .route("/assets/{name}", get(ui::asset))
        .route("/health", get(|| async { "OK" }))
        .route("/version", get(|| async { MLFLOW_COMPAT_VERSION }));
    for prefix in ["/api/3.0/mlflow", "/ajax-api/3.0/mlflow"] {
        router = router.route(
            &format!("{prefix}/server-info"),
            get(|| async {
                json_response(
                    StatusCode::OK,
                    &almanac_wire::ServerInfo { store_type: "SqlStore".into(), workspaces_enabled: false },
                )
            }),
        );
    }
    router = router
        .route("/get-artifact", get(artifacts::get_run_artifact))
        .route("/model-versions/get-artifact", get(artifacts::get_model_version_artifact));
    for prefix in ["/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts"] {
        router = router.route(&format!("{prefix}/artifacts"), get(artifacts::list)).route(
            &format!("{prefix}/artifacts/{{*path}}"),
            get(artifacts::download).put(artifacts::upload).delete(artifacts::delete),
        );
        // As MLflow's server over a local artifact folder: no multipart
        // uploads. The client, asked for one (MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD),
        // falls back to a single PUT when it reads this exact message.
        for action in ["create", "complete", "abort"] {
            router = router.route(
                &format!("{prefix}/mpu/{action}/{{*path}}"),
                axum::routing::post(|| async {
                    api_error(ApiError {
                        code: ErrorCode::NotImplemented,
                        message: artifacts::MULTIPART_UNSUPPORTED.into(),
                    })
                }),
            );
        }
    }
    for prefix in PREFIXES {
        router = mount(router, prefix, routes::TRACKING);
        router = mount(router, prefix, traces::V2);
    }
    for prefix in ["/api/3.0/mlflow", "/ajax-api/3.0/mlflow"] {
        router = mount(router, prefix, traces::V3);
    }
    router = router.route(
        "/v1/traces",
        axum::routing::post(|| async {
            json_response(
                StatusCode::NOT_IMPLEMENTED,
                &almanac_wire::ErrorBody {
                    error_code: ErrorCode::NotImplemented.as_str().into(),
                    message: traces::OTLP_UNSUPPORTED.into(),
                    detail: Some(traces::OTLP_UNSUPPORTED.into()),
                },
            )
        }),
    );
    for prefix in ALMANAC_PREFIXES {
        router = mount(router, prefix, routes::ALMANAC);
    }
    router
        .fallback(|method: Method, uri: axum::http::Uri| async move {
            error_response(
                ErrorCode::EndpointNotFound,
                StatusCode::NOT_FOUND,
                format!("No endpoint {method} {}", uri.path()),
            )
        })
        .with_state(app)
}

async fn call(
    State(app): State<App>,
    method: Method,
    params: RawPathParams,
    RawQuery(query): RawQuery,
    body: Body,
    handler: routes::Handler,
    fast: Option<routes::FastHandler>,
) -> Response {
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return api_error(ApiError {
                code: ErrorCode::InvalidParameterValue,
                message: format!("Request body exceeds the limit of {MAX_BODY_BYTES} bytes"),
            });
        }
    };
    let query = query.unwrap_or_default();
    let path_params: Vec<(String, String)> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let outcome = tokio::task::spawn_blocking(move || {
        // A route's fast path takes the common shape of its body straight
        // into typed fields; anything else goes the general way below.
        if let Some(fast) = fast
            && method == Method::POST
            && let Some(result) = fast(&app, &bytes)
        {
            return result;
        }
        let input = if method == Method::GET && !query.is_empty() {
            Ok(Input::from_query(&query))
        } else {
            Input::from_json(&bytes)
        };
        input.and_then(|mut input| {
            input.set_path_params(path_params);
            handler(&app, &input)
        })
    })
    .await;
    match outcome {
        Ok(Ok(body)) => json_bytes(StatusCode::OK, body),
        Ok(Err(e)) => api_error(e),
        Err(join) => {
            tracing::error!(error = %join, "request handler panicked");
            api_error(ApiError { code: ErrorCode::InternalError, message: "internal error".into() })
        }
    }
}

pub(crate) fn json_response(status: StatusCode, value: &impl serde::Serialize) -> Response {
    json_bytes(status, serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()))
}

fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

pub(crate) fn api_error(e: ApiError) -> Response {
    let status = StatusCode::from_u16(e.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        tracing::error!(code = %e.code, message = %e.message, "request failed");
    } else {
        tracing::debug!(code = %e.code, message = %e.message, "request refused");
    }
    error_response(e.code, status, e.message)
}

fn error_response(code: ErrorCode, status: StatusCode, message: String) -> Response {
    json_response(status, &almanac_wire::ErrorBody { error_code: code.as_str().into(), message, detail: None })
}

/// Serves `app` on `listener` until `shutdown` resolves, then finishes the
/// requests in flight. Every acknowledged write is already committed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app)).with_graceful_shutdown(shutdown).await
}

#[cfg(test)]
mod tests;
