//! The one write path: validate an op against current state, journal it,
//! fold it into the query tables — one transaction, all or nothing.

use std::collections::HashMap;

use almanac_core::Error;
use almanac_core::model::{DatasetInput, LifecycleStage, Metric, MetricPoint, Param, Tag, tags};
use almanac_core::op::{Op, WriteContext};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::journal::{self, JournalEntry, Receipt};
use crate::{Result, Store};

impl Mode {
    /// Whether a deleted experiment or run takes this op.
    fn writes_into_deleted(self) -> bool {
        self != Mode::Local
    }
}

impl Store {
    /// Records and applies one operation. On any error nothing is written.
    pub fn write(&self, ctx: &WriteContext, op: Op) -> Result<Receipt> {
        let mut entries = self.write_all(ctx, vec![op])?;
        Ok(entries.remove(0))
    }

    /// Records and applies several operations in one transaction.
    pub fn write_all(&self, ctx: &WriteContext, ops: Vec<Op>) -> Result<Vec<Receipt>> {
        self.write_in_mode(ctx, ops, Mode::Local)
    }

    /// Records history brought from another tracking store (an import),
    /// in one transaction. Checked as a client's request, except that a
    /// deleted experiment or run still takes it: the source held those
    /// runs, metrics and models inside a deleted experiment, and folding the
    /// journal accepts such ops anyway (`Mode::Replay`), so the projection
    /// stays the fold of the journal.
    pub fn write_imported(&self, ctx: &WriteContext, ops: Vec<Op>) -> Result<Vec<Receipt>> {
        self.write_in_mode(ctx, ops, Mode::Imported)
    }

    fn write_in_mode(&self, ctx: &WriteContext, ops: Vec<Op>, mode: Mode) -> Result<Vec<Receipt>> {
        let mut conn = self.write_conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut entries = Vec::with_capacity(ops.len());
        for op in &ops {
            let pinned = crate::registry::pin_version(&tx, op)?;
            let op = pinned.as_ref().unwrap_or(op);
            let receipt = journal::append(&tx, ctx, op)?;
            apply(&tx, op, ctx.time_ms, mode, &receipt.op_id)?;
            entries.push(receipt);
        }
        tx.commit()?;
        Ok(entries)
    }

    /// Journal entries recorded after local sequence number `after`.
    pub fn journal_after(&self, after: i64, limit: i64) -> Result<Vec<JournalEntry>> {
        self.with_reader(|c| journal::read_after(c, after, limit))
    }
}

/// How strictly an op is checked against current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A client's request: MLflow's rules, refusals are errors.
    Local,
    /// History imported from another store: a client's rules, except that
    /// deleted experiments and runs take ops (see `Store::write_imported`).
    Imported,
    /// Folding the journal (after a sync): the op already happened on some
    /// replica, so data is kept wherever a deterministic rule allows; a
    /// deleted run still takes its late metrics, a concurrently changed
    /// param keeps its first value, a same-named experiment merges.
    Replay,
}

/// The canonical id of an experiment that may have been merged into another.
pub(crate) fn canonical_experiment(conn: &Connection, experiment_id: &str) -> Result<String> {
    let found: Option<String> = conn
        .prepare_cached("SELECT canonical FROM experiment_aliases WHERE alias = ?1")?
        .query_row([experiment_id], |r| r.get(0))
        .optional()?;
    Ok(found.unwrap_or_else(|| experiment_id.to_string()))
}

/// `op` with any merged experiment id replaced by its canonical id.
fn resolve_experiment(conn: &Connection, op: &Op) -> Result<Option<Op>> {
    let id = match op {
        Op::RenameExperiment { experiment_id, .. }
        | Op::SetExperimentLifecycle { experiment_id, .. }
        | Op::SetExperimentTag { experiment_id, .. }
        | Op::DeleteExperimentTag { experiment_id, .. }
        | Op::CreateRun { experiment_id, .. }
        | Op::CreateLoggedModel { experiment_id, .. } => experiment_id,
        _ => return Ok(None),
    };
    let canonical = canonical_experiment(conn, id)?;
    if &canonical == id {
        return Ok(None);
    }
    let mut op = op.clone();
    match &mut op {
        Op::RenameExperiment { experiment_id, .. }
        | Op::SetExperimentLifecycle { experiment_id, .. }
        | Op::SetExperimentTag { experiment_id, .. }
        | Op::DeleteExperimentTag { experiment_id, .. }
        | Op::CreateRun { experiment_id, .. }
        | Op::CreateLoggedModel { experiment_id, .. } => *experiment_id = canonical,
        _ => {}
    }
    Ok(Some(op))
}

