//! MLflow's artifact proxy (`/api/2.0/mlflow-artifacts/artifacts/...`):
//! streamed uploads and downloads that never hold a whole file in memory.

use std::io;

use almanac_api::{ApiError, App, ErrorCode};
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use axum::Router;
use axum::routing::get;

use crate::input::Input;
use crate::reply::{api_error, json_response};

/// Mounts the artifact routes: MLflow's `mlflow-artifacts` proxy, the
/// downloads MLflow's UI makes, and `server-info`, which the client reads
/// before proxied downloads.
pub fn mount(mut router: Router<App>) -> Router<App> {
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
        .route("/get-artifact", get(get_run_artifact))
        .route("/model-versions/get-artifact", get(get_model_version_artifact));
    for prefix in ["/api/2.0/mlflow", "/ajax-api/2.0/mlflow"] {
        router = router
            .route(&format!("{prefix}/get-trace-artifact"), get(get_trace_artifact))
            .route(&format!("{prefix}/upload-artifact"), axum::routing::post(upload_from_ui))
            .route(&format!("{prefix}/logged-models/{{model_id}}/artifacts/files"), get(get_logged_model_artifact));
    }
    for prefix in ["/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts"] {
        router = router
            .route(&format!("{prefix}/artifacts"), get(list))
            .route(&format!("{prefix}/artifacts/{{*path}}"), get(download).put(upload).delete(delete));
        // As MLflow's server over a local artifact folder: no multipart
        // uploads. The client, asked for one (MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD),
        // falls back to a single PUT when it reads this exact message.
        for action in ["create", "complete", "abort"] {
            router = router.route(
                &format!("{prefix}/mpu/{action}/{{*path}}"),
                axum::routing::post(|| async {
                    api_error(ApiError { code: ErrorCode::NotImplemented, message: MULTIPART_UNSUPPORTED.into() })
                }),
            );
        }
    }
    router
}

/// The message `mlflow`'s HTTP artifact client matches to fall back from a
/// multipart upload to a single PUT.
pub const MULTIPART_UNSUPPORTED: &str = "Multipart upload is not supported for the current artifact repository";

/// How many body chunks may wait between the network and the disk: this
/// bounds an upload's memory whatever the file's size.
const UPLOAD_QUEUE: usize = 16;

/// An upload's chunks as they arrive from the async side. Small chunks that
/// are already waiting are joined, so the file gets fewer, larger writes;
/// a large chunk is handed on where it lies.
struct ChannelChunks {
    rx: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    joined: Vec<u8>,
}

/// Chunks smaller than this are joined with those already queued behind them.
const JOIN_BELOW: usize = 64 * 1024;

impl almanac_api::Chunks for ChannelChunks {
    fn next_chunk(&mut self) -> io::Result<Option<&[u8]>> {
        let first = match self.rx.blocking_recv() {
            Some(chunk) => chunk?,
            None => return Ok(None),
        };
        if first.len() >= JOIN_BELOW {
            self.current = first;
            return Ok(Some(&self.current));
        }
        self.joined.clear();
        self.joined.extend_from_slice(&first);
        while self.joined.len() < 4 * JOIN_BELOW {
            match self.rx.try_recv() {
                Ok(chunk) => self.joined.extend_from_slice(&chunk?),
                Err(_) => break,
            }
        }
        Ok(Some(&self.joined))
    }
}

pub async fn upload(State(app): State<App>, Path(path): Path<String>, headers: HeaderMap, body: Body) -> Response {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let (tx, rx) = tokio::sync::mpsc::channel(UPLOAD_QUEUE);
    let writer = tokio::task::spawn_blocking(move || {
        app.put_artifact_chunks(&path, ChannelChunks { rx, current: Bytes::new(), joined: Vec::new() }, declared)
    });
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let failed = chunk.is_err();
        let item = chunk.map_err(|e| io::Error::new(io::ErrorKind::ConnectionAborted, e.to_string()));
        // The writer stops early on a bad path; then there is no one to send to.
        if tx.send(item).await.is_err() || failed {
            break;
        }
    }
    drop(tx);
    match writer.await {
        Ok(Ok(())) => json_response(StatusCode::OK, &almanac_wire::Empty {}),
        Ok(Err(e)) => api_error(e),
        Err(e) => api_error(ApiError { code: ErrorCode::InternalError, message: format!("upload task failed: {e}") }),
    }
}

pub async fn download(State(app): State<App>, Path(path): Path<String>) -> Response {
    let opened = tokio::task::spawn_blocking(move || app.open_artifact(&path)).await;
    let (file, size) = match opened {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => return api_error(e),
        Err(e) => return api_error(ApiError { code: ErrorCode::InternalError, message: e.to_string() }),
    };
    let stream = tokio_util::io::ReaderStream::with_capacity(tokio::fs::File::from_std(file), 256 * 1024);
    let mut response = Body::from_stream(stream).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    response
}

/// MLflow's UI downloads: `GET /get-artifact?run_id=R&path=P` and
/// `GET /model-versions/get-artifact?name=N&version=V&path=P`, one file each.
pub async fn get_run_artifact(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    download_located(app, query, |app, input| {
        let run = app.run(&input.run_id()?)?;
        app.artifact_under(&run.info.artifact_uri, &input.req_str("path")?)
    })
    .await
}

pub async fn get_model_version_artifact(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    download_located(app, query, |app, input| {
        let version = input.req_str("version")?;
        let version = version
            .parse::<i64>()
            .map_err(|_| almanac_core::Error::invalid(format!("Model version must be an integer, got '{version}'")))?;
        let root = app.model_version_download_uri(&input.req_str("name")?, version)?;
        app.artifact_under(&root, &input.req_str("path")?)
    })
    .await
}

