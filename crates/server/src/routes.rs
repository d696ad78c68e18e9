//! The endpoint table: each MLflow route, its methods, and the function that
//! turns its request into app calls and the result into MLflow JSON.

use almanac_api::{ApiError, App, CreateRun, Error, LogBatch, SearchExperiments, SearchRuns, UpdateRun};
use almanac_core::model::{Dataset, DatasetInput, Metric, MetricPoint, Param, RunStatus, Tag, ViewType};
use axum::routing::MethodFilter;

use crate::input::Input;
use almanac_wire as wire;

/// A route's body: the serialized JSON reply, or the error to send.
const GET_OR_POST: MethodFilter = MethodFilter::GET.or(MethodFilter::POST);

pub type Handler = fn(&App, &Input) -> Result<Vec<u8>, ApiError>;

/// A route's fast path: `None` when the body is not in the one shape it
/// reads, and the general handler then answers (with its exact messages).
pub type FastHandler = fn(&App, &[u8]) -> Option<Result<Vec<u8>, ApiError>>;

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
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Batch<'a> {
        #[serde(borrow)]
        run_id: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        metrics: Vec<Point<'a>>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Point<'a> {
        #[serde(borrow)]
        key: std::borrow::Cow<'a, str>,
        value: f64,
        timestamp: i64,
        #[serde(default)]
        step: i64,
    }
    let batch: Batch = serde_json::from_slice(body).ok()?;
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

/// Almanac's own routes under `/api/2.0/almanac`, for what MLflow lacks.
pub const ALMANAC: &[(&str, MethodFilter, Handler)] = &[
    ("/history", MethodFilter::GET, entity_history),
    ("/experiments/run-counts", MethodFilter::GET, crate::review::run_counts),
    ("/runs/table", MethodFilter::POST, crate::review::run_table),
    ("/runs/keys", GET_OR_POST, crate::review::run_keys),
    ("/runs/groups", MethodFilter::POST, crate::review::run_groups),
    ("/runs/tags", MethodFilter::POST, crate::review::tag_runs),
    ("/views/save", MethodFilter::POST, crate::review::save_view),
    ("/views/list", GET_OR_POST, crate::review::list_views),
    ("/views/get", GET_OR_POST, crate::review::get_view),
    ("/views/delete", MethodFilter::POST.or(MethodFilter::DELETE), crate::review::delete_view),
    ("/annotations/create", MethodFilter::POST, crate::review::annotate),
    ("/annotations/list", GET_OR_POST, crate::review::list_annotations),
    ("/annotations/delete", MethodFilter::POST.or(MethodFilter::DELETE), crate::review::delete_annotation),
];

/// Every tracking route under `/api/2.0/mlflow` (and its `/ajax-api` mirror).
pub const TRACKING: &[(&str, MethodFilter, Handler)] = &[
    ("/experiments/create", MethodFilter::POST, create_experiment),
    ("/experiments/get", MethodFilter::GET, get_experiment),
    ("/experiments/get-by-name", MethodFilter::GET, get_experiment_by_name),
    ("/experiments/search", GET_OR_POST, search_experiments),
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
    ("/logged-models", MethodFilter::POST, create_logged_model),
    ("/logged-models/search", MethodFilter::POST, search_logged_models),
    ("/logged-models/{model_id}", MethodFilter::GET, get_logged_model),
    ("/logged-models/{model_id}", MethodFilter::PATCH, finalize_logged_model),
    ("/logged-models/{model_id}", MethodFilter::DELETE, delete_logged_model),
    ("/logged-models/{model_id}/tags", MethodFilter::PATCH, set_logged_model_tags),
    ("/logged-models/{model_id}/tags/{tag_key}", MethodFilter::DELETE, delete_logged_model_tag),
    ("/logged-models/{model_id}/params", MethodFilter::POST, log_logged_model_params),
    ("/logged-models/{model_id}/artifacts/directories", MethodFilter::GET, list_logged_model_artifacts),
    ("/metrics/get-history", MethodFilter::GET, get_metric_history),
    ("/registered-models/create", MethodFilter::POST, create_registered_model),
    ("/registered-models/get", MethodFilter::GET, get_registered_model),
    ("/registered-models/rename", MethodFilter::POST, rename_registered_model),
    ("/registered-models/update", MethodFilter::PATCH, update_registered_model),
    ("/registered-models/delete", MethodFilter::DELETE, delete_registered_model),
    ("/registered-models/search", MethodFilter::GET, search_registered_models),
    ("/registered-models/get-latest-versions", GET_OR_POST, get_latest_versions),
    ("/registered-models/set-tag", MethodFilter::POST, set_registered_model_tag),
    ("/registered-models/delete-tag", MethodFilter::DELETE, delete_registered_model_tag),
    ("/registered-models/alias", MethodFilter::POST, set_registered_model_alias),
    ("/registered-models/alias", MethodFilter::DELETE, delete_registered_model_alias),
    ("/registered-models/alias", MethodFilter::GET, get_model_version_by_alias),
    ("/model-versions/create", MethodFilter::POST, create_model_version),
    ("/model-versions/get", MethodFilter::GET, get_model_version),
    ("/model-versions/update", MethodFilter::PATCH, update_model_version),
    ("/model-versions/delete", MethodFilter::DELETE, delete_model_version),
    ("/model-versions/search", MethodFilter::GET, search_model_versions),
    ("/model-versions/get-download-uri", MethodFilter::GET, get_model_version_download_uri),
    ("/model-versions/transition-stage", MethodFilter::POST, transition_model_version_stage),
    ("/model-versions/set-tag", MethodFilter::POST, set_model_version_tag),
    ("/model-versions/delete-tag", MethodFilter::DELETE, delete_model_version_tag),
    ("/metrics/get-history-bulk-interval", MethodFilter::GET, get_metric_history_bulk_interval),
];