struct RunRow {
    pk: i64,
    experiment_id: String,
    stage: LifecycleStage,
}

fn experiment_stage(conn: &Connection, experiment_id: &str) -> Result<LifecycleStage> {
    let stage: Option<String> = conn
        .prepare_cached("SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?1")?
        .query_row([experiment_id], |r| r.get(0))
        .optional()?;
    match stage {
        Some(s) => Ok(LifecycleStage::parse(&s).unwrap_or(LifecycleStage::Active)),
        None => Err(Error::not_found(format!("No Experiment with id={experiment_id} exists")).into()),
    }
}

fn active_experiment(conn: &Connection, experiment_id: &str, mode: Mode) -> Result<()> {
    match experiment_stage(conn, experiment_id)? {
        _ if mode.writes_into_deleted() => Ok(()),
        LifecycleStage::Active => Ok(()),
        LifecycleStage::Deleted => Err(Error::invalid(format!(
            "The experiment {experiment_id} must be in the 'active' state. Current state is deleted."
        ))
        .into()),
    }
}

/// A trace a client may change: it exists and, for a client's request, is
/// not deleted. Replayed ops touch whatever the journal names.
fn live_trace(conn: &Connection, trace_id: &str, mode: Mode) -> Result<()> {
    let deleted: Option<bool> = conn
        .prepare_cached("SELECT deleted FROM traces WHERE trace_id = ?1")?
        .query_row([trace_id], |r| r.get(0))
        .optional()?;
    match deleted {
        Some(false) => Ok(()),
        Some(true) if mode == Mode::Replay => Ok(()),
        _ => Err(Error::not_found(format!("Trace with id={trace_id} not found.")).into()),
    }
}

fn run_row(conn: &Connection, run_id: &str) -> Result<RunRow> {
    let row = conn
        .prepare_cached("SELECT pk, experiment_id, lifecycle_stage FROM runs WHERE run_id = ?1")?
        .query_row([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?)))
        .optional()?;
    match row {
        Some((pk, experiment_id, stage)) => {
            Ok(RunRow { pk, experiment_id, stage: LifecycleStage::parse(&stage).unwrap_or(LifecycleStage::Active) })
        }
        None => Err(Error::not_found(format!("Run with id={run_id} not found")).into()),
    }
}

fn active_run(conn: &Connection, run_id: &str, mode: Mode) -> Result<RunRow> {
    let run = run_row(conn, run_id)?;
    if mode.writes_into_deleted() {
        return Ok(run);
    }
    if run.stage != LifecycleStage::Active {
        return Err(Error::invalid(format!(
            "The run {run_id} must be in the 'active' state. Current state is deleted."
        ))
        .into());
    }
    Ok(run)
}

