//! The Almanac desktop app: a Tauri window over the embedded tracking
//! server.
//!
//! On start the app opens a store (the `--store` folder, else the one it
//! opened last, else the default one), serves it on 127.0.0.1 (port 5000
//! or the next free one) exactly as `almanac serve` does, and points its
//! window at that address. So the window shows the same UI a browser
//! would, training scripts log to the same address, and the only
//! desktop-only code is what a browser cannot do: the native menu, the OS
//! keyring, notifications, and sync with git remotes ([`commands`]).

pub mod commands;
pub mod desktop;
pub mod dto;
pub mod listen;
mod menu;
pub mod settings;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use almanac_api::{App, OsEntropy, SystemClock, TokenVault};
use anyhow::Context as _;
use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder, WindowEvent};

use crate::desktop::Desktop;
use crate::settings::{Settings, WindowPlace};

/// The one window's label; the capabilities grant IPC to it alone.
pub const MAIN_WINDOW: &str = "main";

/// The generated permissions of the app's commands (see build.rs).
const COMMAND_PERMISSIONS: &[&str] = &[
    "allow-desktop-info",
    "allow-sync-status",
    "allow-sync-now",
    "allow-remotes",
    "allow-save-remote",
    "allow-remove-remote",
    "allow-test-remote",
    "allow-save-token",
    "allow-forget-token",
    "allow-set-auto-sync",
];

/// How often the auto-sync timer looks at the clock.
const AUTO_SYNC_TICK: Duration = Duration::from_secs(15);

/// What the command line and the environment decided.
pub struct Launch {
    pub store: Option<PathBuf>,
    pub port: Option<u16>,
    /// Where `almanac/desktop.json` lives (the OS config folder).
    pub config_dir: Option<PathBuf>,
    /// `$ALMANAC_HOME`, the CLI's way of naming the default store.
    pub almanac_home: Option<std::ffi::OsString>,
    pub data_dir: Option<PathBuf>,
}

/// The embedded server's off switch, used when the app reopens on another
/// store so the new process can take the same port.
struct Server {
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    stopped: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
}

impl Server {
    fn stop_and_wait(&self, timeout: Duration) {
        if let Some(stop) = self.stop.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = stop.send(());
        }
        if let Some(stopped) = self.stopped.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = stopped.recv_timeout(timeout);
        }
    }
}

fn context() -> tauri::Context<tauri::Wry> {
    tauri::generate_context!()
}

/// Registers the session and its commands on a builder: the real one in
/// [`run`], the mock runtime's in tests.
pub fn with_commands<R: Runtime>(builder: tauri::Builder<R>, desktop: Arc<Desktop>) -> tauri::Builder<R> {
    builder.manage(desktop).invoke_handler(tauri::generate_handler![
        commands::desktop_info,
        commands::sync_status,
        commands::sync_now,
        commands::remotes,
        commands::save_remote,
        commands::remove_remote,
        commands::test_remote,
        commands::save_token,
        commands::forget_token,
        commands::set_auto_sync,
    ])
}

/// Opens the store and serves it, then runs the window until it closes.
pub fn run(launch: Launch) -> anyhow::Result<()> {
    match start(launch) {
        Ok(()) => Ok(()),
        Err(e) => {
            let message = format!("{e:#}");
            tracing::error!(error = %message, "cannot start");
            show_fatal(message.clone());
            Err(e)
        }
    }
}

