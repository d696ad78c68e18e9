//! How numbers, times and durations read in tables. Pure.

/// A metric or aggregate: short, but exact enough to compare runs.
pub fn number(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "∞".into() } else { "-∞".into() };
    }
    if v == v.trunc() && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let a = v.abs();
    if (1e-4..1e6).contains(&a) {
        let s = format!("{v:.5}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        format!("{v:.4e}")
    }
}

pub fn opt_number(v: Option<f64>) -> String {
    v.map(number).unwrap_or_default()
}

/// `1h 2m`, `3m 4s`, `5.2s`, `120ms`.
pub fn duration(ms: i64) -> String {
    if ms < 0 {
        return String::new();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    if s < 60 {
        return format!("{:.1}s", ms as f64 / 1000.0);
    }
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 { format!("{h}h {m}m") } else { format!("{m}m {s}s") }
}

/// A point in time in the viewer's local zone.
pub fn time(ms: i64) -> String {
    if ms <= 0 {
        return String::new();
    }
    #[cfg(target_arch = "wasm32")]
    {
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
        let pad = |n: u32| format!("{n:02}");
        format!(
            "{}-{}-{} {}:{}:{}",
            d.get_full_year(),
            pad(d.get_month() + 1),
            pad(d.get_date()),
            pad(d.get_hours()),
            pad(d.get_minutes()),
            pad(d.get_seconds())
        )
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        format!("{ms}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_short() {
        let cases = [
            (0.0, "0"),
            (3.0, "3"),
            (-12.0, "-12"),
            (0.123456789, "0.12346"),
            (0.5, "0.5"),
            (1234.5, "1234.5"),
            (1.5e-7, "1.5000e-7"),
            (2.5e9, "2500000000"),
            (2.25e20, "2.2500e20"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "∞"),
        ];
        for (v, expected) in cases {
            assert_eq!(number(v), expected, "{v}");
        }
    }

    #[test]
    fn durations_read_short() {
        let cases = [(0, "0ms"), (999, "999ms"), (5200, "5.2s"), (184_000, "3m 4s"), (3_720_000, "1h 2m"), (-1, "")];
        for (ms, expected) in cases {
            assert_eq!(duration(ms), expected, "{ms}");
        }
    }
}