fn name_taken(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM experiments WHERE name = ?1")?
        .query_row([name], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Folds one op into the query tables, refusing ops the current state forbids.
pub(crate) fn apply(conn: &Connection, op: &Op, time_ms: i64, mode: Mode, op_id: &str) -> Result<()> {
    let resolved = resolve_experiment(conn, op)?;
    let op = resolved.as_ref().unwrap_or(op);
    match op {
        Op::CreateExperiment { experiment_id, name, artifact_location, creation_time, tags } => {
            let exists = conn
                .prepare_cached("SELECT 1 FROM experiments WHERE experiment_id = ?1")?
                .query_row([experiment_id], |_| Ok(()))
                .optional()?
                .is_some();
            if exists && mode == Mode::Replay {
                // Every replica creates the default experiment "0": one is enough.
                return Ok(());
            }
            if name_taken(conn, name)? {
                if mode == Mode::Replay {
                    // Two replicas created the same name: the first in fold order
                    // keeps it, and this id becomes an alias of that experiment.
                    let canonical: String = conn
                        .prepare_cached("SELECT experiment_id FROM experiments WHERE name = ?1")?
                        .query_row([name], |r| r.get(0))?;
                    conn.prepare_cached("INSERT OR IGNORE INTO experiment_aliases(alias, canonical) VALUES (?1, ?2)")?
                        .execute(params![experiment_id, canonical])?;
                    return Ok(());
                }
                return Err(Error::already_exists(format!("Experiment(name={name}) already exists.")).into());
            }
            if exists {
                return Err(Error::already_exists(format!("Experiment with id={experiment_id} already exists.")).into());
            }
            conn.prepare_cached(
                "INSERT INTO experiments(experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
                 VALUES (?1, ?2, ?3, 'active', ?4, ?4)",
            )?
            .execute(params![experiment_id, name, artifact_location, creation_time])?;
            for tag in tags {
                upsert_experiment_tag(conn, experiment_id, tag)?;
            }
        }
        Op::RenameExperiment { experiment_id, name } => {
            if experiment_stage(conn, experiment_id)? != LifecycleStage::Active {
                return Err(Error::invalid("Cannot rename a non-active experiment.").into());
            }
            let current: String = conn
                .prepare_cached("SELECT name FROM experiments WHERE experiment_id = ?1")?
                .query_row([experiment_id], |r| r.get(0))?;
            if &current != name && name_taken(conn, name)? {
                return Err(Error::already_exists(format!("Experiment(name={name}) already exists.")).into());
            }
            conn.prepare_cached("UPDATE experiments SET name = ?2, last_update_time = ?3 WHERE experiment_id = ?1")?
                .execute(params![experiment_id, name, time_ms])?;
        }
        Op::SetExperimentLifecycle { experiment_id, stage } => {
            experiment_stage(conn, experiment_id)?;
            conn.prepare_cached(
                "UPDATE experiments SET lifecycle_stage = ?2, last_update_time = ?3 WHERE experiment_id = ?1",
            )?
            .execute(params![experiment_id, stage.as_str(), time_ms])?;
            // As in MLflow, an experiment's runs follow it into and out of deletion.
            conn.prepare_cached("UPDATE runs SET lifecycle_stage = ?2 WHERE experiment_id = ?1")?
                .execute(params![experiment_id, stage.as_str()])?;
        }
        Op::SetExperimentTag { experiment_id, tag } => {
            active_experiment(conn, experiment_id, mode)?;
            upsert_experiment_tag(conn, experiment_id, tag)?;
        }
        Op::AliasExperiment { alias, experiment_id } => {
            experiment_stage(conn, experiment_id)?;
            let taken = conn
                .prepare_cached("SELECT 1 FROM experiments WHERE experiment_id = ?1")?
                .query_row([alias], |_| Ok(()))
                .optional()?;
            if taken.is_some() {
                return Err(Error::invalid(format!("'{alias}' already names an experiment of its own")).into());
            }
            // The first alias in fold order keeps a name two imports claimed.
            conn.prepare_cached("INSERT OR IGNORE INTO experiment_aliases(alias, canonical) VALUES (?1, ?2)")?
                .execute(params![alias, experiment_id])?;
        }
        Op::DeleteExperimentTag { experiment_id, key } => {
            active_experiment(conn, experiment_id, mode)?;
            let n = conn
                .prepare_cached("DELETE FROM experiment_tags WHERE experiment_id = ?1 AND key = ?2")?
                .execute(params![experiment_id, key])?;
            if n == 0 {
                return Err(
                    Error::not_found(format!("No tag with name: {key} in experiment with id {experiment_id}")).into()
                );
            }
        }
        Op::CreateRun { run_id, experiment_id, run_name, user_id, start_time, status, artifact_uri, tags } => {
            active_experiment(conn, experiment_id, mode)?;
            let exists = conn
                .prepare_cached("SELECT 1 FROM runs WHERE run_id = ?1")?
                .query_row([run_id], |_| Ok(()))
                .optional()?
                .is_some();
            if exists {
                return Err(Error::already_exists(format!("Run with id={run_id} already exists.")).into());
            }
            conn.prepare_cached(
                "INSERT INTO runs(run_id, experiment_id, run_name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, 'active')",
            )?
            .execute(params![run_id, experiment_id, run_name, user_id, status.as_str(), start_time, artifact_uri])?;
            let pk = conn.last_insert_rowid();
            for tag in tags {
                upsert_run_tag(conn, pk, tag)?;
            }
        }
        Op::UpdateRun { run_id, status, end_time, run_name } => {
            let run = active_run(conn, run_id, mode)?;
            if let Some(status) = status {
                conn.prepare_cached("UPDATE runs SET status = ?2 WHERE pk = ?1")?
                    .execute(params![run.pk, status.as_str()])?;
            }
            if let Some(end_time) = end_time {
                conn.prepare_cached("UPDATE runs SET end_time = ?2 WHERE pk = ?1")?
                    .execute(params![run.pk, end_time])?;
            }
            if let Some(name) = run_name {
                upsert_run_tag(conn, run.pk, &Tag { key: tags::RUN_NAME.into(), value: name.clone() })?;
            }
        }
        Op::SetRunLifecycle { run_id, stage } => {
            let run = run_row(conn, run_id)?;
            if *stage == LifecycleStage::Active {
                // A run cannot come back into a deleted experiment.
                active_experiment(conn, &run.experiment_id, mode)?;
            }
            conn.prepare_cached("UPDATE runs SET lifecycle_stage = ?2 WHERE pk = ?1")?
                .execute(params![run.pk, stage.as_str()])?;
        }
        Op::LogBatch { run_id, metrics, params, tags } => {
            let run = active_run(conn, run_id, mode)?;
            log_params(conn, run.pk, run_id, params, mode)?;
            for tag in tags {
                upsert_run_tag(conn, run.pk, tag)?;
            }
            log_metrics(conn, run.pk, metrics)?;
            log_model_metrics(conn, run_id, metrics)?;
        }
        Op::DeleteRunTag { run_id, key } => {
            let run = active_run(conn, run_id, mode)?;
            let n = conn
                .prepare_cached("DELETE FROM run_tags WHERE run_pk = ?1 AND key = ?2")?
                .execute(params![run.pk, key])?;
            if n == 0 {
                return Err(Error::not_found(format!("No tag with name: {key} in run with id {run_id}")).into());
            }
        }
        Op::PutAnnotation { annotation_id, run_id, metric_key, step, text, author, created_ms } => {
            let run = run_row(conn, run_id)?;
            // An edit keeps the annotation on the run it was made on.
            let owner: Option<i64> = conn
                .prepare_cached("SELECT run_pk FROM annotations WHERE annotation_id = ?1")?
                .query_row([annotation_id], |r| r.get(0))
                .optional()?;
            if owner.is_some_and(|pk| pk != run.pk) {
                return Err(Error::invalid(format!("Annotation {annotation_id} belongs to another run")).into());
            }
            conn.prepare_cached(
                "INSERT INTO annotations(annotation_id, run_pk, metric_key, step, text, author, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(annotation_id) DO UPDATE SET metric_key = excluded.metric_key, step = excluded.step,
                     text = excluded.text, author = excluded.author",
            )?
            .execute(params![annotation_id, run.pk, metric_key, step, text, author, created_ms])?;
        }
        Op::DeleteAnnotation { annotation_id, run_id } => {
            let run = run_row(conn, run_id)?;
            let n = conn
                .prepare_cached("DELETE FROM annotations WHERE annotation_id = ?1 AND run_pk = ?2")?
                .execute(params![annotation_id, run.pk])?;
            if n == 0 {
                return Err(Error::not_found(format!("No annotation {annotation_id} on run {run_id}")).into());
            }
        }
        Op::SaveView { view_id, experiment_id, name, spec, created_ms } => {
            let experiment = canonical_experiment(conn, experiment_id)?;
            conn.prepare_cached(
                "INSERT INTO saved_views(view_id, experiment_id, name, spec, created_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(view_id) DO UPDATE SET name = excluded.name, spec = excluded.spec,
                     updated_ms = excluded.updated_ms",
            )?
            .execute(params![view_id, experiment, name, spec, created_ms, time_ms])?;
        }
        Op::DeleteView { view_id, .. } => {
            let n = conn.prepare_cached("DELETE FROM saved_views WHERE view_id = ?1")?.execute([view_id])?;
            if n == 0 {
                return Err(Error::not_found(format!("No saved view {view_id}")).into());
            }
        }
        Op::PutTrace { info } => {
            let experiment = canonical_experiment(conn, &info.experiment_id)?;
            active_experiment(conn, &experiment, mode)?;
            if mode != Mode::Replay {
                let existing: Option<(String, bool)> = conn
                    .prepare_cached("SELECT experiment_id, deleted FROM traces WHERE trace_id = ?1")?
                    .query_row([&info.trace_id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?;
                match existing {
                    Some((_, true)) => {
                        return Err(Error::invalid(format!(
                            "Trace {} was deleted; its id cannot be reused",
                            info.trace_id
                        ))
                        .into());
                    }
                    // Its spans live in the first experiment's folder.
                    Some((other, false)) if other != experiment => {
                        return Err(Error::invalid(format!(
                            "Trace {} belongs to experiment {other}, not {experiment}",
                            info.trace_id
                        ))
                        .into());
                    }
                    _ => {}
                }
            }
            conn.prepare_cached(
                "INSERT INTO traces(trace_id, experiment_id, client_request_id, request_time_ms,
                     execution_duration_ms, state, request_preview, response_preview)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(trace_id) DO UPDATE SET experiment_id = excluded.experiment_id,
                     client_request_id = excluded.client_request_id, request_time_ms = excluded.request_time_ms,
                     execution_duration_ms = excluded.execution_duration_ms, state = excluded.state,
                     request_preview = excluded.request_preview, response_preview = excluded.response_preview",
            )?
            .execute(params![
                info.trace_id,
                experiment,
                info.client_request_id,
                info.request_time_ms,
                info.execution_duration_ms,
                info.state,
                info.request_preview,
                info.response_preview
            ])?;
            conn.prepare_cached("DELETE FROM trace_metadata WHERE trace_id = ?1")?.execute([&info.trace_id])?;
            for t in &info.trace_metadata {
                conn.prepare_cached("INSERT OR REPLACE INTO trace_metadata(trace_id, key, value) VALUES (?1, ?2, ?3)")?
                    .execute(params![info.trace_id, t.key, t.value])?;
            }
            for t in &info.tags {
                conn.prepare_cached("INSERT OR REPLACE INTO trace_tags(trace_id, key, value) VALUES (?1, ?2, ?3)")?
                    .execute(params![info.trace_id, t.key, t.value])?;
            }
        }
        Op::SetTraceTag { trace_id, key, value } => {
            live_trace(conn, trace_id, mode)?;
            conn.prepare_cached("INSERT OR REPLACE INTO trace_tags(trace_id, key, value) VALUES (?1, ?2, ?3)")?
                .execute(params![trace_id, key, value])?;
        }
        Op::DeleteTraceTag { trace_id, key } => {
            live_trace(conn, trace_id, mode)?;
            let n = conn
                .prepare_cached("DELETE FROM trace_tags WHERE trace_id = ?1 AND key = ?2")?
                .execute(params![trace_id, key])?;
            if n == 0 && mode != Mode::Replay {
                return Err(Error::not_found(format!("No tag with key '{key}' on trace {trace_id}")).into());
            }
        }
        Op::DeleteTrace { trace_id } => {
            live_trace(conn, trace_id, mode)?;
            conn.prepare_cached("UPDATE traces SET deleted = 1 WHERE trace_id = ?1")?.execute([trace_id])?;
        }
        Op::PutArtifact { path, sha256, size } => {
            conn.prepare_cached(
                "INSERT INTO artifacts(path, sha256, size, owner) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size",
            )?
            .execute(params![path, sha256, *size as i64, almanac_core::op::artifact_owner(path)])?;
        }
        Op::DeleteArtifacts { path } => {
            let (low, high) = crate::read::prefix_range(path);
            conn.prepare_cached("DELETE FROM artifacts WHERE path = ?1 OR (path > ?2 AND path < ?3)")?
                .execute(params![path, low, high])?;
        }
        Op::CreateLoggedModel {
            model_id,
            experiment_id,
            name,
            artifact_location,
            creation_time,
            model_type,
            source_run_id,
            tags,
            params,
        } => {
            active_experiment(conn, experiment_id, mode)?;
            conn.prepare_cached(
                "INSERT INTO logged_models(model_id, experiment_id, name, artifact_location, creation_time,
                     last_update_time, status, model_type, source_run_id, lifecycle_stage)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, 'PENDING', ?6, ?7, 'active')",
            )?
            .execute(params![
                model_id,
                experiment_id,
                name,
                artifact_location,
                creation_time,
                model_type,
                source_run_id
            ])?;
            set_model_tags(conn, model_id, tags)?;
            log_model_params(conn, model_id, params)?;
        }
        Op::FinalizeLoggedModel { model_id, status } => {
            live_model(conn, model_id)?;
            conn.prepare_cached("UPDATE logged_models SET status = ?2, last_update_time = ?3 WHERE model_id = ?1")?
                .execute(params![model_id, status.as_str(), time_ms])?;
        }
        Op::DeleteLoggedModel { model_id } => {
            live_model(conn, model_id)?;
            conn.prepare_cached(
                "UPDATE logged_models SET lifecycle_stage = 'deleted', last_update_time = ?2 WHERE model_id = ?1",
            )?
            .execute(params![model_id, time_ms])?;
        }
        Op::SetLoggedModelTags { model_id, tags } => {
            live_model(conn, model_id)?;
            set_model_tags(conn, model_id, tags)?;
        }
        Op::DeleteLoggedModelTag { model_id, key } => {
            live_model(conn, model_id)?;
            let n = conn
                .prepare_cached("DELETE FROM logged_model_tags WHERE model_id = ?1 AND key = ?2")?
                .execute(params![model_id, key])?;
            if n == 0 {
                return Err(
                    Error::not_found(format!("No tag with key '{key}' found for model with ID '{model_id}'.")).into()
                );
            }
        }
        Op::LogLoggedModelParams { model_id, params } => {
            live_model(conn, model_id)?;
            log_model_params(conn, model_id, params)?;
        }
        Op::LogRunOutputs { run_id, models } => {
            let run = active_run(conn, run_id, mode)?;
            for (model_id, step) in models {
                conn.prepare_cached(
                    "INSERT INTO run_outputs(run_pk, model_id, step) VALUES (?1, ?2, ?3)
                     ON CONFLICT(run_pk, model_id) DO UPDATE SET step = excluded.step",
                )?
                .execute(params![run.pk, model_id, step])?;
            }
        }
        Op::CreateRegisteredModel { .. }
        | Op::RenameRegisteredModel { .. }
        | Op::UpdateRegisteredModel { .. }
        | Op::DeleteRegisteredModel { .. }
        | Op::SetRegisteredModelTag { .. }
        | Op::DeleteRegisteredModelTag { .. }
        | Op::SetRegisteredModelAlias { .. }
        | Op::DeleteRegisteredModelAlias { .. }
        | Op::CreateModelVersion { .. }
        | Op::UpdateModelVersion { .. }
        | Op::TransitionModelVersionStage { .. }
        | Op::DeleteModelVersion { .. }
        | Op::SetModelVersionTag { .. }
        | Op::DeleteModelVersionTag { .. } => crate::registry::apply(conn, op, time_ms, mode, op_id)?,
        Op::LogInputs { run_id, datasets, models } => {
            let run = active_run(conn, run_id, mode)?;
            for input in datasets {
                log_input(conn, &run, input)?;
            }
            for model_id in models {
                conn.prepare_cached("INSERT OR IGNORE INTO run_model_inputs(run_pk, model_id) VALUES (?1, ?2)")?
                    .execute(params![run.pk, model_id])?;
            }
        }
    }
    Ok(())
}

fn upsert_experiment_tag(conn: &Connection, experiment_id: &str, tag: &Tag) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO experiment_tags(experiment_id, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT(experiment_id, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![experiment_id, tag.key, tag.value])?;
    Ok(())
}

fn upsert_run_tag(conn: &Connection, run_pk: i64, tag: &Tag) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO run_tags(run_pk, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT(run_pk, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![run_pk, tag.key, tag.value])?;
    // The run name lives in both places, as in MLflow: setting the tag renames the run.
    if tag.key == tags::RUN_NAME {
        conn.prepare_cached("UPDATE runs SET run_name = ?2 WHERE pk = ?1")?.execute(params![run_pk, tag.value])?;
    }
    Ok(())
}

fn log_params(conn: &Connection, run_pk: i64, run_id: &str, params: &[Param], mode: Mode) -> Result<()> {
    let mut existing_stmt = conn.prepare_cached("SELECT value FROM params WHERE run_pk = ?1 AND key = ?2")?;
    let mut conflicts = Vec::new();
    for p in params {
        let existing: Option<String> = existing_stmt.query_row(params![run_pk, p.key], |r| r.get(0)).optional()?;
        match existing {
            Some(old) if old != p.value => conflicts.push((p, old)),
            Some(_) => {}
            None => {
                conn.prepare_cached("INSERT INTO params(run_pk, key, value) VALUES (?1, ?2, ?3)")?
                    .execute(params![run_pk, p.key, p.value])?;
            }
        }
    }
    match conflicts.as_slice() {
        [] => Ok(()),
        // Replaying: a param set concurrently to two values keeps the first.
        _ if mode == Mode::Replay => Ok(()),
        [(p, old)] => Err(Error::invalid(format!(
            "Changing param values is not allowed. Param with key='{}' was already logged with value='{}' for run ID='{run_id}'. Attempted logging new value '{}'.",
            p.key, old, p.value
        ))
        .into()),
        many => {
            let listed: Vec<String> = many
                .iter()
                .map(|(p, old)| format!("{{'key': '{}', 'old_value': '{}', 'new_value': '{}'}}", p.key, old, p.value))
                .collect();
            Err(Error::invalid(format!(
                "Changing param values is not allowed. Params were already logged='[{}]' for run ID='{run_id}'.",
                listed.join(", ")
            ))
            .into())
        }
    }
}

fn log_metrics(conn: &Connection, run_pk: i64, metrics: &[Metric]) -> Result<()> {
    if metrics.is_empty() {
        return Ok(());
    }
    // Rows go in CHUNK at a time: one statement step per chunk instead of
    // per point is most of the insert cost of a 1000-point batch.
    const CHUNK: usize = 50;
    let sql = |rows: usize| {
        let values = vec!["(?, ?, ?, ?, ?, ?)"; rows].join(", ");
        format!("INSERT OR IGNORE INTO metrics(run_pk, key, step, timestamp, is_nan, value) VALUES {values}")
    };
    let bind = |stmt: &mut rusqlite::CachedStatement<'_>, chunk: &[Metric]| -> Result<()> {
        for (i, m) in chunk.iter().enumerate() {
            let nan = m.point.value.is_nan();
            let base = i * 6;
            stmt.raw_bind_parameter(base + 1, run_pk)?;
            stmt.raw_bind_parameter(base + 2, m.key.as_str())?;
            stmt.raw_bind_parameter(base + 3, m.point.step)?;
            stmt.raw_bind_parameter(base + 4, m.point.timestamp)?;
            stmt.raw_bind_parameter(base + 5, nan)?;
            stmt.raw_bind_parameter(base + 6, if nan { 0.0 } else { m.point.value })?;
        }
        stmt.raw_execute()?;
        Ok(())
    };
    let mut chunks = metrics.chunks_exact(CHUNK);
    if chunks.len() > 0 {
        let mut full = conn.prepare_cached(&sql(CHUNK))?;
        for chunk in chunks.by_ref() {
            bind(&mut full, chunk)?;
        }
    }
    if !chunks.remainder().is_empty() {
        let mut one = conn.prepare_cached(&sql(1))?;
        for m in chunks.remainder() {
            bind(&mut one, std::slice::from_ref(m))?;
        }
    }
    let mut newest: Vec<(&str, MetricPoint)> = Vec::new();
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    for m in metrics {
        // Points come in runs of one key: look at the last key before hashing.
        let slot = match newest.last() {
            Some((k, _)) if *k == m.key => newest.len() - 1,
            _ => *by_key.entry(&m.key).or_insert_with(|| {
                newest.push((&m.key, m.point));
                newest.len() - 1
            }),
        };
        if m.point.supersedes(&newest[slot].1) {
            newest[slot].1 = m.point;
        }
    }
    let mut current = conn
        .prepare_cached("SELECT value, is_nan, timestamp, step FROM latest_metrics WHERE run_pk = ?1 AND key = ?2")?;
    let mut upsert = conn.prepare_cached(
        "INSERT INTO latest_metrics(run_pk, key, value, is_nan, timestamp, step) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(run_pk, key) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan,
             timestamp = excluded.timestamp, step = excluded.step",
    )?;
    for (key, point) in newest {
        let old = current
            .query_row(params![run_pk, key], |r| {
                let value: Option<f64> = r.get(0)?;
                let is_nan: bool = r.get(1)?;
                Ok(MetricPoint {
                    value: if is_nan { f64::NAN } else { value.unwrap_or(f64::NAN) },
                    timestamp: r.get(2)?,
                    step: r.get(3)?,
                })
            })
            .optional()?;
        if old.is_none_or(|old| point.supersedes(&old)) {
            let value = if point.value.is_nan() { None } else { Some(point.value) };
            upsert.execute(params![run_pk, key, value, point.value.is_nan(), point.timestamp, point.step])?;
        }
    }
    Ok(())
}

