//! Experiments, runs, params, metrics, tags, datasets and a run's artifact
//! listing: MLflow's tracking routes, each turning its request into app
//! calls and the result into MLflow's JSON.

use almanac_api::{ApiError, App, CreateRun, Error, LogBatch, SearchExperiments, SearchRuns, UpdateRun};
use almanac_core::model::{Dataset, DatasetInput, Metric, MetricPoint, Param, RunStatus, Tag};
use almanac_wire as wire;
use axum::routing::MethodFilter;

use crate::input::{Input, tags_of, view};
use crate::reply::{FastHandler, GET_OR_POST, Route, empty, reply};

/// Under `/api/2.0/mlflow` (and its `/ajax-api` mirror).
pub const ROUTES: &[Route] = &[
    ("/experiments/create", MethodFilter::POST, create_experiment),
    ("/experiments/get", MethodFilter::GET, get_experiment),
    ("/experiments/get-by-name", MethodFilter::GET, get_experiment_by_name),
    ("/experiments/search", GET_OR_POST, search_experiments),
    ("/experiments/search-datasets", MethodFilter::POST, search_datasets),
    ("/experiments/list", MethodFilter::GET, search_experiments),
    ("/experiments/update", MethodFilter::POST, update_experiment),
    ("/experiments/delete", MethodFilter::POST, delete_experiment),
    ("/experiments/restore", MethodFilter::POST, restore_experiment),
    ("/experiments/set-experiment-tag", MethodFilter::POST, set_experiment_tag),
    ("/experiments/delete-experiment-tag", MethodFilter::POST, delete_experiment_tag),
    ("/runs/create", MethodFilter::POST, create_run),
    ("/runs/get", MethodFilter::GET, get_run),
    ("/runs/update", MethodFilter::POST, update_run),
    ("/runs/delete", MethodFilter::POST, delete_run),
    ("/runs/restore", MethodFilter::POST, restore_run),
    ("/runs/search", MethodFilter::POST, search_runs),
    ("/runs/log-metric", MethodFilter::POST, log_metric),
    ("/runs/log-parameter", MethodFilter::POST, log_param),
    ("/runs/set-tag", MethodFilter::POST, set_tag),
    ("/runs/delete-tag", MethodFilter::POST, delete_tag),
    ("/runs/log-batch", MethodFilter::POST, log_batch),
    ("/runs/log-inputs", MethodFilter::POST, log_inputs),
    ("/artifacts/list", MethodFilter::GET, list_run_artifacts),
    ("/runs/outputs", MethodFilter::POST, log_outputs),
    ("/runs/log-model", MethodFilter::POST, log_model),
    ("/metrics/get-history", MethodFilter::GET, get_metric_history),
    ("/metrics/get-history-bulk", MethodFilter::GET, get_metric_history_bulk),
    ("/metrics/get-history-bulk-interval", MethodFilter::GET, get_metric_history_bulk_interval),
];

/// The fast path for a route, if it has one.
pub fn fast_path(path: &str) -> Option<FastHandler> {
    match path {
        "/runs/log-batch" => Some(log_batch_of_metrics),
        _ => None,
    }
}

/// A log-batch of metrics alone, every number a JSON number: what the
/// mlflow client sends while training. Deserialized straight into metrics,
/// without building a JSON tree of a thousand small maps first.
fn log_batch_of_metrics(app: &App, body: &[u8]) -> Option<Result<Vec<u8>, ApiError>> {
    let batch: wire::requests::MetricsBatch = serde_json::from_slice(body).ok()?;
    if batch.run_id.is_empty() || batch.metrics.iter().any(|m| m.key.is_empty()) {
        return None;
    }
    let metrics = batch
        .metrics
        .into_iter()
        .map(|m| Metric {
            key: m.key.into_owned(),
            point: MetricPoint { value: m.value, timestamp: m.timestamp, step: m.step },
            model_id: None,
            dataset_name: None,
            dataset_digest: None,
        })
        .collect();
    let run_id = batch.run_id.into_owned();
    Some(app.log_batch(LogBatch { run_id, metrics, params: vec![], tags: vec![] }).and_then(|()| reply(&empty())))
}

fn create_experiment(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let id =
        app.create_experiment(&r.req_str("name")?, r.opt_str("artifact_location")?.as_deref(), tags_of(r, "tags")?)?;
    reply(&wire::ExperimentCreated { experiment_id: id })
}

fn get_experiment(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    reply(&wire::ExperimentReply { experiment: (&app.experiment(&r.req_str("experiment_id")?)?).into() })
}

fn get_experiment_by_name(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let experiment = app.experiment_by_name(&r.req_str("experiment_name")?)?;
    reply(&wire::ExperimentReply { experiment: (&experiment).into() })
}

