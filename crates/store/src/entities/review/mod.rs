//! The review UI's own records, kept as ops so they sync with their run or
//! experiment: annotations on a metric at a step, and saved views.

pub(crate) mod queries;

use almanac_core::Error;
use almanac_core::op::Op;
use rusqlite::{Connection, OptionalExtension, params};

use super::Mode;
use super::experiments::canonical_experiment;
use super::runs::run_row;
use crate::Result;

/// Folds one of this family's ops into its tables.
pub(super) fn apply(conn: &Connection, op: &Op, time_ms: i64, _mode: Mode, _op_id: &str) -> Result<()> {
    match op {
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
        other => return Err(super::not_this_family(other, "review")),
    }
    Ok(())
}

/// This family's tables, by schema version (see `crate::schema`).
pub(crate) const MIGRATIONS: &[(usize, &str)] = &[
    // 11: annotations on runs' metrics, a projection of the journal like
    // every other table, so they sync with the run.
    (
        11,
        r#"
    CREATE TABLE annotations (
        annotation_id TEXT PRIMARY KEY,
        run_pk        INTEGER NOT NULL REFERENCES runs(pk),
        metric_key    TEXT NOT NULL,
        step          INTEGER NOT NULL,
        text          TEXT NOT NULL,
        author        TEXT NOT NULL,
        created_ms    INTEGER NOT NULL
    );
    CREATE INDEX annotations_by_run ON annotations(run_pk, metric_key, step);
    "#,
    ),
    // 12: saved comparison views, kept with their experiment and synced.
    (
        12,
        r#"
    CREATE TABLE saved_views (
        view_id       TEXT PRIMARY KEY,
        experiment_id TEXT NOT NULL,
        name          TEXT NOT NULL,
        spec          TEXT NOT NULL,
        created_ms    INTEGER NOT NULL,
        updated_ms    INTEGER NOT NULL
    );
    CREATE INDEX saved_views_by_experiment ON saved_views(experiment_id, name);
    "#,
    ),
];