fn log_input(conn: &Connection, run: &RunRow, input: &DatasetInput) -> Result<()> {
    let d = &input.dataset;
    conn.prepare_cached(
        "INSERT INTO datasets(experiment_id, name, digest, source_type, source, schema, profile)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(experiment_id, name, digest) DO NOTHING",
    )?
    .execute(params![run.experiment_id, d.name, d.digest, d.source_type, d.source, d.schema, d.profile])?;
    let dataset_pk: i64 = conn
        .prepare_cached("SELECT pk FROM datasets WHERE experiment_id = ?1 AND name = ?2 AND digest = ?3")?
        .query_row(params![run.experiment_id, d.name, d.digest], |r| r.get(0))?;
    let context = input.tags.iter().find(|t| t.key == "mlflow.data.context").map(|t| t.value.clone());
    let tags_json = serde_json::to_string(&input.tags)?;
    conn.prepare_cached(
        "INSERT INTO run_inputs(run_pk, dataset_pk, tags, context) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(run_pk, dataset_pk) DO NOTHING",
    )?
    .execute(params![run.pk, dataset_pk, tags_json, context])?;
    Ok(())
}

fn live_model(conn: &Connection, model_id: &str) -> Result<()> {
    let stage: Option<String> = conn
        .prepare_cached("SELECT lifecycle_stage FROM logged_models WHERE model_id = ?1")?
        .query_row([model_id], |r| r.get(0))
        .optional()?;
    match stage.as_deref() {
        Some("active") => Ok(()),
        _ => Err(Error::not_found(format!("Logged model with ID '{model_id}' not found.")).into()),
    }
}

