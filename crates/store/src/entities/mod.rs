//! The fold, by entity family: each module owns its op arms and the checks
//! they share, as git-bug keeps one folder per entity. `apply` only
//! dispatches. Families call each other's checks (a run needs an active
//! experiment) through the small `pub(crate)` helpers, never through their
//! tables' internals.

pub(crate) mod artifacts;
pub(crate) mod experiments;
pub(crate) mod logged_models;
pub(crate) mod registry;
pub(crate) mod review;
pub(crate) mod runs;
pub(crate) mod traces;

use almanac_core::op::Op;
use rusqlite::Connection;

use crate::{Result, StoreError};

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

impl Mode {
    /// Whether a deleted experiment or run takes this op.
    fn writes_into_deleted(self) -> bool {
        self != Mode::Local
    }
}

/// Folds one op into the query tables, refusing ops the current state
/// forbids. Ops naming a merged experiment are first pointed at the one it
/// merged into.
pub(crate) fn apply(conn: &Connection, op: &Op, time_ms: i64, mode: Mode, op_id: &str) -> Result<()> {
    let resolved = experiments::resolve_experiment(conn, op)?;
    let op = resolved.as_ref().unwrap_or(op);
    match op {
        Op::CreateExperiment { .. }
        | Op::RenameExperiment { .. }
        | Op::SetExperimentLifecycle { .. }
        | Op::SetExperimentTag { .. }
        | Op::AliasExperiment { .. }
        | Op::DeleteExperimentTag { .. } => experiments::apply(conn, op, time_ms, mode, op_id),
        Op::CreateRun { .. }
        | Op::UpdateRun { .. }
        | Op::SetRunLifecycle { .. }
        | Op::LogBatch { .. }
        | Op::DeleteRunTag { .. }
        | Op::LogRunOutputs { .. }
        | Op::LogInputs { .. } => runs::apply(conn, op, time_ms, mode, op_id),
        Op::CreateLoggedModel { .. }
        | Op::FinalizeLoggedModel { .. }
        | Op::DeleteLoggedModel { .. }
        | Op::SetLoggedModelTags { .. }
        | Op::DeleteLoggedModelTag { .. }
        | Op::LogLoggedModelParams { .. } => logged_models::apply(conn, op, time_ms, mode, op_id),
        Op::PutArtifact { .. } | Op::DeleteArtifacts { .. } => artifacts::apply(conn, op, time_ms, mode, op_id),
        Op::PutTrace { .. } | Op::SetTraceTag { .. } | Op::DeleteTraceTag { .. } | Op::DeleteTrace { .. } => {
            traces::apply(conn, op, time_ms, mode, op_id)
        }
        Op::PutAnnotation { .. } | Op::DeleteAnnotation { .. } | Op::SaveView { .. } | Op::DeleteView { .. } => {
            review::apply(conn, op, time_ms, mode, op_id)
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
        | Op::DeleteModelVersionTag { .. } => registry::apply(conn, op, time_ms, mode, op_id),
    }
}

/// A family was handed another family's op: a dispatch bug, never input.
fn not_this_family(op: &Op, family: &str) -> StoreError {
    StoreError::Domain(almanac_core::Error::new(
        almanac_core::ErrorCode::InternalError,
        format!("op {} reached the {family} fold", op.kind()),
    ))
}
