//! How much each param matters to a metric: the Pearson correlation, and
//! permutation importance under a small random forest (how much worse the
//! forest predicts when that param's values are shuffled). The forest is
//! seeded by the caller, so the same runs give the same answer.

/// One param's answer. `correlation` is `None` when the param never varies.
#[derive(Debug, Clone, PartialEq)]
pub struct Importance {
    pub name: String,
    pub correlation: Option<f64>,
    /// Share of the forest's error increase, summing to 1 over all params
    /// (all zero when nothing predicts the metric).
    pub importance: f64,
}

/// More runs than this are thinned (every k-th) before fitting: the answer
/// barely moves, and the browser stays responsive.
pub const MAX_SAMPLES: usize = 2000;
const TREES: usize = 40;
const MAX_DEPTH: usize = 6;
const MIN_LEAF: usize = 2;

/// A param's name and its value per run as logged (`None`: the run lacks it).
pub type ParamColumn = (String, Vec<Option<String>>);

/// `params`: (name, value per run as logged, `None` if the run lacks it);
/// `target`: the metric per run (non-finite targets drop the run).
pub fn importance(params: &[ParamColumn], target: &[f64], seed: u64) -> Vec<Importance> {
    let keep: Vec<usize> = (0..target.len()).filter(|&i| target[i].is_finite()).collect();
    let stride = keep.len().div_ceil(MAX_SAMPLES).max(1);
    let rows: Vec<usize> = keep.into_iter().step_by(stride).collect();
    let y: Vec<f64> = rows.iter().map(|&i| target[i]).collect();
    let columns: Vec<Vec<f64>> = params
        .iter()
        .map(|(_, values)| encode(&rows.iter().map(|&i| values.get(i).cloned().flatten()).collect::<Vec<_>>(), &y))
        .collect();
    let correlations: Vec<Option<f64>> = columns.iter().map(|c| pearson(c, &y)).collect();
    let mut scores = vec![0.0; params.len()];
    if y.len() >= 4 && !columns.is_empty() {
        let mut rng = Rng(seed | 1);
        let forest = Forest::fit(&columns, &y, &mut rng);
        let base = mse(&forest.predict_all(&columns), &y);
        for (f, score) in scores.iter_mut().enumerate() {
            let mut shuffled = columns.clone();
            rng.shuffle(&mut shuffled[f]);
            *score = (mse(&forest.predict_all(&shuffled), &y) - base).max(0.0);
        }
    }
    let total: f64 = scores.iter().sum();
    params
        .iter()
        .zip(correlations)
        .zip(scores)
        .map(|(((name, _), correlation), s)| Importance {
            name: name.clone(),
            correlation,
            importance: if total > 0.0 { s / total } else { 0.0 },
        })
        .collect()
}

/// Numbers stay numbers; anything else is a category, encoded as the mean
/// target of its runs (so order means something to a split). Missing values
/// take the column's mean.
fn encode(values: &[Option<String>], y: &[f64]) -> Vec<f64> {
    let numbers: Vec<Option<f64>> =
        values.iter().map(|v| v.as_ref().and_then(|s| s.trim().parse::<f64>().ok())).collect();
    let all_numeric = values.iter().zip(&numbers).all(|(v, n)| v.is_none() || n.is_some_and(f64::is_finite));
    let encoded: Vec<Option<f64>> = if all_numeric {
        numbers
    } else {
        let mut sums: std::collections::HashMap<&str, (f64, usize)> = std::collections::HashMap::new();
        for (v, t) in values.iter().zip(y) {
            let e = sums.entry(v.as_deref().unwrap_or("\u{0}")).or_insert((0.0, 0));
            e.0 += t;
            e.1 += 1;
        }
        values.iter().map(|v| sums.get(v.as_deref().unwrap_or("\u{0}")).map(|(s, n)| s / *n as f64)).collect()
    };
    let present: Vec<f64> = encoded.iter().flatten().copied().collect();
    let fill = if present.is_empty() { 0.0 } else { present.iter().sum::<f64>() / present.len() as f64 };
    encoded.into_iter().map(|v| v.unwrap_or(fill)).collect()
}

fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    if x.len() < 2 {
        return None;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

fn mse(pred: &[f64], y: &[f64]) -> f64 {
    pred.iter().zip(y).map(|(p, t)| (p - t) * (p - t)).sum::<f64>() / y.len().max(1) as f64
}

/// xorshift64*: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn shuffle(&mut self, v: &mut [f64]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

enum Node {
    Leaf(f64),
    Split { feature: usize, threshold: f64, left: Box<Node>, right: Box<Node> },
}

impl Node {
    fn predict(&self, columns: &[Vec<f64>], row: usize) -> f64 {
        match self {
            Node::Leaf(v) => *v,
            Node::Split { feature, threshold, left, right } => {
                if columns[*feature][row] <= *threshold {
                    left.predict(columns, row)
                } else {
                    right.predict(columns, row)
                }
            }
        }
    }
}

struct Forest(Vec<Node>);

impl Forest {
    fn fit(columns: &[Vec<f64>], y: &[f64], rng: &mut Rng) -> Forest {
        let per_split = columns.len().div_ceil(3).max(1);
        let trees = (0..TREES)
            .map(|_| {
                let sample: Vec<usize> = (0..y.len()).map(|_| rng.below(y.len())).collect();
                grow(columns, y, sample, 0, per_split, rng)
            })
            .collect();
        Forest(trees)
    }

    fn predict_all(&self, columns: &[Vec<f64>]) -> Vec<f64> {
        let n = columns.first().map_or(0, Vec::len);
        (0..n).map(|row| self.0.iter().map(|t| t.predict(columns, row)).sum::<f64>() / self.0.len() as f64).collect()
    }
}

fn grow(columns: &[Vec<f64>], y: &[f64], rows: Vec<usize>, depth: usize, per_split: usize, rng: &mut Rng) -> Node {
    let mean = rows.iter().map(|&r| y[r]).sum::<f64>() / rows.len().max(1) as f64;
    if depth >= MAX_DEPTH || rows.len() < 2 * MIN_LEAF {
        return Node::Leaf(mean);
    }
    // The split that most reduces the squared error, over a random subset of features.
    let mut best: Option<(f64, usize, f64)> = None;
    let mut candidates: Vec<usize> = (0..columns.len()).collect();
    for i in 0..per_split.min(candidates.len()) {
        let j = i + rng.below(candidates.len() - i);
        candidates.swap(i, j);
    }
    for &f in &candidates[..per_split.min(candidates.len())] {
        let mut order = rows.clone();
        order.sort_by(|&a, &b| columns[f][a].total_cmp(&columns[f][b]));
        let total: f64 = order.iter().map(|&r| y[r]).sum();
        let mut left_sum = 0.0;
        for k in MIN_LEAF..=order.len() - MIN_LEAF {
            left_sum += y[order[k - 1]];
            let (a, b) = (columns[f][order[k - 1]], columns[f][order[k]]);
            if a == b {
                continue;
            }
            let (nl, nr) = (k as f64, (order.len() - k) as f64);
            // Maximizing this is minimizing the children's squared error.
            let gain = left_sum * left_sum / nl + (total - left_sum) * (total - left_sum) / nr;
            if best.is_none_or(|(g, _, _)| gain > g) {
                best = Some((gain, f, (a + b) / 2.0));
            }
        }
    }
    let Some((_, feature, threshold)) = best else { return Node::Leaf(mean) };
    let (l, r): (Vec<usize>, Vec<usize>) = rows.into_iter().partition(|&row| columns[feature][row] <= threshold);
    Node::Split {
        feature,
        threshold,
        left: Box::new(grow(columns, y, l, depth + 1, per_split, rng)),
        right: Box::new(grow(columns, y, r, depth + 1, per_split, rng)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 300 runs: the metric is driven by `lr` (strongly) and `optimizer`
    /// (a categorical step); `seed` is noise with no effect.
    fn synthetic() -> (Vec<ParamColumn>, Vec<f64>) {
        let mut rng = Rng(42);
        let (mut lr, mut opt, mut noise, mut y) = (vec![], vec![], vec![], vec![]);
        for _ in 0..300 {
            let l = rng.below(1000) as f64 / 1000.0;
            let o = ["adam", "sgd"][rng.below(2)];
            let n = rng.below(1000);
            y.push(5.0 * l + if o == "adam" { 1.0 } else { 0.0 } + (rng.below(100) as f64) / 1000.0);
            lr.push(Some(format!("{l}")));
            opt.push(Some(o.to_string()));
            noise.push(Some(format!("{n}")));
        }
        (vec![("lr".into(), lr), ("optimizer".into(), opt), ("seed".into(), noise)], y)
    }

    #[test]
    fn the_param_that_drives_the_metric_ranks_first() {
        let (params, y) = synthetic();
        let out = importance(&params, &y, 7);
        let by = |n: &str| out.iter().find(|i| i.name == n).unwrap().clone();
        let (lr, opt, seed) = (by("lr"), by("optimizer"), by("seed"));
        assert!(lr.importance > opt.importance && opt.importance > seed.importance, "{out:?}");
        assert!(seed.importance < 0.05, "noise matters little: {out:?}");
        assert!(lr.correlation.unwrap() > 0.8, "{out:?}");
        assert!(seed.correlation.unwrap().abs() < 0.2, "{out:?}");
        let total: f64 = out.iter().map(|i| i.importance).sum();
        assert!((total - 1.0).abs() < 1e-9);
        assert_eq!(importance(&params, &y, 7), out, "same seed, same answer");
    }

    #[test]
    fn constant_missing_and_tiny_inputs_do_not_break() {
        let params = vec![
            ("const".to_string(), vec![Some("1".to_string()); 3]),
            ("sparse".to_string(), vec![None, Some("x".into()), None]),
        ];
        let out = importance(&params, &[1.0, f64::NAN, 3.0], 1);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].correlation, None);
        assert!(out.iter().all(|i| i.importance == 0.0), "too few runs to fit: {out:?}");
        assert!(importance(&[], &[], 1).is_empty());
    }
}
