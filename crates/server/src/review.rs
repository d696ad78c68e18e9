//! Almanac's routes for the review UI (`/api/2.0/almanac/runs/...`): JSON in
//! MLflow's style, runs in MLflow's wire shape.

use almanac_api::{ApiError, App, GroupRuns, RunTable, TagRuns};
use serde_json::{Map, Value, json};

use crate::input::Input;
use crate::routes::{reply, tags_of, view};
use crate::wire;

fn opt_float(v: Option<f64>) -> Value {
    v.map(wire::float).unwrap_or(Value::Null)
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
    let mut ranges: Map<String, Value> = Map::new();
    for range in &window.ranges {
        let per_run = ranges.entry(range.run_id.clone()).or_insert_with(|| json!({}));
        per_run[&range.key] = json!({"min": opt_float(range.min), "max": opt_float(range.max)});
    }
    reply(&json!({
        "total": window.total,
        "runs": window.runs.iter().map(wire::run).collect::<Vec<_>>(),
        "child_counts": window.child_counts,
        "ranges": ranges,
    }))
}

/// `{counts: {experiment_id: live runs}}`.
pub(crate) fn run_counts(app: &App, _: &Input) -> Result<Vec<u8>, ApiError> {
    reply(&json!({ "counts": app.run_counts()? }))
}

/// `{params, metrics, tags}`: every key the experiments' runs use.
pub(crate) fn run_keys(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let keys = app.run_keys(&r.str_list("experiment_ids")?)?;
    reply(&json!({"params": keys.params, "metrics": keys.metrics, "tags": keys.tags}))
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
    let groups: Vec<Value> = groups
        .iter()
        .map(|g| {
            let metrics: Map<String, Value> = g
                .metrics
                .iter()
                .map(|m| {
                    (
                        m.key.clone(),
                        json!({"mean": opt_float(m.mean), "min": opt_float(m.min), "max": opt_float(m.max)}),
                    )
                })
                .collect();
            json!({"value": g.value, "count": g.count, "metrics": metrics})
        })
        .collect();
    reply(&json!({ "groups": groups }))
}

/// Sets `tags` and removes `remove_keys` on every run of `run_ids`, atomically.
pub(crate) fn tag_runs(app: &App, r: &Input) -> Result<Vec<u8>, ApiError> {
    let changed = app.tag_runs(&TagRuns {
        run_ids: r.str_list("run_ids")?,
        set: tags_of(r, "tags")?,
        remove: r.str_list("remove_keys")?,
    })?;
    reply(&json!({ "changes": changed }))
}
