//! The IPC commands through Tauri's mock runtime: real stores on disk, a
//! real bare git remote, an in-memory keyring; no display needed.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use almanac_api::{App, Clock, CreateRun, SeededEntropy, TokenVault};
use almanac_secrets::memory::MemoryKeyring;
use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow, WebviewWindowBuilder};

use crate::desktop::Desktop;
use crate::settings::{self, Settings};

/// A clock the test moves by hand.
#[derive(Clone, Default)]
struct HandClock(Arc<AtomicI64>);

impl Clock for HandClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    app: App,
    keyring: MemoryKeyring,
    clock: HandClock,
    settings_path: std::path::PathBuf,
    window: WebviewWindow<MockRuntime>,
}

fn fixture(dir: tempfile::TempDir, seed: u64) -> Fixture {
    let store = dir.path().join("store");
    let clock = HandClock::default();
    clock.0.store(1_700_000_000_000, Ordering::SeqCst);
    let app = App::open(&store, Box::new(clock.clone()), Box::new(SeededEntropy::new(seed))).unwrap();
    let keyring = MemoryKeyring::default();
    let settings_path = settings::settings_path(&dir.path().join("config"));
    let desktop = Desktop::new(
        app.clone(),
        store,
        "127.0.0.1:5123".parse().unwrap(),
        TokenVault::with_builder(Box::new(keyring.clone())),
        Box::new(clock.clone()),
        Settings::default(),
        Some(settings_path.clone()),
    );
    let tauri_app = crate::with_commands(mock_builder(), Arc::new(desktop)).build(mock_context(noop_assets())).unwrap();
    let window = WebviewWindowBuilder::new(&tauri_app, crate::MAIN_WINDOW, Default::default()).build().unwrap();
    Fixture { _dir: dir, app, keyring, clock, settings_path, window }
}

fn invoke_from(window: &WebviewWindow<MockRuntime>, origin: &str, cmd: &str, args: Value) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        // On Linux, only the tauri:// origin counts as the app's own.
        url: origin.parse().unwrap(),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(window, request).map(|body| body.deserialize::<Value>().unwrap())
}

fn invoke(f: &Fixture, cmd: &str, args: Value) -> Result<Value, Value> {
    invoke_from(&f.window, "tauri://localhost", cmd, args)
}

fn bare_remote(dir: &std::path::Path) -> String {
    let status = std::process::Command::new("git").args(["init", "--bare", "-q"]).arg(dir).status().unwrap();
    assert!(status.success());
    dir.display().to_string()
}

#[test]
fn info_names_the_tracking_uri_and_the_lines_that_use_it() {
    let f = fixture(tempfile::tempdir().unwrap(), 1);
    let info = invoke(&f, "desktop_info", json!({})).unwrap();
    assert_eq!(info["tracking_uri"], "http://127.0.0.1:5123");
    assert_eq!(info["shell_line"], "export MLFLOW_TRACKING_URI=http://127.0.0.1:5123");
    assert!(info["store"].as_str().unwrap().ends_with("store"), "{info}");
}

#[test]
fn commands_from_a_remote_origin_are_refused() {
    let f = fixture(tempfile::tempdir().unwrap(), 1);
    assert!(invoke_from(&f.window, "http://evil.example/", "desktop_info", json!({})).is_err());
}

#[test]
fn remotes_are_added_tested_edited_and_removed_and_a_token_is_never_shown_again() {
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(&dir.path().join("team.git"));
    let f = fixture(dir, 1);

    for (args, code) in [
        (json!({"remote": {"name": "bad name", "url": remote}}), "INVALID_PARAMETER_VALUE"),
        (json!({"remote": {"name": "team", "url": "  "}}), "INVALID_PARAMETER_VALUE"),
        (json!({"remote": {"name": "team", "url": "https://me:pw@git.example/x.git"}}), "INVALID_PARAMETER_VALUE"),
        (json!({"remote": {"name": "ghost", "url": remote, "existing": true}}), "RESOURCE_DOES_NOT_EXIST"),
    ] {
        let err = invoke(&f, "save_remote", args.clone()).unwrap_err();
        assert_eq!(err["code"], code, "{args} → {err}");
    }
    assert_eq!(invoke(&f, "remotes", json!({})).unwrap(), json!([]), "refused saves store nothing");

    invoke(&f, "save_remote", json!({"remote": {"name": "team", "url": remote}})).unwrap();
    let err = invoke(&f, "save_remote", json!({"remote": {"name": "team", "url": remote}})).unwrap_err();
    assert_eq!(err["code"], "RESOURCE_ALREADY_EXISTS");

    let check = invoke(&f, "test_remote", json!({"name": "team"})).unwrap();
    assert_eq!(check, json!({"reachable": true, "behind": 0, "error": null}));
    assert_eq!(invoke(&f, "test_remote", json!({"name": "ghost"})).unwrap_err()["code"], "RESOURCE_DOES_NOT_EXIST");

    invoke(&f, "save_token", json!({"name": "team", "token": "s3cret-token"})).unwrap();
    let listed = invoke(&f, "remotes", json!({})).unwrap();
    assert_eq!(listed, json!([{"name": "team", "url": remote, "artifacts": null, "has_token": true}]));
    assert!(!listed.to_string().contains("s3cret"), "the token never comes back");
    assert_eq!(f.keyring.entries().len(), 1);

    assert_eq!(invoke(&f, "forget_token", json!({"name": "team"})).unwrap(), true);
    assert_eq!(invoke(&f, "remotes", json!({})).unwrap()[0]["has_token"], false);

    // A new URL drops the token saved for the old one.
    invoke(&f, "save_token", json!({"name": "team", "token": "s3cret-token"})).unwrap();
    let moved = format!("{remote}-moved");
    invoke(&f, "save_remote", json!({"remote": {"name": "team", "url": moved, "existing": true}})).unwrap();
    let listed = invoke(&f, "remotes", json!({})).unwrap();
    assert_eq!((listed[0]["url"].as_str(), listed[0]["has_token"].clone()), (Some(moved.as_str()), json!(false)));
    assert!(f.keyring.entries().is_empty());
    let check = invoke(&f, "test_remote", json!({"name": "team"})).unwrap();
    assert_eq!(check["reachable"], false, "{check}");

    invoke(&f, "remove_remote", json!({"name": "team"})).unwrap();
    assert_eq!(invoke(&f, "remotes", json!({})).unwrap(), json!([]));
}