fn search_experiments(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let page = app.search_experiments(&SearchExperiments {
        filter: r.opt_str("filter")?.unwrap_or_default(),
        order_by: r.str_list("order_by")?,
        view: view(r, "view_type")?,
        max_results: r.opt_i64("max_results")?,
        page_token: r.opt_str("page_token")?,
    })?;
    reply(&wire::ExperimentsPage {
        experiments: page.items.iter().map(wire::Experiment::from).collect(),
        next_page_token: page.next_page_token,
    })
}

/// MLflow UI's route: the datasets the experiments' runs logged.
fn search_datasets(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let found = app.search_datasets(&r.str_list("experiment_ids")?)?;
    let dataset_summaries = found
        .into_iter()
        .map(|d| wire::tracking::DatasetSummary {
            experiment_id: d.experiment_id,
            name: d.name,
            digest: d.digest,
            context: d.context,
        })
        .collect();
    reply(&wire::tracking::DatasetSummaries { dataset_summaries })
}

fn update_experiment(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.rename_experiment(&r.req_str("experiment_id")?, &r.req_str("new_name")?)?;
    reply(&empty())
}

fn delete_experiment(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_experiment(&r.req_str("experiment_id")?)?;
    reply(&empty())
}

fn restore_experiment(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.restore_experiment(&r.req_str("experiment_id")?)?;
    reply(&empty())
}

fn set_experiment_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let tag = Tag { key: r.req_str("key")?, value: r.opt_str("value")?.unwrap_or_default() };
    app.set_experiment_tag(&r.req_str("experiment_id")?, tag)?;
    reply(&empty())
}

fn delete_experiment_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_experiment_tag(&r.req_str("experiment_id")?, &r.req_str("key")?)?;
    reply(&empty())
}

fn create_run(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let run = app.create_run(CreateRun {
        experiment_id: r.opt_str("experiment_id")?,
        user_id: r.opt_str("user_id")?,
        run_name: r.opt_str("run_name")?,
        start_time: r.opt_i64("start_time")?,
        tags: tags_of(r, "tags")?,
    })?;
    reply(&wire::RunReply { run: (&run).into() })
}

fn get_run(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    reply(&wire::RunReply { run: (&app.run(&r.run_id()?)?).into() })
}

fn update_run(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let status = match r.opt_str("status")? {
        None => None,
        Some(s) => Some(RunStatus::parse(&s).ok_or_else(|| {
            ApiError::from(Error::invalid(format!(
                "Invalid value '{s}' for parameter 'status': use RUNNING, SCHEDULED, FINISHED, FAILED or KILLED"
            )))
        })?),
    };
    let info = app.update_run(UpdateRun {
        run_id: r.run_id()?,
        status,
        end_time: r.opt_i64("end_time")?,
        run_name: r.opt_str("run_name")?,
    })?;
    reply(&wire::RunInfoReply { run_info: (&info).into() })
}

fn delete_run(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_run(&r.req_str("run_id")?)?;
    reply(&empty())
}

fn restore_run(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.restore_run(&r.req_str("run_id")?)?;
    reply(&empty())
}

fn search_runs(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let page = app.search_runs(&SearchRuns {
        experiment_ids: r.str_list("experiment_ids")?,
        filter: r.opt_str("filter")?.unwrap_or_default(),
        order_by: r.str_list("order_by")?,
        view: view(r, "run_view_type")?,
        max_results: r.opt_i64("max_results")?,
        page_token: r.opt_str("page_token")?,
    })?;
    reply(&wire::RunsPage {
        runs: page.items.iter().map(wire::Run::from).collect(),
        next_page_token: page.next_page_token,
    })
}

fn metric_of(m: &Input) -> Result<Metric, ApiError> {
    Ok(Metric {
        key: m.req_str("key")?,
        point: MetricPoint {
            value: m.req_f64("value")?,
            timestamp: m.req_i64("timestamp")?,
            step: m.opt_i64("step")?.unwrap_or(0),
        },
        model_id: m.opt_str("model_id")?.filter(|s| !s.is_empty()),
        dataset_name: m.opt_str("dataset_name")?.filter(|s| !s.is_empty()),
        dataset_digest: m.opt_str("dataset_digest")?.filter(|s| !s.is_empty()),
    })
}

// MLflow checks a request's fields in its schema's order, run_id first,
// and names the first bad one: so do these.
fn log_metric(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let run_id = r.run_id()?;
    let metric = metric_of(r)?;
    app.log_metric(&run_id, metric)?;
    reply(&empty())
}

