//! The IPC shapes (`almanac-desktop-ipc`, shared with the UI) built from the
//! app's types. Errors become `{code, message}` with MLflow's codes here, at
//! the boundary.

use std::collections::HashMap;

use almanac_api::{ApiError, RemoteStatus, SyncSummary};
pub use almanac_desktop_ipc::*;

pub fn error(e: ApiError) -> Error {
    Error { code: e.code.as_str().to_string(), message: e.message }
}

pub fn status(
    remotes: Vec<RemoteStatus>,
    behind: &HashMap<String, Result<usize, String>>,
    syncing: bool,
    auto_sync_minutes: Option<u32>,
    now_ms: i64,
) -> Status {
    let ahead = remotes.first().map_or(0, |r| r.unsent_ops);
    let remotes = remotes
        .into_iter()
        .map(|r| {
            let checked = behind.get(&r.remote.name);
            RemoteState {
                behind: checked.and_then(|b| b.as_ref().ok().copied()),
                unreachable: checked.and_then(|b| b.as_ref().err().cloned()),
                name: r.remote.name,
                url: r.remote.url,
                last_sync_ms: r.state.last_sync_ms,
                last_error: r.state.last_error,
            }
        })
        .collect();
    Status { syncing, ahead, remotes, auto_sync_minutes, now_ms }
}

pub fn round(outcome: Vec<(String, Result<SyncSummary, ApiError>)>) -> SyncRound {
    SyncRound::new(
        outcome
            .into_iter()
            .map(|(remote, result)| match result {
                Ok(s) => SyncOutcome {
                    remote,
                    ops_in: s.report.ops_in,
                    ops_out: s.report.ops_out,
                    new_runs: s.new_runs,
                    error: None,
                },
                Err(e) => SyncOutcome { remote, ops_in: 0, ops_out: 0, new_runs: 0, error: Some(error(e)) },
            })
            .collect(),
    )
}