#[test]
fn sync_now_brings_a_teammates_runs_and_the_status_bar_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(&dir.path().join("team.git"));
    let alice = fixture(tempfile::tempdir().unwrap(), 1);
    let bob = fixture(dir, 2);
    for f in [&alice, &bob] {
        invoke(f, "save_remote", json!({"remote": {"name": "team", "url": remote}})).unwrap();
    }
    for name in ["a", "b"] {
        alice.app.create_run(CreateRun { run_name: Some(name.into()), ..Default::default() }).unwrap();
    }
    let status = invoke(&alice, "sync_status", json!({})).unwrap();
    assert!(status["ahead"].as_u64().unwrap() > 0, "{status}");
    assert_eq!(status["remotes"][0]["last_sync_ms"], Value::Null);

    let round = invoke(&alice, "sync_now", json!({})).unwrap();
    assert_eq!(round["outcomes"][0]["error"], Value::Null, "{round}");
    assert_eq!(round["new_runs"], 0);

    // Bob's status bar learns what waits for him before he syncs.
    bob.window.state::<Arc<Desktop>>().check_remotes().unwrap();
    let status = invoke(&bob, "sync_status", json!({})).unwrap();
    assert!(status["remotes"][0]["behind"].as_u64().unwrap() > 0, "{status}");

    bob.clock.0.fetch_add(60_000, Ordering::SeqCst);
    let round = invoke(&bob, "sync_now", json!({})).unwrap();
    assert_eq!(round["new_runs"], 2, "{round}");
    assert_eq!(round["outcomes"][0]["new_runs"], 2);
    let status = invoke(&bob, "sync_status", json!({})).unwrap();
    let team = &status["remotes"][0];
    assert_eq!(team["last_sync_ms"], bob.clock.now_ms());
    assert_eq!((team["behind"].clone(), team["last_error"].clone()), (json!(0), Value::Null), "{status}");
    assert_eq!(status["syncing"], false);
}

#[test]
fn an_unreachable_remote_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-remote.git").display().to_string();
    let f = fixture(dir, 1);
    invoke(&f, "save_remote", json!({"remote": {"name": "away", "url": missing}})).unwrap();
    let round = invoke(&f, "sync_now", json!({})).unwrap();
    assert_eq!(round["outcomes"][0]["error"]["code"], "TEMPORARILY_UNAVAILABLE", "{round}");
    let status = invoke(&f, "sync_status", json!({})).unwrap();
    assert!(status["remotes"][0]["last_error"].is_string(), "{status}");
    assert!(status["remotes"][0]["unreachable"].is_string(), "{status}");
    // Local work goes on.
    invoke(&f, "desktop_info", json!({})).unwrap();
}

#[test]
fn auto_sync_interval_is_checked_saved_and_drives_the_timer() {
    let f = fixture(tempfile::tempdir().unwrap(), 1);
    for minutes in [0, 1441] {
        let err = invoke(&f, "set_auto_sync", json!({"minutes": minutes})).unwrap_err();
        assert_eq!(err["code"], "INVALID_PARAMETER_VALUE", "{minutes}");
    }
    let desktop = f.window.state::<Arc<Desktop>>();
    assert!(!desktop.auto_sync_due(), "off by default");

    invoke(&f, "set_auto_sync", json!({"minutes": 10})).unwrap();
    assert_eq!(settings::load(&f.settings_path).auto_sync_minutes, Some(10));
    assert_eq!(invoke(&f, "sync_status", json!({})).unwrap()["auto_sync_minutes"], 10);
    assert!(desktop.auto_sync_due(), "first tick syncs");
    f.clock.0.fetch_add(9 * 60_000, Ordering::SeqCst);
    assert!(!desktop.auto_sync_due());
    f.clock.0.fetch_add(60_000, Ordering::SeqCst);
    assert!(desktop.auto_sync_due());

    invoke(&f, "set_auto_sync", json!({"minutes": null})).unwrap();
    assert_eq!(settings::load(&f.settings_path).auto_sync_minutes, None);
}

#[test]
fn window_moves_are_remembered_and_written_with_the_settings() {
    let f = fixture(tempfile::tempdir().unwrap(), 1);
    let desktop = f.window.state::<Arc<Desktop>>();
    let window = f.window.as_ref().window();
    assert_eq!(desktop.settings().window, None);
    crate::remember_place(&window, &tauri::WindowEvent::Resized(tauri::PhysicalSize::new(0, 0)), &desktop);
    // The mock window is 0×0 at the origin: remembered, but too small to restore.
    let place = desktop.settings().window.expect("a resize is remembered");
    assert_eq!((place.x, place.y, place.width, place.height), (0.0, 0.0, 0.0, 0.0));
    assert_eq!(desktop.settings().usable_window(), None);
    assert_eq!(settings::load(&f.settings_path).window, None, "moves alone write nothing");
    desktop.update_settings(|_| {}).unwrap();
    assert_eq!(settings::load(&f.settings_path).window, Some(place));
}
