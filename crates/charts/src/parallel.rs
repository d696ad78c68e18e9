//! Parallel coordinates: each param (and the metric) is a vertical axis,
//! each run a line across them. Values are placed on [0, 1] per axis:
//! numbers by their range, other values by their sorted order. Brushing an
//! axis keeps the runs whose value there falls inside the brush.

use std::collections::BTreeSet;

/// One axis: its name, and each run's position on it (`None`: the run lacks it).
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub name: String,
    /// Labels for the bottom and top of the axis.
    pub low: String,
    pub high: String,
    pub positions: Vec<Option<f64>>,
}

/// Builds an axis from each run's raw value.
pub fn axis(name: &str, values: &[Option<String>]) -> Axis {
    let numbers: Vec<Option<f64>> = values
        .iter()
        .map(|v| v.as_ref().and_then(|s| s.trim().parse::<f64>().ok()).filter(|n| n.is_finite()))
        .collect();
    let numeric = values.iter().zip(&numbers).all(|(v, n)| v.is_none() || n.is_some());
    if numeric {
        let (lo, hi) =
            numbers.iter().flatten().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        let span = hi - lo;
        let positions = numbers.iter().map(|n| n.map(|x| if span > 0.0 { (x - lo) / span } else { 0.5 })).collect();
        let label = |x: f64| if x.is_finite() { format!("{x}") } else { String::new() };
        return Axis { name: name.to_string(), low: label(lo), high: label(hi), positions };
    }
    let categories: Vec<&str> =
        values.iter().flatten().map(String::as_str).collect::<BTreeSet<_>>().into_iter().collect();
    let n = categories.len();
    let positions = values
        .iter()
        .map(|v| {
            v.as_deref()
                .and_then(|s| categories.iter().position(|c| *c == s))
                .map(|i| if n > 1 { i as f64 / (n - 1) as f64 } else { 0.5 })
        })
        .collect();
    Axis {
        name: name.to_string(),
        low: categories.first().map(|s| s.to_string()).unwrap_or_default(),
        high: categories.last().map(|s| s.to_string()).unwrap_or_default(),
        positions,
    }
}

/// A brush: on axis `axis`, positions between `from` and `to` (either order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Brush {
    pub axis: usize,
    pub from: f64,
    pub to: f64,
}

/// Whether run `run` passes every brush. A run lacking a brushed axis fails it.
pub fn passes(axes: &[Axis], brushes: &[Brush], run: usize) -> bool {
    brushes.iter().all(|b| {
        let (lo, hi) = if b.from <= b.to { (b.from, b.to) } else { (b.to, b.from) };
        axes.get(b.axis).and_then(|a| a.positions.get(run).copied().flatten()).is_some_and(|p| p >= lo && p <= hi)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(v: &[Option<&str>]) -> Vec<Option<String>> {
        v.iter().map(|s| s.map(str::to_string)).collect()
    }

    #[test]
    fn numbers_by_range_and_categories_by_order() {
        let lr = axis("lr", &vals(&[Some("1"), Some("3"), None, Some("2")]));
        assert_eq!(lr.positions, vec![Some(0.0), Some(1.0), None, Some(0.5)]);
        assert_eq!((lr.low.as_str(), lr.high.as_str()), ("1", "3"));
        let opt = axis("optimizer", &vals(&[Some("sgd"), Some("adam"), Some("rmsprop"), Some("adam")]));
        assert_eq!(opt.positions, vec![Some(1.0), Some(0.0), Some(0.5), Some(0.0)]);
        assert_eq!((opt.low.as_str(), opt.high.as_str()), ("adam", "sgd"));
        let constant = axis("c", &vals(&[Some("1"), Some("1")]));
        assert_eq!(constant.positions, vec![Some(0.5), Some(0.5)]);
    }

    #[test]
    fn brushes_keep_runs_inside_every_brush() {
        let axes = vec![
            axis("lr", &vals(&[Some("0"), Some("5"), Some("10"), None])),
            axis("loss", &vals(&[Some("1"), Some("2"), Some("3"), Some("4")])),
        ];
        let kept = |brushes: &[Brush]| (0..4).filter(|&r| passes(&axes, brushes, r)).collect::<Vec<_>>();
        assert_eq!(kept(&[]), vec![0, 1, 2, 3]);
        assert_eq!(kept(&[Brush { axis: 0, from: 0.6, to: 0.4 }]), vec![1]);
        assert_eq!(
            kept(&[Brush { axis: 0, from: 0.0, to: 1.0 }]),
            vec![0, 1, 2],
            "a run lacking the axis fails its brush"
        );
        assert_eq!(kept(&[Brush { axis: 0, from: 0.0, to: 1.0 }, Brush { axis: 1, from: 0.5, to: 1.0 }]), vec![2]);
    }
}
