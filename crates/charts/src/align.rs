//! What a chart's x-axis is, and how runs logged at different steps and
//! times line up on it; and runs grouped into a mean line with a band.

use std::collections::BTreeMap;

use crate::Point;

#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    Step,
    /// Wall time, in milliseconds since the epoch.
    WallTime,
    /// Seconds since the run's first point.
    RelativeTime,
    /// Another metric of the same run, matched by step.
    Metric(String),
}

/// `points` placed on `axis`. For a metric axis, `other` is that metric's
/// history; points at steps it lacks are left out.
pub fn align(points: &[Point], axis: &XAxis, other: Option<&[Point]>) -> Vec<(f64, f64)> {
    let start = points.iter().map(|p| p.timestamp).min().unwrap_or(0);
    match axis {
        XAxis::Step => points.iter().map(|p| (p.step as f64, p.value)).collect(),
        XAxis::WallTime => points.iter().map(|p| (p.timestamp as f64, p.value)).collect(),
        XAxis::RelativeTime => points.iter().map(|p| ((p.timestamp - start) as f64 / 1000.0, p.value)).collect(),
        XAxis::Metric(_) => {
            // The latest value at each step, as MLflow's latest-metric rule.
            let mut by_step: BTreeMap<i64, (i64, f64)> = BTreeMap::new();
            for p in other.unwrap_or_default() {
                let slot = by_step.entry(p.step).or_insert((p.timestamp, p.value));
                if p.timestamp >= slot.0 {
                    *slot = (p.timestamp, p.value);
                }
            }
            let mut out: Vec<(f64, f64)> =
                points.iter().filter_map(|p| by_step.get(&p.step).map(|(_, x)| (*x, p.value))).collect();
            out.sort_by(|a, b| a.0.total_cmp(&b.0));
            out
        }
    }
}

/// A group of runs as one line: at each x any member has, the mean of the
/// members' values there, and their min and max.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Band {
    pub mean: Vec<(f64, f64)>,
    pub min: Vec<(f64, f64)>,
    pub max: Vec<(f64, f64)>,
}

pub fn band(series: &[Vec<(f64, f64)>]) -> Band {
    let mut at: BTreeMap<u64, (f64, Vec<f64>)> = BTreeMap::new();
    for s in series {
        for &(x, y) in s {
            if y.is_finite() && x.is_finite() {
                // Order-preserving key for f64 (x is finite).
                let key = if x >= 0.0 { x.to_bits() ^ (1 << 63) } else { !x.to_bits() };
                at.entry(key).or_insert((x, Vec::new())).1.push(y);
            }
        }
    }
    let mut out = Band::default();
    for (x, ys) in at.into_values() {
        let mean = ys.iter().sum::<f64>() / ys.len() as f64;
        let min = ys.iter().copied().fold(f64::INFINITY, f64::min);
        let max = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        out.mean.push((x, mean));
        out.min.push((x, min));
        out.max.push((x, max));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(step: i64, timestamp: i64, value: f64) -> Point {
        Point { step, timestamp, value }
    }

    #[test]
    fn axes_place_points() {
        let loss = [p(0, 1_000, 0.9), p(10, 3_000, 0.5), p(20, 6_500, 0.2)];
        let lr = [p(0, 1_000, 0.1), p(10, 2_000, 0.05), p(10, 3_000, 0.01), p(30, 9_000, 0.001)];
        let cases = [
            (XAxis::Step, vec![(0.0, 0.9), (10.0, 0.5), (20.0, 0.2)]),
            (XAxis::WallTime, vec![(1000.0, 0.9), (3000.0, 0.5), (6500.0, 0.2)]),
            (XAxis::RelativeTime, vec![(0.0, 0.9), (2.0, 0.5), (5.5, 0.2)]),
            // lr at step 10 is its latest value there (0.01); step 20 has no lr.
            (XAxis::Metric("lr".into()), vec![(0.01, 0.5), (0.1, 0.9)]),
        ];
        for (axis, expected) in cases {
            assert_eq!(align(&loss, &axis, Some(&lr)), expected, "{axis:?}");
        }
    }

    #[test]
    fn runs_with_different_steps_band_where_they_overlap() {
        let a = vec![(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)];
        let b = vec![(1.0, 1.0), (2.0, 7.0), (3.0, 2.0)];
        let g = band(&[a, b]);
        assert_eq!(g.mean, vec![(0.0, 1.0), (1.0, 2.0), (2.0, 6.0), (3.0, 2.0)]);
        assert_eq!(g.min, vec![(0.0, 1.0), (1.0, 1.0), (2.0, 5.0), (3.0, 2.0)]);
        assert_eq!(g.max, vec![(0.0, 1.0), (1.0, 3.0), (2.0, 7.0), (3.0, 2.0)]);
        let negative = band(&[vec![(-2.0, 1.0), (-1.0, 2.0), (1.0, 3.0)]]);
        assert_eq!(negative.mean.iter().map(|p| p.0).collect::<Vec<_>>(), vec![-2.0, -1.0, 1.0]);
    }
}
