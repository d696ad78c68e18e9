//! Almanac's own routes (`/api/2.0/almanac/...`), for what MLflow's API
//! lacks: the review UI's runs table, groups, bulk tags, annotations, saved
//! views, and an entity's op history. JSON in MLflow's style.

use almanac_api::{Annotate, ApiError, App, GroupRuns, RunTable, TagRuns};
use almanac_wire::{self as wire, almanac as ui};

use axum::routing::MethodFilter;

use crate::input::{Input, tags_of, view};
use crate::reply::{GET_OR_POST, Route, empty, reply};

/// Almanac's own routes under `/api/2.0/almanac`, for what MLflow lacks.
pub const ROUTES: &[Route] = &[
    ("/history", MethodFilter::GET, entity_history),
    ("/experiments/run-counts", MethodFilter::GET, run_counts),
    ("/runs/table", MethodFilter::POST, run_table),
    ("/runs/keys", GET_OR_POST, run_keys),
    ("/runs/groups", MethodFilter::POST, run_groups),
    ("/runs/tags", MethodFilter::POST, tag_runs),
    ("/views/save", MethodFilter::POST, save_view),
    ("/views/list", GET_OR_POST, list_views),
    ("/views/get", GET_OR_POST, get_view),
    ("/views/delete", MethodFilter::POST.or(MethodFilter::DELETE), delete_view),
    ("/annotations/create", MethodFilter::POST, annotate),
    ("/annotations/list", GET_OR_POST, list_annotations),
    ("/annotations/delete", MethodFilter::POST.or(MethodFilter::DELETE), delete_annotation),
];

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

/// A window of the runs table: `{total, runs, child_counts, ranges}`.
pub(crate) fn run_table(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let window = app.run_table(&RunTable {
        experiment_ids: r.str_list("experiment_ids")?,
        filter: r.opt_str("filter")?.unwrap_or_default(),
        order_by: r.str_list("order_by")?,
        view: view(r, "run_view_type")?,
        offset: r.opt_i64("offset")?.unwrap_or(0),
        limit: r.opt_i64("limit")?.unwrap_or(100),
        with_ranges: r.opt_bool("with_ranges")?.unwrap_or(false),
    })?;
    let mut ranges: std::collections::HashMap<String, std::collections::HashMap<String, ui::Range>> =
        Default::default();
    for range in &window.ranges {
        let per_run = ranges.entry(range.run_id.clone()).or_default();
        per_run.insert(range.key.clone(), ui::Range { min: range.min, max: range.max });
    }
    reply(&ui::TableWindow {
        total: window.total,
        runs: window.runs.iter().map(wire::Run::from).collect(),
        child_counts: window.child_counts.into_iter().collect(),
        ranges,
    })
}

/// `{counts: {experiment_id: live runs}}`.
pub(crate) fn run_counts(app: &App, _: &Input) -> Result<Vec<u8>, ApiError> {
    reply(&ui::RunCounts { counts: app.run_counts()? })
}

/// `{params, metrics, tags}`: every key the experiments' runs use.
pub(crate) fn run_keys(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let keys = app.run_keys(&r.str_list("experiment_ids")?)?;
    reply(&ui::RunKeys { params: keys.params, metrics: keys.metrics, tags: keys.tags })
}

/// `{groups: [{value, count, metrics: {key: {mean, min, max}}}]}`, largest first.
pub(crate) fn run_groups(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let groups = app.group_runs(&GroupRuns {
        experiment_ids: r.str_list("experiment_ids")?,
        filter: r.opt_str("filter")?.unwrap_or_default(),
        view: view(r, "run_view_type")?,
        group_by: r.req_str("group_by")?,
        metric_keys: r.str_list("metric_keys")?,
    })?;
    let groups = groups
        .iter()
        .map(|g| ui::RunGroup {
            value: g.value.clone(),
            count: g.count,
            metrics: g
                .metrics
                .iter()
                .map(|m| (m.key.clone(), ui::Aggregate { mean: m.mean, min: m.min, max: m.max }))
                .collect(),
        })
        .collect();
    reply(&ui::RunGroups { groups })
}

/// Sets `tags` and removes `remove_keys` on every run of `run_ids`, atomically.
pub(crate) fn tag_runs(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let changed = app.tag_runs(&TagRuns {
        run_ids: r.str_list("run_ids")?,
        set: tags_of(r, "tags")?,
        remove: r.str_list("remove_keys")?,
    })?;
    reply(&ui::TagChanges { changes: changed as i64 })
}

/// Creates an annotation, or edits the one `annotation_id` names: `{annotation}`.
pub(crate) fn annotate(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let a = app.annotate(&Annotate {
        annotation_id: r.opt_str("annotation_id")?.filter(|s| !s.is_empty()),
        run_id: r.run_id()?,
        metric_key: r.req_str("metric_key")?,
        step: r.opt_i64("step")?.unwrap_or(0),
        text: r.req_str("text")?,
        author: r.req_str("author")?,
    })?;
    reply(&ui::AnnotationReply { annotation: (&a).into() })
}

/// `{annotations: [...]}` on the runs of `run_ids`.
pub(crate) fn list_annotations(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let list = app.annotations(&r.str_list("run_ids")?)?;
    reply(&ui::Annotations { annotations: list.iter().map(ui::Annotation::from).collect() })
}

pub(crate) fn delete_annotation(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_annotation(&r.run_id()?, &r.req_str("annotation_id")?)?;
    reply(&empty())
}

/// Saves a comparison: `{view}`. With `view_id`, replaces that view.
pub(crate) fn save_view(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let id = r.opt_str("view_id")?.filter(|s| !s.is_empty());
    let v = app.save_view(id.as_deref(), &r.req_str("experiment_id")?, &r.req_str("name")?, &r.req_str("spec")?)?;
    reply(&ui::ViewReply { view: (&v).into() })
}

/// `{views: [...]}` of an experiment, by name.
pub(crate) fn list_views(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let views = app.saved_views(&r.req_str("experiment_id")?)?;
    reply(&ui::Views { views: views.iter().map(ui::SavedView::from).collect() })
}

pub(crate) fn get_view(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    reply(&ui::ViewReply { view: (&app.saved_view(&r.req_str("view_id")?)?).into() })
}

pub(crate) fn delete_view(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    app.delete_view(&r.req_str("view_id")?)?;
    reply(&empty())
}
