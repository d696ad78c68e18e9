//! Traces: the record the client sends when a trace ends, its tags and its
//! deletion. Fold arms; the reads are in `queries`.

pub(crate) mod queries;

use almanac_core::Error;
use almanac_core::op::Op;
use rusqlite::{Connection, OptionalExtension, params};

use super::Mode;
use super::experiments::{active_experiment, canonical_experiment};
use crate::Result;

/// Folds one of this family's ops into its tables.
pub(super) fn apply(conn: &Connection, op: &Op, _time_ms: i64, mode: Mode, _op_id: &str) -> Result<()> {
    match op {
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
        other => return Err(super::not_this_family(other, "traces")),
    }
    Ok(())
}

/// A trace a client may change: it exists and, for a client's request, is
/// not deleted. Replayed ops touch whatever the journal names.
pub(crate) fn live_trace(conn: &Connection, trace_id: &str, mode: Mode) -> Result<()> {
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

/// This family's tables, by schema version (see `crate::schema`).
pub(crate) const MIGRATIONS: &[(usize, &str)] = &[
    // 13: traces (MLflow 3 GenAI tracing): records, metadata and tags; the
    // spans are the trace's `traces.json` artifact. Deleting marks the row,
    // so gc can free the spans and a replayed delete stays a delete.
    (
        13,
        r#"
    CREATE TABLE traces (
        trace_id              TEXT PRIMARY KEY,
        experiment_id         TEXT NOT NULL,
        client_request_id     TEXT,
        request_time_ms       INTEGER NOT NULL,
        execution_duration_ms INTEGER,
        state                 TEXT NOT NULL,
        request_preview       TEXT,
        response_preview      TEXT,
        deleted               INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX traces_by_experiment ON traces(experiment_id, request_time_ms);
    CREATE TABLE trace_tags (
        trace_id TEXT NOT NULL,
        key      TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (trace_id, key)
    ) WITHOUT ROWID;
    CREATE TABLE trace_metadata (
        trace_id TEXT NOT NULL,
        key      TEXT NOT NULL,
        value    TEXT NOT NULL,
        PRIMARY KEY (trace_id, key)
    ) WITHOUT ROWID;
    "#,
    ),
];
