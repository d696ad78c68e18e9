//! The few browser facilities the components use: the hash, local storage,
//! the clipboard and timers.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::route::Route;

pub fn hash() -> String {
    web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default()
}

/// Moves the UI to `route` (a new history entry, so Back works).
pub fn navigate(route: &Route) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash(route.href().trim_start_matches('#'));
    }
}

/// Corrects the current address to `route` without a new history entry
/// (Back still leaves the page), e.g. when a link named the wrong experiment.
pub fn redirect(route: &Route) {
    if let Some(w) = web_sys::window() {
        let location = w.location();
        let base =
            location.href().ok().map(|h| h.split('#').next().unwrap_or_default().to_string()).unwrap_or_default();
        let _ = location.replace(&format!("{base}{}", route.href()));
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// A remembered UI choice (columns, pins), never data: data lives in the store.
pub fn load<T: DeserializeOwned>(key: &str) -> Option<T> {
    let text = storage()?.get_item(key).ok()??;
    serde_json::from_str(&text).ok()
}

pub fn save<T: Serialize>(key: &str, value: &T) {
    if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(value)) {
        let _ = s.set_item(key, &text);
    }
}

pub fn confirm(message: &str) -> bool {
    web_sys::window().and_then(|w| w.confirm_with_message(message).ok()).unwrap_or(false)
}

pub fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}
