//! What the desktop app remembers between launches: the store it opened
//! last, the window's place and the auto-sync interval. Never a secret:
//! tokens live in the OS keyring.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The window's last place, in logical pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowPlace {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    #[serde(default)]
    pub maximized: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub last_store: Option<PathBuf>,
    pub window: Option<WindowPlace>,
    /// Sync with every remote this often, if set.
    pub auto_sync_minutes: Option<u32>,
}

/// Shortest and longest auto-sync intervals offered.
pub const AUTO_SYNC_MINUTES: std::ops::RangeInclusive<u32> = 1..=1440;

impl Settings {
    /// Reads settings written by any version; an unreadable file is
    /// treated as empty, because settings are never worth refusing to start.
    pub fn parse(text: &str) -> Settings {
        serde_json::from_str(text).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "ignoring unreadable desktop settings");
            Settings::default()
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The window place to restore, if it is plausible on some screen.
    pub fn usable_window(&self) -> Option<WindowPlace> {
        self.window.filter(|w| w.width >= 400.0 && w.height >= 300.0 && w.x > -10_000.0 && w.y > -10_000.0)
    }
}

/// Where the settings file lives under a config folder.
pub fn settings_path(config_dir: &Path) -> PathBuf {
    config_dir.join("almanac").join("desktop.json")
}

pub fn load(path: &Path) -> Settings {
    std::fs::read_to_string(path).map(|t| Settings::parse(&t)).unwrap_or_default()
}

/// Writes atomically, so a crash mid-write leaves the old settings.
pub fn save(path: &Path, settings: &Settings) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temp = path.with_extension("json.partial");
    std::fs::write(&temp, settings.to_json())?;
    std::fs::rename(temp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_tolerate_old_or_broken_files() {
        let s = Settings {
            last_store: Some("/data/store".into()),
            window: Some(WindowPlace { x: 10.0, y: 20.0, width: 1200.0, height: 800.0, maximized: false }),
            auto_sync_minutes: Some(15),
        };
        assert_eq!(Settings::parse(&s.to_json()), s);
        for (text, expected) in [
            ("", Settings::default()),
            ("{not json", Settings::default()),
            ("{}", Settings::default()),
            (
                r#"{"auto_sync_minutes": 5, "future_field": true}"#,
                Settings { auto_sync_minutes: Some(5), ..Default::default() },
            ),
        ] {
            assert_eq!(Settings::parse(text), expected, "{text}");
        }
    }

    #[test]
    fn implausible_window_places_are_not_restored() {
        let place = |width, height, x| WindowPlace { x, y: 0.0, width, height, maximized: false };
        for (window, usable) in [
            (place(1200.0, 800.0, 0.0), true),
            (place(100.0, 800.0, 0.0), false),
            (place(1200.0, 800.0, -50_000.0), false),
        ] {
            let s = Settings { window: Some(window), ..Default::default() };
            assert_eq!(s.usable_window().is_some(), usable, "{window:?}");
        }
    }

    #[test]
    fn save_then_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = settings_path(dir.path());
        assert_eq!(load(&path), Settings::default());
        let s = Settings { last_store: Some(dir.path().join("s")), ..Default::default() };
        save(&path, &s).unwrap();
        assert_eq!(load(&path), s);
    }
}