fn log_param(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let run_id = r.run_id()?;
    let param = Param { key: r.req_str("key")?, value: r.opt_str("value")?.unwrap_or_default() };
    app.log_param(&run_id, param)?;
    reply(&empty())
}

fn set_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let run_id = r.run_id()?;
    let tag = Tag { key: r.req_str("key")?, value: r.opt_str("value")?.unwrap_or_default() };
    app.set_tag(&run_id, tag)?;
    reply(&empty())
}

fn delete_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_tag(&r.req_str("run_id")?, &r.req_str("key")?)?;
    reply(&empty())
}

fn log_batch(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let run_id = r.run_id()?;
    let metrics = r.objects("metrics")?.iter().map(metric_of).collect::<Result<_, _>>()?;
    let params = r
        .objects("params")?
        .iter()
        .map(|p| Ok(Param { key: p.req_str("key")?, value: p.opt_str("value")?.unwrap_or_default() }))
        .collect::<Result<_, ApiError>>()?;
    let tags = tags_of(r, "tags")?;
    app.log_batch(LogBatch { run_id, metrics, params, tags })?;
    reply(&empty())
}

fn log_inputs(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let run_id = r.req_str("run_id")?;
    let datasets = r
        .objects("datasets")?
        .iter()
        .map(|d| {
            let ds = d.object("dataset")?.ok_or_else(|| {
                ApiError::from(Error::invalid("Missing value for required parameter 'datasets[].dataset'."))
            })?;
            Ok(DatasetInput {
                dataset: Dataset {
                    name: ds.req_str("name")?,
                    digest: ds.req_str("digest")?,
                    source_type: ds.req_str("source_type")?,
                    source: ds.req_str("source")?,
                    schema: ds.opt_str("schema")?,
                    profile: ds.opt_str("profile")?,
                },
                tags: tags_of(d, "tags")?,
            })
        })
        .collect::<Result<_, ApiError>>()?;
    let models = r.objects("models")?.iter().map(|m| m.req_str("model_id")).collect::<Result<Vec<_>, ApiError>>()?;
    app.log_inputs(&run_id, datasets, models)?;
    reply(&empty())
}

fn get_metric_history(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let key = r.req_str("metric_key")?;
    let page =
        app.metric_history(&r.run_id()?, &key, r.opt_i64("max_results")?, r.opt_str("page_token")?.as_deref())?;
    // Histories run to millions of points: serialize them straight from the
    // points, not through an intermediate JSON tree.
    let metrics = page.items.iter().map(|p| wire::MetricRef::new(&key, p, None)).collect();
    reply(&wire::MetricRefs { metrics, next_page_token: page.next_page_token })
}

/// MLflow's UI route: every point of one metric over several runs.
fn get_metric_history_bulk(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let key = r.opt_str("metric_key")?;
    let points = app.metric_history_bulk(&r.str_list("run_id")?, key.as_deref(), r.opt_i64("max_results")?)?;
    let metrics = points.iter().map(|p| wire::MetricRef::new(&p.key, &p.point, Some(&p.run_id))).collect();
    reply(&wire::MetricsBulk { metrics })
}

fn get_metric_history_bulk_interval(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let run_ids = r.req_str_list("run_ids")?;
    let key = r.req_str("metric_key")?;
    let steps = match (r.opt_i64("start_step")?, r.opt_i64("end_step")?) {
        (Some(s), Some(e)) => Some((s, e)),
        (None, None) => None,
        _ => {
            return Err(
                Error::invalid("If either start step or end step are specified, both must be specified.").into()
            );
        }
    };
    let points = app.metric_history_bulk_interval(&run_ids, &key, steps, r.opt_i64("max_results")?)?;
    let metrics = points.iter().map(|p| wire::MetricRef::new(&p.key, &p.point, Some(&p.run_id))).collect();
    reply(&wire::MetricRefs { metrics, next_page_token: None })
}

fn list_run_artifacts(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let listing = app.list_run_artifacts(&r.run_id()?, r.opt_str("path")?.as_deref())?;
    let files = listing.files.iter().map(|(path, e)| wire::FileInfo::new(path, e.is_dir, e.size)).collect();
    reply(&wire::ArtifactListing { root_uri: listing.root_uri, files, next_page_token: None })
}

fn log_outputs(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let models = r
        .objects("models")?
        .iter()
        .map(|m| Ok((m.req_str("model_id")?, m.opt_i64("step")?.unwrap_or(0))))
        .collect::<Result<Vec<_>, ApiError>>()?;
    app.log_run_outputs(&r.req_str("run_id")?, models)?;
    reply(&empty())
}

fn log_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.record_logged_model(&r.run_id()?, &r.req_str("model_json")?)?;
    reply(&empty())
}
