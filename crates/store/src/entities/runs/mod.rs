//! Runs: their records, params, metrics (the clustered `metrics` table and
//! `latest_metrics`), tags, dataset inputs and model outputs. Fold arms and
//! the checks they share.

pub(crate) mod queries;

use std::collections::HashMap;

use almanac_core::Error;
use almanac_core::model::{DatasetInput, LifecycleStage, Metric, MetricPoint, Param, Tag, tags};
use almanac_core::op::Op;
use rusqlite::{Connection, OptionalExtension, params};

use super::Mode;
use super::experiments::active_experiment;
use super::logged_models::log_model_metrics;
use crate::Result;

/// Folds one of this family's ops into its tables.
pub(super) fn apply(conn: &Connection, op: &Op, _time_ms: i64, mode: Mode, _op_id: &str) -> Result<()> {
    match op {
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

        other => return Err(super::not_this_family(other, "runs")),
    }
    Ok(())
}

pub(crate) struct RunRow {
    pub(crate) pk: i64,
    pub(crate) experiment_id: String,
    pub(crate) stage: LifecycleStage,
}

pub(crate) fn run_row(conn: &Connection, run_id: &str) -> Result<RunRow> {
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

pub(crate) fn active_run(conn: &Connection, run_id: &str, mode: Mode) -> Result<RunRow> {
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

pub(crate) fn upsert_run_tag(conn: &Connection, run_pk: i64, tag: &Tag) -> Result<()> {
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

pub(crate) fn log_params(conn: &Connection, run_pk: i64, run_id: &str, params: &[Param], mode: Mode) -> Result<()> {
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

pub(crate) fn log_metrics(conn: &Connection, run_pk: i64, metrics: &[Metric]) -> Result<()> {
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

pub(crate) fn log_input(conn: &Connection, run: &RunRow, input: &DatasetInput) -> Result<()> {
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

/// This family's tables, by schema version (see `crate::schema`).
pub(crate) const MIGRATIONS: &[(usize, &str)] = &[
    // 1: tracking core.
    (
        1,
        r#"
    CREATE TABLE runs (
        pk              INTEGER PRIMARY KEY,
        run_id          TEXT NOT NULL UNIQUE,
        experiment_id   TEXT NOT NULL REFERENCES experiments(experiment_id),
        run_name        TEXT NOT NULL,
        user_id         TEXT NOT NULL,
        status          TEXT NOT NULL,
        start_time      INTEGER NOT NULL,
        end_time        INTEGER,
        artifact_uri    TEXT NOT NULL,
        lifecycle_stage TEXT NOT NULL
    );
    -- Serves the default order (start_time DESC, run_id) within an experiment.
    CREATE INDEX runs_by_experiment ON runs(experiment_id, start_time DESC, run_id);

    CREATE TABLE params (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        key    TEXT NOT NULL,
        value  TEXT NOT NULL,
        PRIMARY KEY (run_pk, key)
    ) WITHOUT ROWID;
    CREATE INDEX params_by_key ON params(key, value);

    CREATE TABLE run_tags (
        run_pk INTEGER NOT NULL REFERENCES runs(pk),
        key    TEXT NOT NULL,
        value  TEXT NOT NULL,
        PRIMARY KEY (run_pk, key)
    ) WITHOUT ROWID;
    CREATE INDEX run_tags_by_key ON run_tags(key, value);

    -- Every metric point. NaN is stored as NULL (SQLite has no NaN).
    CREATE TABLE metrics (
        run_pk    INTEGER NOT NULL,
        key       TEXT NOT NULL,
        step      INTEGER NOT NULL,
        timestamp INTEGER NOT NULL,
        value     REAL
    );
    -- Identical points are stored once, as in MLflow.
    CREATE UNIQUE INDEX metrics_by_run_key_step ON metrics(run_pk, key, step, timestamp, value);

    -- Each run's latest value per key (MLflow's latest-metric rule).
    CREATE TABLE latest_metrics (
        run_pk    INTEGER NOT NULL,
        key       TEXT NOT NULL,
        value     REAL,
        is_nan    INTEGER NOT NULL,
        timestamp INTEGER NOT NULL,
        step      INTEGER NOT NULL,
        PRIMARY KEY (run_pk, key)
    ) WITHOUT ROWID;
    CREATE INDEX latest_metrics_by_key ON latest_metrics(key, value);

    CREATE TABLE datasets (
        pk            INTEGER PRIMARY KEY,
        experiment_id TEXT NOT NULL,
        name          TEXT NOT NULL,
        digest        TEXT NOT NULL,
        source_type   TEXT NOT NULL,
        source        TEXT NOT NULL,
        schema        TEXT,
        profile       TEXT,
        UNIQUE (experiment_id, name, digest)
    );
    CREATE TABLE run_inputs (
        run_pk     INTEGER NOT NULL REFERENCES runs(pk),
        dataset_pk INTEGER NOT NULL REFERENCES datasets(pk),
        tags       TEXT NOT NULL,
        context    TEXT,
        PRIMARY KEY (run_pk, dataset_pk)
    ) WITHOUT ROWID;
    "#,
    ),
    // 3: MLflow 3 logged models and run outputs.
    (
        3,
        r#"
    CREATE TABLE run_outputs (
        run_pk   INTEGER NOT NULL REFERENCES runs(pk),
        model_id TEXT NOT NULL,
        step     INTEGER NOT NULL,
        PRIMARY KEY (run_pk, model_id)
    ) WITHOUT ROWID;
    "#,
    ),
    // 7: metric points indexed in MLflow's history order (timestamp, step,
    // value), so paging a history walks the index instead of sorting it.
    (
        7,
        r#"
    DROP INDEX metrics_by_run_key_step;
    CREATE UNIQUE INDEX metrics_by_run_key_time ON metrics(run_pk, key, timestamp, step, value);
    "#,
    ),
    // 8: metric points clustered by their key, one B-tree instead of a table
    // plus an index: half the writes per point. NaN is is_nan = 1, value 0
    // (a primary key cannot hold NULL), as in MLflow's SQL store.
    (
        8,
        r#"
    CREATE TABLE metric_points (
        run_pk    INTEGER NOT NULL,
        key       TEXT NOT NULL,
        timestamp INTEGER NOT NULL,
        step      INTEGER NOT NULL,
        is_nan    INTEGER NOT NULL,
        value     REAL NOT NULL,
        PRIMARY KEY (run_pk, key, timestamp, step, is_nan, value)
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO metric_points(run_pk, key, timestamp, step, is_nan, value)
        SELECT run_pk, key, timestamp, step, value IS NULL, coalesce(value, 0) FROM metrics;
    DROP TABLE metrics;
    ALTER TABLE metric_points RENAME TO metrics;
    "#,
    ),
    // 14: logged models a run used as inputs (MLflow 3 `log_inputs(models=…)`).
    (
        14,
        r#"
    CREATE TABLE run_model_inputs (
        run_pk   INTEGER NOT NULL REFERENCES runs(pk),
        model_id TEXT NOT NULL,
        PRIMARY KEY (run_pk, model_id)
    ) WITHOUT ROWID;
    "#,
    ),
];
