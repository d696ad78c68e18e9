//! The native menu. Items that need a dialog of the UI's (remotes,
//! preferences, connecting a script) are passed to the page as a DOM event
//! `almanac:menu` whose detail is the item's id.

use std::sync::Arc;

use tauri::menu::{AboutMetadata, Menu, MenuEvent, MenuItemBuilder, SubmenuBuilder};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_dialog::DialogExt;

use crate::desktop::Desktop;

pub const OPEN_STORE: &str = "open-store";
pub const NEW_STORE: &str = "new-store";
pub const SYNC_NOW: &str = "sync-now";
pub const RELOAD: &str = "reload";

pub fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<Menu<R>> {
    let item = |id: &str, text: &str, keys: &str| MenuItemBuilder::with_id(id, text).accelerator(keys).build(app);
    let file = SubmenuBuilder::new(app, "File")
        .item(&item(OPEN_STORE, "Open Store Folder…", "CmdOrCtrl+O")?)
        .item(&item(NEW_STORE, "New Store…", "CmdOrCtrl+Shift+N")?)
        .separator()
        .item(&item("preferences", "Preferences…", "CmdOrCtrl+,")?)
        .separator()
        .quit()
        .build()?;
    let sync = SubmenuBuilder::new(app, "Sync")
        .item(&item(SYNC_NOW, "Sync Now", "CmdOrCtrl+Shift+S")?)
        .item(&item("remotes", "Remotes…", "CmdOrCtrl+Shift+R")?)
        .build()?;
    let view = SubmenuBuilder::new(app, "View")
        .item(&item(RELOAD, "Reload", "CmdOrCtrl+R")?)
        .item(&item("connect", "Connect a Script…", "CmdOrCtrl+Shift+C")?)
        .separator()
        .fullscreen()
        .build()?;
    let about = AboutMetadata {
        name: Some("Almanac".into()),
        version: Some(env!("CARGO_PKG_VERSION").into()),
        comments: Some("Experiment tracking for MLflow users, on the desktop.".into()),
        license: Some(env!("CARGO_PKG_LICENSE").into()),
        ..Default::default()
    };
    let help = SubmenuBuilder::new(app, "Help")
        .item(&item("docs", "Getting Started", "F1")?)
        .separator()
        .about(Some(about))
        .build()?;
    Menu::with_items(app, &[&file, &sync, &view, &help])
}

pub fn on_event<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    let Some(desktop) = app.try_state::<Arc<Desktop>>().map(|s| Arc::clone(&s)) else { return };
    match event.id().as_ref() {
        OPEN_STORE | NEW_STORE => {
            let chosen = {
                let app = app.clone();
                move |folder: Option<tauri_plugin_dialog::FilePath>| {
                    if let Some(path) = folder.and_then(|f| f.into_path().ok()) {
                        crate::switch_store(&app, &desktop, path);
                    }
                }
            };
            let dialog = app.dialog().file();
            // A new store is a folder name to create; opening picks an existing one.
            if event.id().as_ref() == NEW_STORE {
                dialog.set_title("Name a folder for the new store").save_file(chosen);
            } else {
                dialog.set_title("Open an Almanac store folder").pick_folder(chosen);
            }
        }
        SYNC_NOW => {
            crate::tell_page(app, "almanac:menu", "\"sync-started\"");
            let app = app.clone();
            std::thread::spawn(move || match desktop.sync_now() {
                Ok(round) => crate::announce(&app, &round),
                Err(e) => tracing::warn!(error = %e.message, "sync from the menu did not run"),
            });
        }
        RELOAD => {
            if let Some(window) = app.get_webview_window(crate::MAIN_WINDOW) {
                let _ = window.eval("location.reload()");
            }
        }
        other => crate::tell_page(app, "almanac:menu", &serde_json::Value::from(other).to_string()),
    }
}
