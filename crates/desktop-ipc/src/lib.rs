//! The JSON shapes the desktop shell (`almanac-desktop`) and the UI
//! (`almanac-ui`) exchange over Tauri's IPC: one definition for both sides.
//! Errors arrive as `{code, message}` with MLflow's codes, never as strings
//! to match. Pure data and pure helpers; builds for wasm32.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    pub code: String,
    pub message: String,
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
    pub fn new(tracking_uri: String, store: String, version: &str) -> Info {
        Info {
            shell_line: format!("export MLFLOW_TRACKING_URI={tracking_uri}"),
            python_lines: format!("import mlflow\nmlflow.set_tracking_uri(\"{tracking_uri}\")"),
            tracking_uri,
            store,
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

/// The status bar's view of sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub syncing: bool,
    /// Local ops no remote has yet.
    pub ahead: usize,
    pub remotes: Vec<RemoteState>,
    pub auto_sync_minutes: Option<u32>,
    pub now_ms: i64,
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
    pub fn new(outcomes: Vec<SyncOutcome>) -> SyncRound {
        SyncRound { new_runs: outcomes.iter().map(|o| o.new_runs).sum(), outcomes }
    }

    /// The desktop notification to show, if the round brought runs.
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
            assert_eq!(SyncRound::new(outcomes).notice().as_deref(), expected);
        }
    }

    #[test]
    fn info_gives_paste_ready_lines() {
        let info = Info::new("http://127.0.0.1:5001".into(), "/s".into(), "1.2.3");
        assert_eq!(info.shell_line, "export MLFLOW_TRACKING_URI=http://127.0.0.1:5001");
        assert!(info.python_lines.ends_with("mlflow.set_tracking_uri(\"http://127.0.0.1:5001\")"));
    }

    #[test]
    fn a_save_request_may_leave_out_optional_fields() {
        let req: SaveRemote = serde_json_free_parse();
        assert_eq!(req, SaveRemote { name: "team".into(), url: "/srv/t.git".into(), artifacts: None, existing: false });
    }

    /// serde's derive, exercised without a JSON crate: a map of two fields.
    fn serde_json_free_parse() -> SaveRemote {
        use serde::de::value::{MapDeserializer, StrDeserializer};
        let fields = [("name", "team"), ("url", "/srv/t.git")]
            .into_iter()
            .map(|(k, v)| (StrDeserializer::<serde::de::value::Error>::new(k), StrDeserializer::new(v)));
        SaveRemote::deserialize(MapDeserializer::new(fields)).unwrap()
    }
}