fn set_model_tags(conn: &Connection, model_id: &str, tags: &[Tag]) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO logged_model_tags(model_id, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT(model_id, key) DO UPDATE SET value = excluded.value",
    )?;
    for t in tags {
        stmt.execute(params![model_id, t.key, t.value])?;
    }
    Ok(())
}

/// Logged-model params are write-once like run params.
fn log_model_params(conn: &Connection, model_id: &str, params: &[Param]) -> Result<()> {
    let mut existing = conn.prepare_cached("SELECT value FROM logged_model_params WHERE model_id = ?1 AND key = ?2")?;
    let mut insert =
        conn.prepare_cached("INSERT INTO logged_model_params(model_id, key, value) VALUES (?1, ?2, ?3)")?;
    for p in params {
        match existing.query_row(params![model_id, p.key], |r| r.get::<_, String>(0)).optional()? {
            Some(old) if old != p.value => {
                return Err(Error::invalid(format!(
                    "Changing param values is not allowed. Param with key='{}' was already logged with value='{old}' for model ID='{model_id}'. Attempted logging new value '{}'.",
                    p.key, p.value
                ))
                .into());
            }
            Some(_) => {}
            None => {
                insert.execute(params![model_id, p.key, p.value])?;
            }
        }
    }
    Ok(())
}

/// Metrics that name a logged model are also listed on that model.
fn log_model_metrics(conn: &Connection, run_id: &str, metrics: &[Metric]) -> Result<()> {
    for m in metrics {
        let Some(model_id) = &m.model_id else { continue };
        live_model(conn, model_id)?;
        let value = if m.point.value.is_nan() { None } else { Some(m.point.value) };
        conn.prepare_cached(
            "INSERT OR IGNORE INTO logged_model_metrics(model_id, run_id, key, step, timestamp, value, dataset_name, dataset_digest)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![model_id, run_id, m.key, m.point.step, m.point.timestamp, value, m.dataset_name, m.dataset_digest])?;
    }
    Ok(())
}
