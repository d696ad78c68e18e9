//! The wire format, driven through the real router in-process.

use almanac_api::{App, FixedClock, SeededEntropy};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

struct Fixture {
    _dir: tempfile::TempDir,
    router: axum::Router,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let app = App::open(dir.path(), Box::new(FixedClock(1000)), Box::new(SeededEntropy::new(1))).unwrap();
    Fixture { _dir: dir, router: super::router(app) }
}

impl Fixture {
    async fn send(&self, method: &str, uri: &str, body: Body) -> (StatusCode, Value) {
        let req =
            Request::builder().method(method).uri(uri).header("content-type", "application/json").body(body).unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        let value =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send("POST", &format!("/api/2.0/mlflow{path}"), Body::from(body.to_string())).await
    }
    async fn get(&self, path_and_query: &str) -> (StatusCode, Value) {
        self.send("GET", &format!("/api/2.0/mlflow{path_and_query}"), Body::empty()).await
    }
}

#[tokio::test]
async fn nan_and_infinity_round_trip() {
    let f = fixture();
    let (_, created) = f.post("/runs/create", json!({"experiment_id": "0", "start_time": 5})).await;
    let run_id = created["run"]["info"]["run_id"].as_str().unwrap().to_string();
    for (i, v) in ["NaN", "Infinity", "-Infinity"].iter().enumerate() {
        let (status, _) = f
            .post("/runs/log-metric", json!({"run_id": run_id, "key": format!("m{i}"), "value": v, "timestamp": 1}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, run) = f.get(&format!("/runs/get?run_id={run_id}")).await;
    let values: Vec<&Value> = run["run"]["data"]["metrics"].as_array().unwrap().iter().map(|m| &m["value"]).collect();
    assert_eq!(values, [&json!("NaN"), &json!("Infinity"), &json!("-Infinity")]);
    assert_eq!(run["run"]["info"]["start_time"], json!(5), "int64 as a JSON number");
}

#[tokio::test]
async fn client_mistakes_get_mlflow_codes_never_500() {
    let f = fixture();
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(10 * 1024 * 1024));
    let cases: Vec<(&str, &str, Body, StatusCode, &str)> = vec![
        (
            "POST",
            "/api/2.0/mlflow/experiments/create",
            Body::from("{not json"),
            StatusCode::BAD_REQUEST,
            "MALFORMED_REQUEST",
        ),
        (
            "POST",
            "/api/2.0/mlflow/experiments/create",
            Body::from("{}"),
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "POST",
            "/api/2.0/mlflow/experiments/create",
            Body::from(r#"{"name": 5}"#),
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "POST",
            "/api/2.0/mlflow/experiments/create",
            Body::from(big),
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "GET",
            "/api/2.0/mlflow/experiments/get?experiment_id=42",
            Body::empty(),
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "GET",
            "/api/2.0/mlflow/runs/get?run_id=nope",
            Body::empty(),
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "POST",
            "/api/2.0/mlflow/runs/log-metric",
            Body::from(r#"{"run_id": "nope", "key": "a", "value": 1, "timestamp": 1}"#),
            StatusCode::NOT_FOUND,
            "RESOURCE_DOES_NOT_EXIST",
        ),
        (
            "POST",
            "/api/2.0/mlflow/runs/log-metric",
            Body::from(r#"{"run_id": "x", "key": "a", "value": "high", "timestamp": 1}"#),
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
        ),
        (
            "POST",
            "/api/2.0/mlflow/runs/search",
            Body::from(r#"{"experiment_ids": ["0"], "filter": "metrics.a >"}"#),
            StatusCode::BAD_REQUEST,
            "INVALID_PARAMETER_VALUE",
        ),
        ("GET", "/api/2.0/mlflow/nope", Body::empty(), StatusCode::NOT_FOUND, "ENDPOINT_NOT_FOUND"),
        ("GET", "/api/2.0/mlflow/runs/create", Body::empty(), StatusCode::METHOD_NOT_ALLOWED, "ENDPOINT_NOT_FOUND"),
    ];
    for (method, uri, body, status, code) in cases {
        let (got_status, got) = f.send(method, uri, body).await;
        assert_eq!((got_status, got["error_code"].as_str()), (status, Some(code)), "{method} {uri}: {got}");
        assert!(got["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn get_parameters_come_from_the_query_string() {
    let f = fixture();
    let (_, created) = f.post("/runs/create", json!({"experiment_id": "0"})).await;
    let run_id = created["run"]["info"]["run_id"].as_str().unwrap().to_string();
    let metrics: Vec<Value> = (0..30).map(|s| json!({"key": "l", "value": s, "timestamp": s, "step": s})).collect();
    f.post("/runs/log-batch", json!({"run_id": run_id, "metrics": metrics})).await;
    let (status, history) = f.get(&format!("/metrics/get-history?run_uuid={run_id}&metric_key=l&max_results=10")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history["metrics"].as_array().unwrap().len(), 10);
    assert!(history["next_page_token"].is_string());
    let (_, bulk) = f
        .get(&format!("/metrics/get-history-bulk-interval?run_ids={run_id}&run_ids=other&metric_key=l&max_results=6"))
        .await;
    let steps: Vec<i64> = bulk["metrics"].as_array().unwrap().iter().map(|m| m["step"].as_i64().unwrap()).collect();
    assert!(steps.len() <= 6 && steps[0] == 0 && *steps.last().unwrap() == 29, "{steps:?}");
    let (_, found) =
        f.send("GET", "/ajax-api/2.0/mlflow/experiments/search?max_results=5&view_type=ALL", Body::empty()).await;
    assert_eq!(found["experiments"][0]["name"], json!("Default"));
}

#[tokio::test]
async fn empty_results_are_empty_objects() {
    let f = fixture();
    let (status, v) = f.post("/runs/search", json!({"experiment_ids": ["0"]})).await;
    assert_eq!((status, v), (StatusCode::OK, json!({})));
    let (_, v) = f.get("/metrics/get-history?run_id=missing&metric_key=x").await;
    assert_eq!(v, json!({}));
}

/// The log-batch fast path and the general path must store the same thing
/// and refuse the same things with the same messages.
#[tokio::test]
async fn log_batch_fast_and_general_paths_agree() {
    let f = fixture();
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (_, created) = f.post("/runs/create", json!({"experiment_id": "0", "start_time": 5})).await;
        runs.push(created["run"]["info"]["run_id"].as_str().unwrap().to_string());
    }
    let metrics = json!([
        {"key": "loss", "value": 0.5, "timestamp": 10, "step": 1},
        {"key": "loss", "value": 1, "timestamp": 11},
        {"key": "val/acc", "value": -2.5e-3, "timestamp": 12, "step": 7},
    ]);
    // Metrics alone take the fast path; an empty params list sends the same
    // batch the general way.
    let fast = f.post("/runs/log-batch", json!({"run_id": runs[0], "metrics": metrics})).await;
    let general = f.post("/runs/log-batch", json!({"run_id": runs[1], "metrics": metrics, "params": []})).await;
    assert_eq!(fast, general);
    for key in ["loss", "val/acc"] {
        let (_, a) = f.get(&format!("/metrics/get-history?run_id={}&metric_key={key}", runs[0])).await;
        let (_, b) = f.get(&format!("/metrics/get-history?run_id={}&metric_key={key}", runs[1])).await;
        assert!(!a["metrics"].as_array().unwrap().is_empty());
        assert_eq!(a, b, "{key}");
    }
    // Refusals read the same whichever path the body would have taken.
    for bad in [
        json!({"run_id": runs[0], "metrics": [{"key": "bad key$", "value": 1.0, "timestamp": 1}]}),
        json!({"run_id": "nope", "metrics": [{"key": "k", "value": 1.0, "timestamp": 1}]}),
        json!({"run_id": runs[0], "metrics": [{"key": "k", "value": 1.0}]}),
        json!({"run_id": runs[0], "metrics": [{"key": "", "value": 1.0, "timestamp": 1}]}),
    ] {
        let mut with_params = bad.clone();
        with_params["params"] = json!([]);
        let (status, one) = f.post("/runs/log-batch", bad.clone()).await;
        let (_, other) = f.post("/runs/log-batch", with_params).await;
        assert!(status.is_client_error(), "{bad}: {status}");
        assert_eq!(one, other, "{bad}");
    }
}

#[tokio::test]
async fn fields_are_checked_in_mlflow_s_order_and_words() {
    let f = fixture();
    // run_id comes before key and value, as in MLflow's schemas.
    for path in ["/runs/log-parameter", "/runs/set-tag", "/runs/log-metric"] {
        let (status, v) = f.post(path, json!({"key": "k", "value": {"not": "a value"}})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        let message = v["message"].as_str().unwrap();
        assert!(message.starts_with("Missing value for required parameter 'run_id'."), "{path}: {message}");
    }
    let (status, v) = f.get("/metrics/get-history-bulk-interval").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().starts_with("Missing value for required parameter 'run_ids'."), "{v}");
}
