//! The desktop session: the open store, where its server listens, the
//! settings file and what the status bar shows about sync. Every operation
//! is a call into [`almanac_api::App`]; what lives here is only the
//! session's own state (is a sync running, when did auto-sync last fire).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use almanac_api::{ApiError, App, Clock, ErrorCode, TokenVault, VaultCredentials};

use crate::dto;
use crate::settings::{self, AUTO_SYNC_MINUTES, Settings};

pub struct Desktop {
    app: App,
    store_dir: PathBuf,
    address: SocketAddr,
    vault: TokenVault,
    clock: Box<dyn Clock>,
    settings: Mutex<Settings>,
    /// Where settings are saved; `None` keeps them in memory (tests).
    settings_path: Option<PathBuf>,
    board: Mutex<Board>,
    /// Held while a sync runs, so a second request is refused, not queued.
    syncing: Mutex<()>,
}

/// What the last checks and syncs found, for the status bar.
#[derive(Default)]
struct Board {
    syncing: bool,
    /// Remote name → ops it holds that this store lacks, or why unknown.
    behind: HashMap<String, Result<usize, String>>,
    last_auto_sync_ms: Option<i64>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Desktop {
    pub fn new(
        app: App,
        store_dir: PathBuf,
        address: SocketAddr,
        vault: TokenVault,
        clock: Box<dyn Clock>,
        settings: Settings,
        settings_path: Option<PathBuf>,
    ) -> Desktop {
        Desktop {
            app,
            store_dir,
            address,
            vault,
            clock,
            settings: Mutex::new(settings),
            settings_path,
            board: Mutex::default(),
            syncing: Mutex::new(()),
        }
    }

    pub fn tracking_uri(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    pub fn info(&self) -> dto::Info {
        dto::Info::new(self.tracking_uri(), self.store_dir.display().to_string(), env!("CARGO_PKG_VERSION"))
    }

    /// The status bar's view of sync: local facts only, plus what the last
    /// check or sync learned from each remote. Never touches the network.
    pub fn status(&self) -> Result<dto::Status, ApiError> {
        let remotes = self.app.remote_status(None)?;
        let board = lock(&self.board);
        let settings = lock(&self.settings);
        Ok(dto::status(remotes, &board.behind, board.syncing, settings.auto_sync_minutes, self.clock.now_ms()))
    }

    /// Syncs with every remote. Errors per remote are reported, not
    /// raised: being offline is a normal state for a laptop.
    pub fn sync_now(&self) -> Result<dto::SyncRound, ApiError> {
        let Ok(_running) = self.syncing.try_lock() else {
            return Err(ApiError { code: ErrorCode::InvalidState, message: "A sync is already running.".into() });
        };
        lock(&self.board).syncing = true;
        let outcome = self.app.sync_all(&VaultCredentials(&self.vault), &mut |name, stage| {
            tracing::debug!(remote = name, ?stage, "sync");
        });
        let mut board = lock(&self.board);
        board.syncing = false;
        let outcome = outcome?;
        for (name, result) in &outcome {
            match result {
                Ok(_) => board.behind.insert(name.clone(), Ok(0)),
                Err(e) => board.behind.insert(name.clone(), Err(e.message.clone())),
            };
        }
        Ok(dto::round(outcome))
    }

    /// Asks every remote what it holds that this store lacks, for the status
    /// bar's "to fetch". Unreachable remotes are noted, not raised.
    pub fn check_remotes(&self) -> Result<(), ApiError> {
        let statuses = self.app.remote_status(Some(&VaultCredentials(&self.vault)))?;
        let mut board = lock(&self.board);
        for s in statuses {
            if let Some(behind) = s.behind {
                board.behind.insert(s.remote.name, behind);
            }
        }
        Ok(())
    }

    /// Whether auto-sync should run now; marks it as started if so.
    pub fn auto_sync_due(&self) -> bool {
        let Some(minutes) = lock(&self.settings).auto_sync_minutes else { return false };
        let now = self.clock.now_ms();
        let mut board = lock(&self.board);
        let due = board.last_auto_sync_ms.is_none_or(|last| now - last >= i64::from(minutes) * 60_000);
        if due {
            board.last_auto_sync_ms = Some(now);
        }
        due
    }

    pub fn remotes(&self) -> Result<Vec<dto::RemoteEntry>, ApiError> {
        self.app
            .remotes()?
            .into_iter()
            .map(|r| {
                // A keyring that cannot be read means "not known", not an error
                // that hides the list.
                let has_token = self.app.has_token(&r.name, &self.vault).ok();
                Ok(dto::RemoteEntry { name: r.name, url: r.url, artifacts: r.artifacts, has_token })
            })
            .collect()
    }

    /// Adds a remote, or with `existing`, points that remote elsewhere.
    pub fn save_remote(&self, req: dto::SaveRemote) -> Result<(), ApiError> {
        let artifacts = req.artifacts.as_deref().map(str::trim).filter(|a| !a.is_empty());
        if req.existing {
            let old_url = self.app.remote(&req.name)?.url;
            self.app.update_remote(&req.name, req.url.trim(), artifacts)?;
            // A token goes only to the host it was saved for: a new URL
            // needs a new login. Forgotten only once the edit is accepted.
            if old_url != req.url.trim()
                && let Err(e) = self.vault.forget(&old_url)
            {
                tracing::warn!(error = %e, "cannot forget the old remote's token");
            }
        } else {
            self.app.add_remote(&req.name, req.url.trim(), artifacts)?;
        }
        lock(&self.board).behind.remove(&req.name);
        Ok(())
    }

    pub fn remove_remote(&self, name: &str) -> Result<(), ApiError> {
        self.app.remove_remote(name)?;
        lock(&self.board).behind.remove(name);
        Ok(())
    }

    /// Reaches the remote with its saved token; the answer also feeds the
    /// status bar.
    pub fn test_remote(&self, name: &str) -> Result<dto::RemoteCheck, ApiError> {
        let result = self.app.remote_behind(name, &VaultCredentials(&self.vault));
        if let Err(e) = &result
            && e.code == ErrorCode::ResourceDoesNotExist
        {
            return Err(e.clone());
        }
        let check = dto::RemoteCheck::from(result.as_ref().map(|n| *n).map_err(|e| e.message.clone()));
        lock(&self.board).behind.insert(name.to_string(), result.map_err(|e| e.message));
        Ok(check)
    }

    pub fn save_token(&self, name: &str, token: &str) -> Result<(), ApiError> {
        self.app.login_remote(name, token, &self.vault)
    }

    pub fn forget_token(&self, name: &str) -> Result<bool, ApiError> {
        self.app.logout_remote(name, &self.vault)
    }

    pub fn set_auto_sync(&self, minutes: Option<u32>) -> Result<(), ApiError> {
        if let Some(m) = minutes
            && !AUTO_SYNC_MINUTES.contains(&m)
        {
            return Err(ApiError {
                code: ErrorCode::InvalidParameterValue,
                message: format!(
                    "Auto-sync runs every {} to {} minutes; {m} is out of range.",
                    AUTO_SYNC_MINUTES.start(),
                    AUTO_SYNC_MINUTES.end()
                ),
            });
        }
        self.update_settings(|s| s.auto_sync_minutes = minutes)
    }

    /// Changes settings in memory only; the next save writes them.
    pub fn remember(&self, change: impl FnOnce(&mut Settings)) {
        change(&mut lock(&self.settings));
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    /// Changes settings and saves them.
    pub fn update_settings(&self, change: impl FnOnce(&mut Settings)) -> Result<(), ApiError> {
        let mut settings = lock(&self.settings);
        change(&mut settings);
        if let Some(path) = &self.settings_path {
            settings::save(path, &settings).map_err(|e| ApiError {
                code: ErrorCode::InternalError,
                message: format!("cannot save settings to {}: {e}", path.display()),
            })?;
        }
        Ok(())
    }
}
