//! Min/max-preserving downsampling of a metric history for charts.
//!
//! A chart only has so many pixel columns. Each column (bucket of steps)
//! keeps its lowest and highest point, so no spike or dip ever disappears,
//! and the series' first and last points are always kept.

use crate::model::MetricPoint;

/// Reduces `points` (sorted by step) to at most `max_points` points.
/// Keeps the first and last point, and per bucket of steps its minimum and
/// maximum. A bucket holding only NaN points keeps one of them, so a
/// divergence stays visible.
pub fn min_max_downsample(points: &[MetricPoint], max_points: usize) -> Vec<MetricPoint> {
    if points.len() <= max_points {
        return points.to_vec();
    }
    if max_points < 4 {
        // Too small a budget for buckets: first and last say the most.
        return match (points.first(), points.last(), max_points) {
            (_, _, 0) => Vec::new(),
            (Some(first), _, 1) => vec![*first],
            (Some(first), Some(last), _) => vec![*first, *last],
            _ => Vec::new(),
        };
    }
    let buckets = (max_points - 2) / 2;
    let first_step = points[0].step as i128;
    let last_step = points[points.len() - 1].step as i128;
    let span = (last_step - first_step + 1).max(1);
    let bucket_of = |step: i64| -> usize {
        (((step as i128 - first_step) * buckets as i128) / span).clamp(0, buckets as i128 - 1) as usize
    };

    let mut out = Vec::with_capacity(max_points);
    out.push(points[0]);
    let inner = &points[1..points.len() - 1];
    let mut i = 0;
    while i < inner.len() {
        let bucket = bucket_of(inner[i].step);
        let start = i;
        while i < inner.len() && bucket_of(inner[i].step) == bucket {
            i += 1;
        }
        let slice = &inner[start..i];
        let mut min: Option<usize> = None;
        let mut max: Option<usize> = None;
        for (j, p) in slice.iter().enumerate() {
            if p.value.is_nan() {
                continue;
            }
            if min.is_none_or(|m| p.value < slice[m].value) {
                min = Some(j);
            }
            if max.is_none_or(|m| p.value > slice[m].value) {
                max = Some(j);
            }
        }
        match (min, max) {
            (Some(a), Some(b)) if a == b => out.push(slice[a]),
            (Some(a), Some(b)) => {
                out.push(slice[a.min(b)]);
                out.push(slice[a.max(b)]);
            }
            _ => out.push(slice[0]),
        }
    }
    out.push(points[points.len() - 1]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(values: &[f64]) -> Vec<MetricPoint> {
        values
            .iter()
            .enumerate()
            .map(|(i, &value)| MetricPoint { value, timestamp: i as i64, step: i as i64 })
            .collect()
    }

    #[test]
    fn short_series_are_untouched() {
        let s = series(&[1.0, 2.0, 3.0]);
        assert_eq!(min_max_downsample(&s, 10), s);
    }

    #[test]
    fn spikes_dips_and_ends_survive() {
        let mut values = vec![1.0; 100_000];
        values[31_337] = 1e9;
        values[77_777] = -1e9;
        values[0] = 5.0;
        values[99_999] = 6.0;
        let s = series(&values);
        for budget in [4, 10, 100, 1000, 2000] {
            let out = min_max_downsample(&s, budget);
            assert!(out.len() <= budget, "{} > {budget}", out.len());
            assert_eq!(out.first(), s.first());
            assert_eq!(out.last(), s.last());
            assert!(out.iter().any(|p| p.value == 1e9 && p.step == 31_337), "spike lost at {budget}");
            assert!(out.iter().any(|p| p.value == -1e9 && p.step == 77_777), "dip lost at {budget}");
            assert!(out.windows(2).all(|w| w[0].step < w[1].step), "not sorted at {budget}");
        }
    }

    #[test]
    fn nan_only_buckets_stay_visible() {
        let mut values = vec![0.5; 1000];
        for v in &mut values[500..510] {
            *v = f64::NAN;
        }
        let out = min_max_downsample(&series(&values), 202);
        assert!(out.iter().any(|p| p.value.is_nan()));
    }

    #[test]
    fn tiny_budgets() {
        let s = series(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(min_max_downsample(&s, 0), vec![]);
        assert_eq!(min_max_downsample(&s, 1), vec![s[0]]);
        assert_eq!(min_max_downsample(&s, 2), vec![s[0], s[4]]);
    }
}
