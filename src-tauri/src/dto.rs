//! What crosses the IPC boundary to the UI, as JSON. Errors arrive as
//! `{code, message}` with MLflow's codes, never as strings to match.

use std::collections::HashMap;
use std::path::Path;

use almanac_api::{ApiError, RemoteStatus, SyncSummary};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    pub code: String,
    pub message: String,
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        Error { code: e.code.as_str().to_string(), message: e.message }
    }
}

/// Where the app is serving, and how a script logs into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    pub tracking_uri: String,
    pub store: String,
    pub version: String,
    /// Lines to paste into a shell or a notebook.
    pub shell_line: String,
    pub python_lines: String,
}

impl Info {
    pub fn new(tracking_uri: String, store: &Path, version: &str) -> Info {
        Info {
            shell_line: format!("export MLFLOW_TRACKING_URI={tracking_uri}"),
            python_lines: format!("import mlflow\nmlflow.set_tracking_uri(\"{tracking_uri}\")"),
            tracking_uri,
            store: store.display().to_string(),
            version: version.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteState {
    pub name: String,
    pub url: String,
    pub last_sync_ms: Option<i64>,
    pub last_error: Option<String>,
    /// Remote ops not yet applied here, as of the last check or sync.
    pub behind: Option<usize>,
    /// Why the last check could not reach the remote.
    pub unreachable: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub syncing: bool,
    /// Local ops no remote has yet.
    pub ahead: usize,
    pub remotes: Vec<RemoteState>,
    pub auto_sync_minutes: Option<u32>,
    pub now_ms: i64,
}

impl Status {
    pub fn new(
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
}

/// One remote's part of a sync round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncOutcome {
    pub remote: String,
    pub ops_in: usize,
    pub ops_out: usize,
    pub new_runs: u64,
    pub error: Option<Error>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRound {
    pub outcomes: Vec<SyncOutcome>,
    pub new_runs: u64,
}

impl SyncRound {
    pub fn new(outcome: Vec<(String, Result<SyncSummary, ApiError>)>) -> SyncRound {
        let outcomes: Vec<SyncOutcome> = outcome
            .into_iter()
            .map(|(remote, result)| match result {
                Ok(s) => SyncOutcome {
                    remote,
                    ops_in: s.report.ops_in,
                    ops_out: s.report.ops_out,
                    new_runs: s.new_runs,
                    error: None,
                },
                Err(e) => SyncOutcome { remote, ops_in: 0, ops_out: 0, new_runs: 0, error: Some(e.into()) },
            })
            .collect();
        SyncRound { new_runs: outcomes.iter().map(|o| o.new_runs).sum(), outcomes }
    }

    /// The notification to show, if the round brought runs.
    pub fn notice(&self) -> Option<String> {
        if self.new_runs == 0 {
            return None;
        }
        let from: Vec<&str> = self.outcomes.iter().filter(|o| o.new_runs > 0).map(|o| o.remote.as_str()).collect();
        let runs = if self.new_runs == 1 { "1 new run".to_string() } else { format!("{} new runs", self.new_runs) };
        Some(format!("{runs} from {}", from.join(", ")))
    }
}

/// A remote as the remotes dialog lists it. The token is never sent back:
/// only whether one is saved (`None` when the keyring cannot say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteEntry {
    pub name: String,
    pub url: String,
    pub artifacts: Option<String>,
    pub has_token: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveRemote {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub artifacts: Option<String>,
    /// Edit the remote of this name instead of adding one.
    #[serde(default)]
    pub existing: bool,
}

/// The answer to "test this remote".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteCheck {
    pub reachable: bool,
    pub behind: Option<usize>,
    pub error: Option<String>,
}

impl From<Result<usize, String>> for RemoteCheck {
    fn from(r: Result<usize, String>) -> Self {
        match r {
            Ok(n) => RemoteCheck { reachable: true, behind: Some(n), error: None },
            Err(e) => RemoteCheck { reachable: false, behind: None, error: Some(e) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(remote: &str, new_runs: u64) -> SyncOutcome {
        SyncOutcome { remote: remote.into(), ops_in: 0, ops_out: 0, new_runs, error: None }
    }

    #[test]
    fn notices_name_the_runs_and_where_they_came_from() {
        for (outcomes, expected) in [
            (vec![outcome("team", 0)], None),
            (vec![outcome("team", 1)], Some("1 new run from team")),
            (vec![outcome("team", 2), outcome("lab", 0), outcome("home", 3)], Some("5 new runs from team, home")),
        ] {
            let round = SyncRound { new_runs: outcomes.iter().map(|o| o.new_runs).sum(), outcomes };
            assert_eq!(round.notice().as_deref(), expected);
        }
    }

    #[test]
    fn info_gives_paste_ready_lines() {
        let info = Info::new("http://127.0.0.1:5001".into(), Path::new("/s"), "1.2.3");
        assert_eq!(info.shell_line, "export MLFLOW_TRACKING_URI=http://127.0.0.1:5001");
        assert!(info.python_lines.ends_with("mlflow.set_tracking_uri(\"http://127.0.0.1:5001\")"));
    }
}
