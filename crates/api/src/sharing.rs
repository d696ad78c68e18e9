//! Sharing through git: remotes, sync, and artifact bytes on a remote's
//! artifact folder (pushed at sync, fetched lazily on first read).

use std::path::{Path, PathBuf};

use almanac_core::Error;
pub use almanac_secrets::TokenVault;
use almanac_store::{EntityOp, Remote, SyncState};
pub use almanac_sync::{Credentials, Stage, SyncReport};

use crate::{ApiError, App, ErrorCode, Result};

/// One remote and where it stands, for `almanac sync --status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteStatus {
    pub remote: Remote,
    pub state: SyncState,
    /// This store's ops not yet sent anywhere.
    pub unsent_ops: usize,
    /// Ops on the remote not yet applied here, or why that is unknown;
    /// `None` when the remote was not asked.
    pub behind: Option<Result<usize, String>>,
}

/// What a sync did, including artifact bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncSummary {
    pub report: SyncReport,
    pub blobs_out: usize,
    pub bytes_out: u64,
    /// Active runs this store gained from the sync.
    pub new_runs: u64,
}

fn blob_path(dir: &Path, sha256: &str) -> PathBuf {
    dir.join("sha256").join(&sha256[..2]).join(sha256)
}

/// A sync failure as the UI shows it: a bad bundle is the caller's
/// mistake; git and network trouble is worth retrying.
pub(crate) fn sync_error(e: almanac_sync::SyncError) -> ApiError {
    let code = match &e {
        almanac_sync::SyncError::Store(s) => s.code(),
        almanac_sync::SyncError::Bundle(_) => ErrorCode::InvalidParameterValue,
        _ => ErrorCode::TemporarilyUnavailable,
    };
    ApiError { code, message: e.to_string() }
}

/// Tokens from a vault, looked up by the remote's URL at the moment git
/// asks for one.
pub struct VaultCredentials<'a>(pub &'a TokenVault);

impl Credentials for VaultCredentials<'_> {
    fn token(&self, url: &str) -> Option<String> {
        match self.0.token(url) {
            Ok(token) => token,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read a remote token from the keyring");
                None
            }
        }
    }
}

/// Refuses URLs that would put a secret into the store's database.
fn check_remote_url(url: &str) -> Result<()> {
    if url.trim().is_empty() {
        return Err(Error::invalid("A remote needs a URL: a git URL or a path to a bare repository.").into());
    }
    if url.contains('@') && url.starts_with("http") {
        return Err(Error::invalid(
            "Do not put credentials in the URL: add the remote without them, then run `almanac remote login`",
        )
        .into());
    }
    Ok(())
}

fn secret_error(e: almanac_secrets::SecretError) -> ApiError {
    ApiError { code: ErrorCode::TemporarilyUnavailable, message: e.to_string() }
}

impl App {
    /// An entity's history: every op recorded against it (a run id,
    /// experiment id, registered model name, logged model id), in the order
    /// every replica folds them, including values that concurrent edits
    /// overwrote and ops the fold refused.
    pub fn entity_history(&self, entity_id: &str, max_results: Option<i64>) -> Result<Vec<EntityOp>> {
        if entity_id.is_empty() {
            return Err(Error::invalid("Missing value for required parameter 'entity_id'.").into());
        }
        let limit = crate::tracking::positive_max(max_results, 1000, 10_000)?;
        Ok(self.store().entity_history(entity_id, limit)?)
    }

    /// Stores the access token for a remote in `vault`, filed under its URL.
    pub fn login_remote(&self, name: &str, token: &str, vault: &TokenVault) -> Result<()> {
        let remote = self.remote(name)?;
        let token = token.trim();
        if token.is_empty() || token.chars().any(char::is_whitespace) {
            return Err(Error::invalid("A token is one word with no spaces; nothing was saved.").into());
        }
        vault.save(&remote.url, token).map_err(secret_error)
    }

    /// Forgets a remote's token. Returns whether there was one.
    pub fn logout_remote(&self, name: &str, vault: &TokenVault) -> Result<bool> {
        let remote = self.remote(name)?;
        vault.forget(&remote.url).map_err(secret_error)
    }