pub(crate) fn reply(value: &impl serde::Serialize) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(value).map_err(|e| ApiError {
        code: almanac_api::ErrorCode::InternalError,
        message: format!("cannot encode reply: {e}"),
    })
}

pub(crate) fn empty() -> wire::Empty {
    wire::Empty {}
}

pub(crate) fn tags_of(input: &Input, field: &str) -> Result<Vec<Tag>, ApiError> {
    input
        .objects(field)?
        .iter()
        .map(|t| Ok(Tag { key: t.req_str("key")?, value: t.opt_str("value")?.unwrap_or_default() }))
        .collect()
}

pub(crate) fn view(input: &Input, field: &str) -> Result<ViewType, ApiError> {
    match input.opt_str(field)? {
        None => Ok(ViewType::ActiveOnly),
        Some(s) => ViewType::parse(&s).ok_or_else(|| {
            Error::invalid(format!("Invalid value '{s}' for parameter '{field}': use ACTIVE_ONLY, DELETED_ONLY or ALL"))
                .into()
        }),
    }
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

fn log_metric(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let metric = metric_of(r)?;
    app.log_metric(&r.run_id()?, metric)?;
    reply(&empty())
}

fn log_param(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let param = Param { key: r.req_str("key")?, value: r.opt_str("value")?.unwrap_or_default() };
    app.log_param(&r.run_id()?, param)?;
    reply(&empty())
}

fn set_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let tag = Tag { key: r.req_str("key")?, value: r.opt_str("value")?.unwrap_or_default() };
    app.set_tag(&r.run_id()?, tag)?;
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

/// Every op recorded against an entity, in fold order, each with the op as
/// it travels in sync packs (see FORMAT.md) and the fold's refusal, if any.
fn entity_history(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let ops = app.entity_history(&r.req_str("entity_id")?, r.opt_i64("max_results")?)?;
    let entries = ops
        .iter()
        .map(|o| {
            let e = &o.entry;
            Ok(wire::almanac::HistoryEntry {
                op_id: e.op_id.clone(),
                lamport: e.lamport,
                writer: e.writer.clone(),
                time_ms: e.time_ms,
                kind: e.op.kind().to_string(),
                op: serde_json::to_value(&e.op).map_err(|err| ApiError {
                    code: almanac_api::ErrorCode::InternalError,
                    message: format!("cannot encode op {}: {err}", e.op_id),
                })?,
                refused: o.refused.clone(),
            })
        })
        .collect::<Result<_, ApiError>>()?;
    reply(&wire::almanac::History { entries })
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

fn get_metric_history_bulk_interval(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
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
    let points = app.metric_history_bulk_interval(&r.str_list("run_ids")?, &key, steps, r.opt_i64("max_results")?)?;
    let metrics = points.iter().map(|p| wire::MetricRef::new(&p.key, &p.point, Some(&p.run_id))).collect();
    reply(&wire::MetricRefs { metrics, next_page_token: None })
}

fn list_run_artifacts(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let listing = app.list_run_artifacts(&r.run_id()?, r.opt_str("path")?.as_deref())?;
    let files = listing.files.iter().map(|(path, e)| wire::FileInfo::new(path, e.is_dir, e.size)).collect();
    reply(&wire::ArtifactListing { root_uri: listing.root_uri, files, next_page_token: None })
}

fn param_list(input: &Input, field: &str) -> Result<Vec<Param>, ApiError> {
    input
        .objects(field)?
        .iter()
        .map(|p| Ok(Param { key: p.req_str("key")?, value: p.opt_str("value")?.unwrap_or_default() }))
        .collect()
}

fn logged_model_reply(m: &almanac_core::model::LoggedModel) -> Result<Vec<u8>, ApiError> {
    reply(&wire::LoggedModelReply { model: m.into() })
}

fn create_logged_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let model = app.create_logged_model(almanac_api::CreateLoggedModel {
        experiment_id: r.req_str("experiment_id")?,
        name: r.opt_str("name")?,
        model_type: r.opt_str("model_type")?,
        source_run_id: r.opt_str("source_run_id")?,
        tags: tags_of(r, "tags")?,
        params: param_list(r, "params")?,
    })?;
    logged_model_reply(&model)
}

fn get_logged_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let allow_deleted = r.opt_bool("allow_deleted")?.unwrap_or(false);
    logged_model_reply(&app.logged_model(&r.req_str("model_id")?, allow_deleted)?)
}