/// MLflow UI's route for a logged model's file:
/// `GET /ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files?artifact_file_path=P`.
pub async fn get_logged_model_artifact(
    State(app): State<App>,
    Path(model_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    download_located(app, query, move |app, input| {
        let path = input.opt_str("artifact_file_path")?.filter(|p| !p.is_empty()).ok_or_else(|| {
            ApiError::from(almanac_core::Error::new(
                ErrorCode::BadRequest,
                "Request must include the \"artifact_file_path\" query parameter.",
            ))
        })?;
        let model = app.logged_model(&model_id, false)?;
        app.artifact_under(&model.artifact_location, &path)
    })
    .await
}

/// MLflow UI's route for a trace's spans:
/// `GET /ajax-api/2.0/mlflow/get-trace-artifact?request_id=T`, the trace's
/// `traces.json`.
pub async fn get_trace_artifact(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    download_located(app, query, |app, input| {
        let trace_id = input.opt_str("request_id")?.filter(|p| !p.is_empty()).ok_or_else(|| {
            ApiError::from(almanac_core::Error::new(
                ErrorCode::BadRequest,
                "Request must include the \"request_id\" query parameter.",
            ))
        })?;
        let info = app.trace_info(&trace_id)?;
        app.spans_path(&info)?.ok_or_else(|| {
            ApiError::from(almanac_core::Error::not_found(format!("Trace {trace_id} has no spans stored.")))
        })
    })
    .await
}

/// The largest file MLflow's UI may upload in one request.
const UI_UPLOAD_MAX: usize = 10 * 1024 * 1024;

/// MLflow UI's upload: `POST /ajax-api/2.0/mlflow/upload-artifact?run_uuid=R&path=P`,
/// the file's bytes as the body, at most 10 MB, into the run's artifacts.
pub async fn upload_from_ui(State(app): State<App>, RawQuery(query): RawQuery, body: Body) -> Response {
    let refuse =
        |message: &str| api_error(ApiError { code: ErrorCode::InvalidParameterValue, message: message.to_string() });
    // `Input` stays on this side of the await: it is not `Send`.
    let (run_id, path) = {
        let input = Input::from_query(query.as_deref().unwrap_or(""));
        let run_id = match input.opt_str("run_uuid") {
            Ok(Some(id)) if !id.is_empty() => id,
            Ok(_) => return refuse("Request must specify run_uuid."),
            Err(e) => return api_error(e),
        };
        let path = match input.opt_str("path") {
            Ok(Some(p)) if !p.is_empty() => p,
            Ok(_) => return refuse("Request must specify path."),
            Err(e) => return api_error(e),
        };
        (run_id, path)
    };
    let bytes = match axum::body::to_bytes(body, UI_UPLOAD_MAX).await {
        Ok(b) => b,
        Err(_) => return refuse("Artifact size is too large. Max size is 10MB."),
    };
    if bytes.is_empty() {
        return refuse("Request must specify data.");
    }
    let stored = tokio::task::spawn_blocking(move || {
        let run = app.run(&run_id)?;
        let target = app.artifact_under(&run.info.artifact_uri, &path)?;
        app.put_artifact(&target, &bytes[..], Some(bytes.len() as u64))
    })
    .await;
    match stored {
        Ok(Ok(())) => json_response(StatusCode::OK, &almanac_wire::Empty {}),
        Ok(Err(e)) => api_error(e),
        Err(e) => api_error(ApiError { code: ErrorCode::InternalError, message: e.to_string() }),
    }
}

/// Streams the file `locate` finds from the query's parameters.
async fn download_located(
    app: App,
    query: Option<String>,
    locate: impl FnOnce(&App, &Input) -> Result<String, ApiError> + Send + 'static,
) -> Response {
    let located = {
        let app = app.clone();
        tokio::task::spawn_blocking(move || locate(&app, &Input::from_query(query.as_deref().unwrap_or("")))).await
    };
    match located {
        Ok(Ok(path)) => download(State(app), Path(path)).await,
        Ok(Err(e)) => api_error(e),
        Err(e) => api_error(ApiError { code: ErrorCode::InternalError, message: e.to_string() }),
    }
}

pub async fn delete(State(app): State<App>, Path(path): Path<String>) -> Response {
    match tokio::task::spawn_blocking(move || app.delete_artifacts(&path)).await {
        Ok(Ok(())) => json_response(StatusCode::OK, &almanac_wire::Empty {}),
        Ok(Err(e)) => api_error(e),
        Err(e) => api_error(ApiError { code: ErrorCode::InternalError, message: e.to_string() }),
    }
}

/// `GET .../mlflow-artifacts/artifacts?path=DIR`: the folder's entries by name.
pub async fn list(State(app): State<App>, RawQuery(query): RawQuery) -> Response {
    let listed = tokio::task::spawn_blocking(move || {
        let input = Input::from_query(query.as_deref().unwrap_or(""));
        let dir = input.opt_str("path")?.unwrap_or_default();
        app.list_artifacts(&dir)
    })
    .await;
    match listed {
        Ok(Ok(entries)) => {
            let files = entries.iter().map(|e| almanac_wire::FileInfo::new(&e.name, e.is_dir, e.size)).collect();
            json_response(StatusCode::OK, &almanac_wire::ArtifactListing { files, ..Default::default() })
        }
        Ok(Err(e)) => api_error(e),
        Err(e) => api_error(ApiError { code: ErrorCode::InternalError, message: e.to_string() }),
    }
}
