//! What the desktop app's status bar says about sync, from the shell's
//! `sync_status` answer. Pure, so it is tested natively; the IPC types are
//! the shell's own (`almanac-desktop-ipc`).

pub use almanac_desktop_ipc::{Info, RemoteCheck, RemoteEntry, RemoteState, Status, SyncOutcome, SyncRound};

/// How a status reads: calm, worth a look, or in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Calm,
    Busy,
    Warn,
}

/// `just now`, `5 min ago`, `3 h ago`, `2 days ago`.
pub fn ago(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => "just now".into(),
        60..3600 => format!("{} min ago", s / 60),
        3600..86_400 => format!("{} h ago", s / 3600),
        86_400..172_800 => "1 day ago".into(),
        _ => format!("{} days ago", s / 86_400),
    }
}

/// The status bar's sync text.
pub fn sync_line(status: &Status) -> (String, Tone) {
    if status.syncing {
        return ("Syncing…".into(), Tone::Busy);
    }
    if status.remotes.is_empty() {
        return ("Not shared yet: add a remote to sync".into(), Tone::Calm);
    }
    if let Some(r) = status.remotes.iter().find(|r| r.last_error.is_some()) {
        let error = r.last_error.as_deref().unwrap_or_default();
        return (format!("Sync with {} failed: {error}", r.name), Tone::Warn);
    }
    let last = status.remotes.iter().filter_map(|r| r.last_sync_ms).max();
    let mut text = match last {
        Some(ms) => format!("Synced {}", ago(status.now_ms - ms)),
        None => "Never synced".into(),
    };
    if status.ahead > 0 {
        text.push_str(&format!(" · {} to send", status.ahead));
    }
    let behind: usize = status.remotes.iter().filter_map(|r| r.behind).sum();
    if behind > 0 {
        text.push_str(&format!(" · {behind} to fetch"));
    }
    if let Some(r) = status.remotes.iter().find(|r| r.unreachable.is_some()) {
        text.push_str(&format!(" · {} unreachable", r.name));
        return (text, Tone::Warn);
    }
    (text, Tone::Calm)
}

/// What a sync round says when it ends.
pub fn round_summary(round: &SyncRound) -> (String, Tone) {
    let failed: Vec<String> = round
        .outcomes
        .iter()
        .filter_map(|o| o.error.as_ref().map(|e| format!("{}: {}", o.remote, e.message)))
        .collect();
    if !failed.is_empty() {
        return (format!("Sync failed for {}", failed.join("; ")), Tone::Warn);
    }
    if round.outcomes.is_empty() {
        return ("No remotes to sync with: add one under Remotes".into(), Tone::Calm);
    }
    let text = match round.new_runs {
        0 => "Synced: no new runs".to_string(),
        1 => "Synced: 1 new run".to_string(),
        n => format!("Synced: {n} new runs"),
    };
    (text, Tone::Calm)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(name: &str, last: Option<i64>, error: Option<&str>, behind: Option<usize>) -> RemoteState {
        RemoteState {
            name: name.into(),
            url: format!("/srv/{name}.git"),
            last_sync_ms: last,
            last_error: error.map(str::to_string),
            behind,
            unreachable: None,
        }
    }

    fn status(remotes: Vec<RemoteState>, ahead: usize) -> Status {
        Status { syncing: false, ahead, remotes, auto_sync_minutes: None, now_ms: 10_000_000 }
    }

    #[test]
    fn sync_lines() {
        let mut unreachable = remote("lab", Some(9_000_000), None, None);
        unreachable.unreachable = Some("no route".into());
        for (s, expected, tone) in [
            (status(vec![], 0), "Not shared yet: add a remote to sync", Tone::Calm),
            (status(vec![remote("team", None, None, None)], 2), "Never synced · 2 to send", Tone::Calm),
            (status(vec![remote("team", Some(9_700_000), None, Some(0))], 0), "Synced 5 min ago", Tone::Calm),
            (
                status(vec![remote("team", Some(9_990_000), None, Some(3)), unreachable], 1),
                "Synced just now · 1 to send · 3 to fetch · lab unreachable",
                Tone::Warn,
            ),
            (
                status(vec![remote("team", Some(1), Some("auth failed"), None)], 0),
                "Sync with team failed: auth failed",
                Tone::Warn,
            ),
            (Status { syncing: true, ..status(vec![], 0) }, "Syncing…", Tone::Busy),
        ] {
            assert_eq!(sync_line(&s), (expected.to_string(), tone), "{s:?}");
        }
    }

    #[test]
    fn round_summaries() {
        let ok = |remote: &str, new_runs| SyncOutcome {
            remote: remote.into(),
            ops_in: 1,
            ops_out: 1,
            new_runs,
            error: None,
        };
        let failed = SyncOutcome {
            error: Some(almanac_desktop_ipc::Error {
                code: "TEMPORARILY_UNAVAILABLE".into(),
                message: "offline".into(),
            }),
            ..ok("lab", 0)
        };
        for (outcomes, expected) in [
            (vec![], "No remotes to sync with: add one under Remotes"),
            (vec![ok("team", 0)], "Synced: no new runs"),
            (vec![ok("team", 1)], "Synced: 1 new run"),
            (vec![ok("team", 2), ok("home", 1)], "Synced: 3 new runs"),
            (vec![ok("team", 2), failed], "Sync failed for lab: offline"),
        ] {
            assert_eq!(round_summary(&SyncRound::new(outcomes)).0, expected);
        }
    }

    #[test]
    fn ages() {
        for (ms, text) in [
            (0, "just now"),
            (59_999, "just now"),
            (60_000, "1 min ago"),
            (7_200_000, "2 h ago"),
            (90_000_000, "1 day ago"),
            (200_000_000, "2 days ago"),
        ] {
            assert_eq!(ago(ms), text);
        }
    }
}
