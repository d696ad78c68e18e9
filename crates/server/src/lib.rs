//! Almanac's HTTP layer: MLflow's REST wire format over [`almanac_api::App`].
//!
//! The layer is thin on purpose: each feature module (`tracking`, `models`,
//! `registry`, `traces`, `artifacts`, `review`) owns its route table and
//! maps each route to app calls; `input` reads requests with MLflow's
//! leniency; answers are `almanac-wire`'s shapes, written by `reply`. This
//! file only mounts the tables. No tracking logic lives here.

mod artifacts;
mod input;
mod models;
mod registry;
mod reply;
mod review;
mod traces;
mod tracking;
mod ui;

use std::future::Future;

use almanac_api::{ApiError, App, ErrorCode};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawPathParams, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;

use crate::reply::{api_error, error_response, json_bytes};
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
fn mount(mut router: Router<App>, prefix: &str, table: &[reply::Route]) -> Router<App> {
    let mut by_path: Vec<(&str, axum::routing::MethodRouter<App>)> = Vec::new();
    for &(path, filter, handler) in table {
        let fast = tracking::fast_path(path);
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
    for prefix in PREFIXES {
        for table in [tracking::ROUTES, models::ROUTES, registry::ROUTES, traces::V2] {
            router = mount(router, prefix, table);
        }
    }
    for prefix in ["/api/3.0/mlflow", "/ajax-api/3.0/mlflow"] {
        router = mount(router, prefix, traces::V3);
    }
    for prefix in ALMANAC_PREFIXES {
        router = mount(router, prefix, review::ROUTES);
    }
    router = artifacts::mount(router);
    router = traces::mount_otlp(router);
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
    handler: reply::Handler,
    fast: Option<reply::FastHandler>,
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
