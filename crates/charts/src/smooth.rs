//! Smoothing, as W&B offers it. Every variant keeps the series' x values and
//! its length; non-finite values pass through unsmoothed and do not disturb
//! their neighbours.

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Smoothing {
    None,
    /// Exponential moving average with weight `w` in [0, 1), debiased so the
    /// first points are not pulled toward zero.
    Ema(f64),
    /// An EMA whose weight decays with the x distance between points, so
    /// unevenly logged series smooth the same per unit of x.
    TimeWeightedEma(f64),
    /// The mean of the last `n` points.
    RunningAverage(usize),
}

pub fn smooth(points: &[(f64, f64)], how: Smoothing) -> Vec<(f64, f64)> {
    match how {
        Smoothing::None => points.to_vec(),
        Smoothing::Ema(w) => ema(points, w.clamp(0.0, 0.999), false),
        Smoothing::TimeWeightedEma(w) => ema(points, w.clamp(0.0, 0.999), true),
        Smoothing::RunningAverage(n) => running_average(points, n.max(1)),
    }
}

fn ema(points: &[(f64, f64)], w: f64, by_distance: bool) -> Vec<(f64, f64)> {
    // The typical x gap: distances are measured in it, so a weight means the
    // same on a series logged every step and one logged every 100 steps.
    let unit = if by_distance { typical_gap(points) } else { 1.0 };
    let mut acc = 0.0;
    let mut debias = 0.0;
    let mut last_x: Option<f64> = None;
    points
        .iter()
        .map(|&(x, y)| {
            if !y.is_finite() {
                return (x, y);
            }
            let weight = match (by_distance, last_x) {
                (true, Some(px)) if unit > 0.0 => w.powf(((x - px) / unit).max(0.0)),
                _ => w,
            };
            acc = acc * weight + (1.0 - weight) * y;
            debias = debias * weight + (1.0 - weight);
            last_x = Some(x);
            (x, if debias > 0.0 { acc / debias } else { y })
        })
        .collect()
}

fn typical_gap(points: &[(f64, f64)]) -> f64 {
    let mut gaps: Vec<f64> = points.windows(2).map(|p| p[1].0 - p[0].0).filter(|g| *g > 0.0).collect();
    if gaps.is_empty() {
        return 1.0;
    }
    gaps.sort_by(f64::total_cmp);
    gaps[gaps.len() / 2]
}

fn running_average(points: &[(f64, f64)], n: usize) -> Vec<(f64, f64)> {
    let mut window: std::collections::VecDeque<f64> = std::collections::VecDeque::with_capacity(n);
    let mut sum = 0.0;
    points
        .iter()
        .map(|&(x, y)| {
            if !y.is_finite() {
                return (x, y);
            }
            window.push_back(y);
            sum += y;
            if window.len() > n {
                sum -= window.pop_front().unwrap_or(0.0);
            }
            (x, sum / window.len() as f64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ys(points: &[(f64, f64)]) -> Vec<f64> {
        points.iter().map(|p| (p.1 * 1e6).round() / 1e6).collect()
    }

    #[test]
    fn formulas_match_hand_computed_values() {
        let series = [(0.0, 1.0), (1.0, 2.0), (2.0, 4.0)];
        let cases: [(Smoothing, Vec<f64>); 5] = [
            (Smoothing::None, vec![1.0, 2.0, 4.0]),
            // EMA 0.5, debiased: 1; (0.5*0.5+1)/0.75 = 1.666667; ((1.25*0.5)+2)/0.875 = 3.0
            (Smoothing::Ema(0.5), vec![1.0, 1.666667, 3.0]),
            (Smoothing::Ema(0.0), vec![1.0, 2.0, 4.0]),
            (Smoothing::RunningAverage(2), vec![1.0, 1.5, 3.0]),
            // Evenly spaced: time weighting changes nothing.
            (Smoothing::TimeWeightedEma(0.5), vec![1.0, 1.666667, 3.0]),
        ];
        for (how, expected) in cases {
            assert_eq!(ys(&smooth(&series, how)), expected, "{how:?}");
        }
    }

    #[test]
    fn time_weighting_follows_the_gaps() {
        // A point two units after the last counts as two steps of decay.
        let uneven = [(0.0, 0.0), (1.0, 0.0), (3.0, 8.0), (4.0, 8.0)];
        let plain = smooth(&uneven, Smoothing::Ema(0.5));
        let timed = smooth(&uneven, Smoothing::TimeWeightedEma(0.5));
        assert!(timed[2].1 > plain[2].1, "the far point pulls harder: {timed:?} vs {plain:?}");
        assert_eq!(timed.iter().map(|p| p.0).collect::<Vec<_>>(), vec![0.0, 1.0, 3.0, 4.0]);
    }

    #[test]
    fn non_finite_values_pass_through() {
        let series = [(0.0, 1.0), (1.0, f64::NAN), (2.0, 3.0)];
        for how in [Smoothing::Ema(0.6), Smoothing::TimeWeightedEma(0.6), Smoothing::RunningAverage(3)] {
            let out = smooth(&series, how);
            assert!(out[1].1.is_nan(), "{how:?}");
            assert!(out[0].1.is_finite() && out[2].1.is_finite(), "{how:?}");
        }
        assert!(smooth(&[], Smoothing::Ema(0.9)).is_empty());
    }
}
