// The app's commands get generated `allow-<command>` permissions, which
// lib.rs grants at start to the window for the embedded server's exact
// origin (a remote origin to Tauri; its port is known only then).
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