fn finalize_logged_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let raw = r.opt_str("status")?.or(r.opt_i64("status").ok().flatten().map(|n| n.to_string()));
    let status = raw
        .as_deref()
        .and_then(almanac_core::model::LoggedModelStatus::from_wire)
        .ok_or_else(|| ApiError::from(Error::invalid("Missing or invalid value for required parameter 'status'.")))?;
    logged_model_reply(&app.finalize_logged_model(&r.req_str("model_id")?, status)?)
}

fn delete_logged_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_logged_model(&r.req_str("model_id")?)?;
    reply(&empty())
}

fn set_logged_model_tags(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    logged_model_reply(&app.set_logged_model_tags(&r.req_str("model_id")?, tags_of(r, "tags")?)?)
}

fn delete_logged_model_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_logged_model_tag(&r.req_str("model_id")?, &r.req_str("tag_key")?)?;
    reply(&empty())
}

fn log_logged_model_params(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.log_logged_model_params(&r.req_str("model_id")?, param_list(r, "params")?)?;
    reply(&empty())
}

fn search_logged_models(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let order_by = r
        .objects("order_by")?
        .iter()
        .map(|o| {
            Ok(almanac_api::ModelOrder {
                field: o.req_str("field_name")?,
                ascending: o.opt_bool("ascending")?.unwrap_or(true),
                dataset_name: o.opt_str("dataset_name")?,
                dataset_digest: o.opt_str("dataset_digest")?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let datasets = r
        .objects("datasets")?
        .iter()
        .map(|d| Ok((d.opt_str("dataset_name")?, d.opt_str("dataset_digest")?)))
        .collect::<Result<Vec<_>, ApiError>>()?;
    let page = app.search_logged_models(&almanac_api::SearchLoggedModels {
        experiment_ids: r.str_list("experiment_ids")?,
        filter: r.opt_str("filter")?.unwrap_or_default(),
        datasets,
        order_by,
        max_results: r.opt_i64("max_results")?,
        page_token: r.opt_str("page_token")?,
    })?;
    reply(&wire::LoggedModelsPage {
        models: page.items.iter().map(wire::LoggedModel::from).collect(),
        next_page_token: page.next_page_token,
    })
}

fn list_logged_model_artifacts(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let model = app.logged_model(&r.req_str("model_id")?, false)?;
    let dir = r.opt_str("artifact_directory_path")?.unwrap_or_default();
    let mut files = Vec::new();
    if let Some(root) = almanac_api::proxied_path(&model.artifact_location) {
        let rel = almanac_core::validation::artifact_path(&dir)?;
        let full = if rel.is_empty() { root } else { format!("{root}/{rel}") };
        files = app
            .list_artifacts(&full)?
            .iter()
            .map(|e| {
                let path = if rel.is_empty() { e.name.clone() } else { format!("{rel}/{}", e.name) };
                wire::FileInfo::new(&path, e.is_dir, e.size)
            })
            .collect();
    }
    reply(&wire::ArtifactListing { root_uri: model.artifact_location, files, next_page_token: None })
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

fn version_of(r: &Input) -> Result<i64, ApiError> {
    let raw = match r.opt_i64("version") {
        Ok(Some(n)) => return Ok(n),
        _ => r.req_str("version")?,
    };
    Ok(almanac_core::registry::parse_version(&raw)?)
}

fn registered_model_reply(m: &almanac_core::model::RegisteredModel) -> Result<Vec<u8>, ApiError> {
    reply(&wire::RegisteredModelReply { registered_model: m.into() })
}

fn model_version_reply(v: &almanac_core::model::ModelVersion) -> Result<Vec<u8>, ApiError> {
    reply(&wire::ModelVersionReply { model_version: wire::ModelVersion::new(v, true) })
}

fn registry_search(r: &Input) -> Result<almanac_api::SearchRegistry, ApiError> {
    Ok(almanac_api::SearchRegistry {
        filter: r.opt_str("filter")?.unwrap_or_default(),
        order_by: r.str_list("order_by")?,
        max_results: r.opt_i64("max_results")?,
        page_token: r.opt_str("page_token")?,
    })
}

fn create_registered_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let m = app.create_registered_model(&r.req_str("name")?, tags_of(r, "tags")?, r.opt_str("description")?)?;
    registered_model_reply(&m)
}

fn get_registered_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    registered_model_reply(&app.registered_model(&r.req_str("name")?)?)
}

fn rename_registered_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    registered_model_reply(&app.rename_registered_model(&r.req_str("name")?, &r.req_str("new_name")?)?)
}

fn update_registered_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let description = r.opt_str("description")?.unwrap_or_default();
    registered_model_reply(&app.update_registered_model(&r.req_str("name")?, &description)?)
}

fn delete_registered_model(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_registered_model(&r.req_str("name")?)?;
    reply(&empty())
}

fn search_registered_models(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let page = app.search_registered_models(&registry_search(r)?)?;
    reply(&wire::RegisteredModelsPage {
        registered_models: page.items.iter().map(wire::RegisteredModel::from).collect(),
        next_page_token: page.next_page_token,
    })
}

fn get_latest_versions(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let versions = app.latest_versions(&r.req_str("name")?, &r.str_list("stages")?)?;
    let model_versions = versions.iter().map(|v| wire::ModelVersion::new(v, false)).collect();
    reply(&wire::ModelVersionsPage { model_versions, next_page_token: None })
}

fn set_registered_model_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let tag = Tag { key: r.req_str("key")?, value: r.opt_str("value")?.unwrap_or_default() };
    app.set_registered_model_tag(&r.req_str("name")?, tag)?;
    reply(&empty())
}

