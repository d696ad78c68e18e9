// The app's commands get generated `allow-<command>` permissions, so the
// capabilities in capabilities/ can grant them to the window, which shows
// the embedded server's page (a remote origin to Tauri).
const COMMANDS: &[&str] = &[
    "desktop_info",
    "sync_status",
    "sync_now",
    "remotes",
    "save_remote",
    "remove_remote",
    "test_remote",
    "save_token",
    "forget_token",
    "set_auto_sync",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed");
}
