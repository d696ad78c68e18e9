//! The IPC commands: one-line delegations to [`Desktop`], which calls the
//! same app functions as the CLI and the HTTP server. Blocking work (git,
//! the keyring) runs off the UI's thread.

use std::sync::Arc;

use almanac_api::ApiError;
use tauri::{AppHandle, Runtime, State};

use crate::desktop::Desktop;
use crate::dto;

type Session<'a> = State<'a, Arc<Desktop>>;

/// Runs `work` on the blocking pool; its error becomes the IPC's `{code, message}`.
async fn blocking<T: Send + 'static>(
    desktop: Session<'_>,
    work: impl FnOnce(&Desktop) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, dto::Error> {
    let desktop = Arc::clone(&desktop);
    tauri::async_runtime::spawn_blocking(move || work(&desktop).map_err(dto::error))
        .await
        .map_err(|e| dto::Error { code: "INTERNAL_ERROR".into(), message: format!("the task failed: {e}") })?
}

#[tauri::command]
pub fn desktop_info(desktop: Session<'_>) -> dto::Info {
    desktop.info()
}

#[tauri::command]
pub async fn sync_status(desktop: Session<'_>) -> Result<dto::Status, dto::Error> {
    blocking(desktop, |d| d.status()).await
}

#[tauri::command]
pub async fn sync_now<R: Runtime>(app: AppHandle<R>, desktop: Session<'_>) -> Result<dto::SyncRound, dto::Error> {
    let round = blocking(desktop, |d| d.sync_now()).await?;
    crate::announce(&app, &round);
    Ok(round)
}

#[tauri::command]
pub async fn remotes(desktop: Session<'_>) -> Result<Vec<dto::RemoteEntry>, dto::Error> {
    blocking(desktop, |d| d.remotes()).await
}

#[tauri::command]
pub async fn save_remote(desktop: Session<'_>, remote: dto::SaveRemote) -> Result<(), dto::Error> {
    blocking(desktop, move |d| d.save_remote(remote)).await
}

#[tauri::command]
pub async fn remove_remote(desktop: Session<'_>, name: String) -> Result<(), dto::Error> {
    blocking(desktop, move |d| d.remove_remote(&name)).await
}

#[tauri::command]
pub async fn test_remote(desktop: Session<'_>, name: String) -> Result<dto::RemoteCheck, dto::Error> {
    blocking(desktop, move |d| d.test_remote(&name)).await
}

#[tauri::command]
pub async fn save_token(desktop: Session<'_>, name: String, token: String) -> Result<(), dto::Error> {
    blocking(desktop, move |d| d.save_token(&name, &token)).await
}

#[tauri::command]
pub async fn forget_token(desktop: Session<'_>, name: String) -> Result<bool, dto::Error> {
    blocking(desktop, move |d| d.forget_token(&name)).await
}

#[tauri::command]
pub async fn set_auto_sync(desktop: Session<'_>, minutes: Option<u32>) -> Result<(), dto::Error> {
    blocking(desktop, move |d| d.set_auto_sync(minutes)).await
}