fn start(launch: Launch) -> anyhow::Result<()> {
    let settings_path = launch.config_dir.as_deref().map(settings::settings_path);
    let saved = settings_path.as_deref().map(settings::load).unwrap_or_default();
    let store_dir = launch
        .store
        .or_else(|| saved.last_store.clone())
        .or_else(|| almanac_api::default_store_dir(launch.almanac_home, launch.data_dir))
        .context("no OS data folder for the default store; pass --store DIR")?;
    let app = App::open(&store_dir, Box::new(SystemClock), Box::new(OsEntropy))
        .map_err(|e| anyhow::anyhow!("{}", e.message))
        .with_context(|| format!("cannot open the store at {}", store_dir.display()))?;
    let listener = listen::bind_loopback(launch.port.unwrap_or(listen::DEFAULT_PORT))
        .context("cannot find a free port on 127.0.0.1 for the tracking server")?;
    listener.set_nonblocking(true).context("cannot set up the server socket")?;
    let address = listener.local_addr().context("the server socket has no address")?;
    tracing::info!(%address, store = %store_dir.display(), "serving");

    let desktop = Arc::new(Desktop::new(
        app.clone(),
        store_dir.clone(),
        address,
        TokenVault::os(),
        Box::new(SystemClock),
        saved.clone(),
        settings_path,
    ));
    if let Err(e) = desktop.update_settings(|s| s.last_store = Some(store_dir)) {
        tracing::warn!(error = %e.message, "cannot remember the store for next time");
    }

    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (stopped_tx, stopped) = std::sync::mpsc::channel();
    let server = Server { stop: Mutex::new(Some(stop)), stopped: Mutex::new(Some(stopped)) };

    let session = Arc::clone(&desktop);
    with_commands(tauri::Builder::default(), Arc::clone(&desktop))
        .manage(server)
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .menu(menu::build)
        .on_menu_event(menu::on_event)
        .on_window_event(move |window, event| remember_place(window, event, &session))
        .setup(move |tauri_app| {
            tauri::async_runtime::spawn(async move {
                let served = match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => almanac_server::serve(listener, app, async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                if let Err(e) = served {
                    tracing::error!(error = %e, "the tracking server stopped");
                }
                let _ = stopped_tx.send(());
            });
            // IPC for the embedded server's page alone: its exact origin,
            // not any page on loopback the window might be sent to.
            let mut capability = tauri::ipc::CapabilityBuilder::new("embedded-server")
                .remote(format!("{}/*", desktop.tracking_uri()))
                .window(MAIN_WINDOW);
            for permission in COMMAND_PERMISSIONS {
                capability = capability.permission(*permission);
            }
            tauri_app.add_capability(capability)?;
            open_window(tauri_app.handle(), &desktop, &saved)?;
            start_auto_sync(tauri_app.handle().clone(), Arc::clone(&desktop));
            Ok(())
        })
        .run(context())
        .context("the window system failed")
}

fn open_window<R: Runtime>(app: &AppHandle<R>, desktop: &Desktop, saved: &Settings) -> tauri::Result<()> {
    let url = desktop.tracking_uri().parse().map_err(|e| tauri::Error::Anyhow(anyhow::anyhow!("{e}")))?;
    let mut window = WebviewWindowBuilder::new(app, MAIN_WINDOW, WebviewUrl::External(url))
        .title(format!("Almanac — {}", desktop.store_dir().display()))
        .min_inner_size(720.0, 480.0);
    window = match saved.usable_window() {
        Some(p) => window.inner_size(p.width, p.height).position(p.x, p.y).maximized(p.maximized),
        None => window.inner_size(1280.0, 820.0).center(),
    };
    window.build()?;
    Ok(())
}

/// Keeps the window's place in memory as it moves, and writes it when the
/// window closes.
fn remember_place<R: Runtime>(window: &tauri::Window<R>, event: &WindowEvent, desktop: &Desktop) {
    match event {
        WindowEvent::Moved(_) | WindowEvent::Resized(_) => {
            let place = || -> tauri::Result<WindowPlace> {
                let scale = window.scale_factor()?;
                let position = window.outer_position()?.to_logical::<f64>(scale);
                let size = window.inner_size()?.to_logical::<f64>(scale);
                Ok(WindowPlace {
                    x: position.x,
                    y: position.y,
                    width: size.width,
                    height: size.height,
                    maximized: window.is_maximized()?,
                })
            };
            if let Ok(place) = place() {
                desktop.remember(|s| match (place.maximized, s.window) {
                    // A maximized window keeps the place it returns to.
                    (true, Some(previous)) => s.window = Some(WindowPlace { maximized: true, ..previous }),
                    _ => s.window = Some(place),
                });
            }
        }
        WindowEvent::CloseRequested { .. } => {
            if let Err(e) = desktop.update_settings(|_| {}) {
                tracing::warn!(error = %e.message, "cannot save the window's place");
            }
        }
        _ => {}
    }
}

fn start_auto_sync<R: Runtime>(app: AppHandle<R>, desktop: Arc<Desktop>) {
    let spawned = std::thread::Builder::new().name("auto-sync".into()).spawn(move || {
        if let Err(e) = desktop.check_remotes() {
            tracing::debug!(error = %e.message, "cannot check the remotes at start");
        }
        loop {
            std::thread::sleep(AUTO_SYNC_TICK);
            if desktop.auto_sync_due() {
                match desktop.sync_now() {
                    Ok(round) => announce(&app, &round),
                    Err(e) => tracing::debug!(error = %e.message, "auto-sync skipped"),
                }
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "auto-sync is off: cannot start its thread");
    }
}

/// Tells the page a sync finished, and the desktop if it brought runs.
pub fn announce<R: Runtime>(app: &AppHandle<R>, round: &dto::SyncRound) {
    tell_page(app, "almanac:synced", &serde_json::to_string(round).unwrap_or_else(|_| "null".into()));
    let Some(notice) = round.notice() else { return };
    if let Some(notifications) = app.try_state::<tauri_plugin_notification::Notification<R>>() {
        // A desktop without a notification daemon still shows the page's notice.
        if let Err(e) = notifications.builder().title("Almanac").body(&notice).show() {
            tracing::debug!(error = %e, "no desktop notification");
        }
    }
}

/// Dispatches a DOM event on the page, which the UI listens for.
pub fn tell_page<R: Runtime>(app: &AppHandle<R>, event: &str, detail_json: &str) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let script = format!("window.dispatchEvent(new CustomEvent({event:?}, {{detail: {detail_json}}}))");
        if let Err(e) = window.eval(script) {
            tracing::debug!(error = %e, "cannot reach the page");
        }
    }
}

/// Reopens the app on another store: the server stops so the new process
/// can listen on the same port, and this one exits. The new process records
/// the store as the last one only once it has opened it.
fn switch_store<R: Runtime>(app: &AppHandle<R>, desktop: &Desktop, path: PathBuf) {
    if let Err(e) = std::fs::create_dir_all(&path) {
        let error = dto::Error {
            code: "INVALID_PARAMETER_VALUE".into(),
            message: format!("cannot create {}: {e}", path.display()),
        };
        tell_page(app, "almanac:error", &serde_json::to_string(&error).unwrap_or_default());
        return;
    }
    if let Some(server) = app.try_state::<Server>() {
        server.stop_and_wait(Duration::from_secs(5));
    }
    let spawned = std::env::current_exe().and_then(|exe| {
        std::process::Command::new(exe).arg("--store").arg(&path).arg("--port").arg(desktop.port().to_string()).spawn()
    });
    if let Err(e) = spawned {
        // The server is gone, so this window can no longer show anything.
        tracing::error!(error = %e, "cannot start the app on the new store");
    }
    app.exit(0);
}

/// Shows why the app cannot start in a dialog, since a desktop launcher
/// hides stderr.
fn show_fatal(message: String) {
    use tauri_plugin_dialog::{DialogExt, MessageDialogKind};
    let shown = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .setup(move |app| {
            let handle = app.handle().clone();
            app.dialog()
                .message(message)
                .title("Almanac cannot start")
                .kind(MessageDialogKind::Error)
                .show(move |_| handle.exit(1));
            Ok(())
        })
        .run(context());
    if let Err(e) = shown {
        tracing::error!(error = %e, "cannot show the error dialog either");
    }
}

#[cfg(test)]
mod tests;