fn delete_registered_model_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_registered_model_tag(&r.req_str("name")?, &r.req_str("key")?)?;
    reply(&empty())
}

fn set_registered_model_alias(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.set_registered_model_alias(&r.req_str("name")?, &r.req_str("alias")?, version_of(r)?)?;
    reply(&empty())
}

fn delete_registered_model_alias(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_registered_model_alias(&r.req_str("name")?, &r.req_str("alias")?)?;
    reply(&empty())
}

fn get_model_version_by_alias(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    model_version_reply(&app.model_version_by_alias(&r.req_str("name")?, &r.req_str("alias")?)?)
}

fn create_model_version(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let v = app.create_model_version(almanac_api::CreateModelVersion {
        name: r.req_str("name")?,
        source: r.req_str("source")?,
        run_id: r.opt_str("run_id")?,
        run_link: r.opt_str("run_link")?,
        description: r.opt_str("description")?,
        model_id: r.opt_str("model_id")?,
        tags: tags_of(r, "tags")?,
    })?;
    model_version_reply(&v)
}

fn get_model_version(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    model_version_reply(&app.model_version(&r.req_str("name")?, version_of(r)?)?)
}

fn update_model_version(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let description = r.opt_str("description")?.unwrap_or_default();
    model_version_reply(&app.update_model_version(&r.req_str("name")?, version_of(r)?, &description)?)
}

fn delete_model_version(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_model_version(&r.req_str("name")?, version_of(r)?)?;
    reply(&empty())
}

fn search_model_versions(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let page = app.search_model_versions(&registry_search(r)?)?;
    reply(&wire::ModelVersionsPage {
        model_versions: page.items.iter().map(|v| wire::ModelVersion::new(v, false)).collect(),
        next_page_token: page.next_page_token,
    })
}

fn get_model_version_download_uri(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    reply(&wire::DownloadUri { artifact_uri: app.model_version_download_uri(&r.req_str("name")?, version_of(r)?)? })
}

fn transition_model_version_stage(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let v = app.transition_model_version_stage(
        &r.req_str("name")?,
        version_of(r)?,
        &r.req_str("stage")?,
        r.opt_bool("archive_existing_versions")?.unwrap_or(false),
    )?;
    model_version_reply(&v)
}

fn set_model_version_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let tag = Tag { key: r.req_str("key")?, value: r.opt_str("value")?.unwrap_or_default() };
    app.set_model_version_tag(&r.req_str("name")?, version_of(r)?, tag)?;
    reply(&empty())
}

fn delete_model_version_tag(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_model_version_tag(&r.req_str("name")?, version_of(r)?, &r.req_str("key")?)?;
    reply(&empty())
}
