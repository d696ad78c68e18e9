//! Experiments: creating, renaming, deleting and restoring them (their runs
//! follow), their tags, and the aliases that keep merged or imported ids
//! resolving. Fold arms and the checks they share.

pub(crate) mod queries;

use almanac_core::Error;
use almanac_core::model::{LifecycleStage, Tag};
use almanac_core::op::Op;
use rusqlite::{Connection, OptionalExtension, params};

use super::Mode;
use crate::Result;

/// Folds one of this family's ops into its tables.
pub(super) fn apply(conn: &Connection, op: &Op, time_ms: i64, mode: Mode, _op_id: &str) -> Result<()> {
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
        other => return Err(super::not_this_family(other, "experiments")),
    }
    Ok(())
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
pub(crate) fn resolve_experiment(conn: &Connection, op: &Op) -> Result<Option<Op>> {
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

pub(crate) fn experiment_stage(conn: &Connection, experiment_id: &str) -> Result<LifecycleStage> {
    let stage: Option<String> = conn
        .prepare_cached("SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?1")?
        .query_row([experiment_id], |r| r.get(0))
        .optional()?;
    match stage {
        Some(s) => Ok(LifecycleStage::parse(&s).unwrap_or(LifecycleStage::Active)),
        None => Err(Error::not_found(format!("No Experiment with id={experiment_id} exists")).into()),
    }
}

pub(crate) fn active_experiment(conn: &Connection, experiment_id: &str, mode: Mode) -> Result<()> {
    match experiment_stage(conn, experiment_id)? {
        _ if mode.writes_into_deleted() => Ok(()),
        LifecycleStage::Active => Ok(()),
        LifecycleStage::Deleted => Err(Error::invalid(format!(
            "The experiment {experiment_id} must be in the 'active' state. Current state is deleted."
        ))
        .into()),
    }
}

pub(crate) fn name_taken(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM experiments WHERE name = ?1")?
        .query_row([name], |_| Ok(()))
        .optional()?
        .is_some())
}

pub(crate) fn upsert_experiment_tag(conn: &Connection, experiment_id: &str, tag: &Tag) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO experiment_tags(experiment_id, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT(experiment_id, key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![experiment_id, tag.key, tag.value])?;
    Ok(())
}

/// This family's tables, by schema version (see `crate::schema`).
pub(crate) const MIGRATIONS: &[(usize, &str)] = &[
    // 1: tracking core.
    (
        1,
        r#"
    -- Query tables: a projection of the journal.
    CREATE TABLE experiments (
        experiment_id     TEXT PRIMARY KEY,
        name              TEXT NOT NULL UNIQUE,
        artifact_location TEXT NOT NULL,
        lifecycle_stage   TEXT NOT NULL,
        creation_time     INTEGER NOT NULL,
        last_update_time  INTEGER NOT NULL
    );
    CREATE TABLE experiment_tags (
        experiment_id TEXT NOT NULL REFERENCES experiments(experiment_id),
        key           TEXT NOT NULL,
        value         TEXT NOT NULL,
        PRIMARY KEY (experiment_id, key)
    ) WITHOUT ROWID;
"#,
    ),
    // 6: replication. Remotes and sync bookkeeping are local: they never sync.
    (
        6,
        r#"
    -- Experiments created under the same name on two replicas merge: the one
    -- first in fold order keeps the name, the other's id becomes an alias.
    CREATE TABLE experiment_aliases (
        alias     TEXT PRIMARY KEY,
        canonical TEXT NOT NULL
    ) WITHOUT ROWID;"#,
    ),
];
