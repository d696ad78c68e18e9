//! MLflow 3's logged models: creation, finalizing, deletion, tags, params,
//! and the metrics runs link to them. Fold arms and the checks they share.

pub(crate) mod queries;

use almanac_core::Error;
use almanac_core::model::{Metric, Param, Tag};
use almanac_core::op::Op;
use rusqlite::{Connection, OptionalExtension, params};

use super::Mode;
use super::experiments::active_experiment;
use crate::Result;

/// Folds one of this family's ops into its tables.
pub(super) fn apply(conn: &Connection, op: &Op, time_ms: i64, mode: Mode, _op_id: &str) -> Result<()> {
    match op {
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
        other => return Err(super::not_this_family(other, "logged_models")),
    }
    Ok(())
}

pub(crate) fn live_model(conn: &Connection, model_id: &str) -> Result<()> {
    let stage: Option<String> = conn
        .prepare_cached("SELECT lifecycle_stage FROM logged_models WHERE model_id = ?1")?
        .query_row([model_id], |r| r.get(0))
        .optional()?;
    match stage.as_deref() {
        Some("active") => Ok(()),
        _ => Err(Error::not_found(format!("Logged model with ID '{model_id}' not found.")).into()),
    }
}

pub(crate) fn set_model_tags(conn: &Connection, model_id: &str, tags: &[Tag]) -> Result<()> {
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
pub(crate) fn log_model_params(conn: &Connection, model_id: &str, params: &[Param]) -> Result<()> {
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
pub(crate) fn log_model_metrics(conn: &Connection, run_id: &str, metrics: &[Metric]) -> Result<()> {
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

/// This family's tables, by schema version (see `crate::schema`).
pub(crate) const MIGRATIONS: &[(usize, &str)] = &[
    // 3: MLflow 3 logged models and run outputs.
    (
        3,
        r#"
    CREATE TABLE logged_models (
        model_id          TEXT PRIMARY KEY,
        experiment_id     TEXT NOT NULL REFERENCES experiments(experiment_id),
        name              TEXT NOT NULL,
        artifact_location TEXT NOT NULL,
        creation_time     INTEGER NOT NULL,
        last_update_time  INTEGER NOT NULL,
        status            TEXT NOT NULL,
        model_type        TEXT,
        source_run_id     TEXT,
        lifecycle_stage   TEXT NOT NULL
    );
    CREATE INDEX logged_models_by_experiment ON logged_models(experiment_id, creation_time);
    CREATE INDEX logged_models_by_run ON logged_models(source_run_id);
    CREATE TABLE logged_model_tags (
        model_id TEXT NOT NULL REFERENCES logged_models(model_id),
        key      TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (model_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE logged_model_params (
        model_id TEXT NOT NULL REFERENCES logged_models(model_id),
        key      TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (model_id, key)
    ) WITHOUT ROWID;"#,
    ),
    // 5: metrics logged against logged models.
    (
        5,
        r#"
    -- Metrics logged against a logged model (MLflow 3), one row per point.
    CREATE TABLE logged_model_metrics (
        model_id       TEXT NOT NULL,
        run_id         TEXT NOT NULL,
        key            TEXT NOT NULL,
        step           INTEGER NOT NULL,
        timestamp      INTEGER NOT NULL,
        value          REAL,
        dataset_name   TEXT,
        dataset_digest TEXT
    );
    CREATE UNIQUE INDEX logged_model_metrics_point
        ON logged_model_metrics(model_id, key, step, timestamp, run_id, value);
    "#,
    ),
];