    pub fn add_remote(&self, name: &str, url: &str, artifacts: Option<&str>) -> Result<()> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(
                Error::invalid(format!("Invalid remote name '{name}': use letters, digits, '-' and '_'")).into()
            );
        }
        check_remote_url(url)?;
        Ok(self.store().add_remote(&Remote {
            name: name.into(),
            url: url.into(),
            artifacts: artifacts.map(str::to_string),
        })?)
    }

    /// Points remote `name` somewhere else, keeping its sync history.
    pub fn update_remote(&self, name: &str, url: &str, artifacts: Option<&str>) -> Result<()> {
        check_remote_url(url)?;
        Ok(self.store().update_remote(&Remote {
            name: name.into(),
            url: url.into(),
            artifacts: artifacts.map(str::to_string),
        })?)
    }

    pub fn remove_remote(&self, name: &str) -> Result<()> {
        Ok(self.store().remove_remote(name)?)
    }

    pub fn remotes(&self) -> Result<Vec<Remote>> {
        Ok(self.store().remotes()?)
    }

    pub fn remote(&self, name: &str) -> Result<Remote> {
        self.remotes()?.into_iter().find(|r| r.name == name).ok_or_else(|| {
            Error::not_found(format!("No remote named '{name}'. Add one with `almanac remote add`.")).into()
        })
    }

    /// Whether a token for remote `name` is in `vault`. The token itself
    /// never leaves the vault except to git.
    pub fn has_token(&self, name: &str, vault: &TokenVault) -> Result<bool> {
        let remote = self.remote(name)?;
        Ok(vault.token(&remote.url).map_err(secret_error)?.is_some())
    }

    /// Where each remote stands. With `reach`, asks each remote what it holds
    /// that this store lacks (a fetch that changes nothing here); a remote
    /// that cannot be reached shows why instead. Without it, nothing leaves
    /// the machine.
    pub fn remote_status(&self, reach: Option<&dyn Credentials>) -> Result<Vec<RemoteStatus>> {
        let unsent = self.store().count_own_ops_after(self.store().exported_seq()?)?;
        let repo_dir = self.store().root().join("sync.git");
        self.remotes()?
            .into_iter()
            .map(|remote| {
                let state = self.store().sync_state(&remote.name)?;
                let behind = reach.map(|credentials| {
                    almanac_sync::behind(self.store(), &repo_dir, &remote, credentials)
                        .map_err(|e| sync_error(e).message)
                });
                Ok(RemoteStatus { remote, state, unsent_ops: unsent, behind })
            })
            .collect()
    }

    /// Reaches remote `name` and counts its ops not yet applied here: a
    /// fetch that changes nothing in the store. Tests a remote's URL and
    /// credentials.
    pub fn remote_behind(&self, name: &str, credentials: &dyn Credentials) -> Result<usize> {
        let remote = self.remote(name)?;
        let repo_dir = self.store().root().join("sync.git");
        almanac_sync::behind(self.store(), &repo_dir, &remote, credentials).map_err(sync_error)
    }

    /// Syncs with one remote: ops both ways through git, then artifact bytes
    /// out to the remote's artifact folder. The outcome, error included, is
    /// recorded for `--status`.
    pub fn sync(
        &self,
        name: &str,
        credentials: &dyn Credentials,
        progress: &mut dyn FnMut(Stage),
    ) -> Result<SyncSummary> {
        let remote = self.remote(name)?;
        let repo_dir = self.store().root().join("sync.git");
        let runs_before = self.active_runs()?;
        let outcome = almanac_sync::sync(self.store(), &repo_dir, &remote, self.now(), credentials, progress)
            .map_err(sync_error)
            .and_then(|report| {
                let (blobs_out, bytes_out) = match &remote.artifacts {
                    Some(dir) => self.push_blobs(Path::new(dir))?,
                    None => (0, 0),
                };
                let new_runs = self.active_runs()?.saturating_sub(runs_before);
                Ok(SyncSummary { report, blobs_out, bytes_out, new_runs })
            });
        let previous = self.store().sync_state(name)?;
        let state = match &outcome {
            Ok(s) => SyncState {
                last_sync_ms: Some(self.now()),
                last_error: None,
                ops_in: s.report.ops_in as i64,
                ops_out: s.report.ops_out as i64,
            },
            Err(e) => SyncState { last_error: Some(e.message.clone()), ..previous },
        };
        self.store().record_sync(name, &state)?;
        outcome
    }

    /// Syncs with every remote in turn; one failing does not stop the rest.
    pub fn sync_all(
        &self,
        credentials: &dyn Credentials,
        progress: &mut dyn FnMut(&str, Stage),
    ) -> Result<Vec<(String, Result<SyncSummary>)>> {
        Ok(self
            .remotes()?
            .into_iter()
            .map(|remote| {
                let outcome = self.sync(&remote.name, credentials, &mut |stage| progress(&remote.name, stage));
                (remote.name, outcome)
            })
            .collect())
    }

    fn active_runs(&self) -> Result<u64> {
        Ok(self.store().run_counts()?.values().map(|&n| n.max(0) as u64).sum())
    }

    /// Copies every blob the artifact folder lacks into it.
    fn push_blobs(&self, dir: &Path) -> Result<(usize, u64)> {
        let mut count = 0;
        let mut bytes = 0;
        for blob in self.inner.blobs.list()? {
            let target = blob_path(dir, &blob.sha256);
            if target.exists() {
                continue;
            }
            let parent = target.parent().unwrap_or(dir);
            let io = |e: std::io::Error| ApiError {
                code: ErrorCode::TemporarilyUnavailable,
                message: format!("cannot write to the artifact folder {}: {e}", dir.display()),
            };
            std::fs::create_dir_all(parent).map_err(io)?;
            let temp = parent.join(format!(".{}.partial", blob.sha256));
            let mut source = self.inner.blobs.open_blob(&blob.sha256)?;
            let mut file = std::fs::File::create(&temp).map_err(io)?;
            std::io::copy(&mut source, &mut file).map_err(io)?;
            std::fs::rename(&temp, &target).map_err(io)?;
            count += 1;
            bytes += blob.size;
        }
        Ok((count, bytes))
    }

    /// Fetches a blob this store lacks from the first remote artifact folder
    /// that has it, checking its hash. Returns whether it was found.
    pub(crate) fn fetch_blob(&self, sha256: &str, size: u64) -> Result<bool> {
        for remote in self.remotes()? {
            let Some(dir) = remote.artifacts else { continue };
            let path = blob_path(Path::new(&dir), sha256);
            let Ok(file) = std::fs::File::open(&path) else { continue };
            let temp_name = format!("{:016x}{:016x}", self.random(), self.random());
            let blob = self.inner.blobs.put(file, Some(size), &temp_name)?;
            if blob.sha256 != sha256 {
                tracing::warn!(remote = %remote.name, %sha256, "remote artifact content does not match its hash");
                continue;
            }
            return Ok(true);
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use almanac_secrets::memory::MemoryKeyring;

    use super::*;
    use crate::{FixedClock, SeededEntropy};

    #[test]
    fn login_files_the_token_under_the_remote_url_and_credentials_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(dir.path(), Box::new(FixedClock(1)), Box::new(SeededEntropy::new(1))).unwrap();
        let keyring = MemoryKeyring::default();
        let vault = TokenVault::with_builder(Box::new(keyring.clone()));
        let url = "https://git.example.com/team/runs.git";
        app.add_remote("team", url, None).unwrap();

        for (name, token, code) in [
            ("nope", "t", ErrorCode::ResourceDoesNotExist),
            ("team", "  ", ErrorCode::InvalidParameterValue),
            ("team", "two words", ErrorCode::InvalidParameterValue),
        ] {
            assert_eq!(app.login_remote(name, token, &vault).unwrap_err().code, code, "{name} {token:?}");
        }
        assert!(keyring.entries().is_empty(), "a refused login saves nothing");

        app.login_remote("team", "tok-123\n", &vault).unwrap();
        assert_eq!(VaultCredentials(&vault).token(url).as_deref(), Some("tok-123"));
        assert_eq!(VaultCredentials(&vault).token("https://elsewhere/x.git"), None);
        assert!(app.logout_remote("team", &vault).unwrap());
        assert_eq!(VaultCredentials(&vault).token(url), None);
        assert!(!app.has_token("team", &vault).unwrap());
    }

    #[test]
    fn update_remote_keeps_its_sync_record_and_refuses_what_add_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::open(dir.path(), Box::new(FixedClock(1)), Box::new(SeededEntropy::new(1))).unwrap();
        app.add_remote("team", "/srv/a.git", None).unwrap();
        let failed = SyncState { last_error: Some("offline".into()), ..Default::default() };
        app.store().record_sync("team", &failed).unwrap();

        app.update_remote("team", "/srv/b.git", Some("/mnt/art")).unwrap();
        let remote = app.remote("team").unwrap();
        assert_eq!((remote.url.as_str(), remote.artifacts.as_deref()), ("/srv/b.git", Some("/mnt/art")));
        assert_eq!(app.store().sync_state("team").unwrap(), failed);
        for (name, url, code) in [
            ("ghost", "/srv/c.git", ErrorCode::ResourceDoesNotExist),
            ("team", " ", ErrorCode::InvalidParameterValue),
            ("team", "https://me:pw@host/x.git", ErrorCode::InvalidParameterValue),
        ] {
            assert_eq!(app.update_remote(name, url, None).unwrap_err().code, code, "{name} {url}");
        }
        assert_eq!(app.remote("team").unwrap().url, "/srv/b.git", "a refused edit changes nothing");
        let status = app.remote_status(None).unwrap();
        assert_eq!(status[0].behind, None, "without reach, no remote is asked");
    }
}
