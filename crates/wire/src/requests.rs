//! Request bodies read in one strict shape. The server reads most requests
//! field by field (`almanac-server`'s `Input`), which gives MLflow's exact
//! messages for each bad field; the shapes here serve the paths where a
//! typed parse is the point.

use std::borrow::Cow;

use serde::Deserialize;

/// A log-batch of metrics alone, every number a JSON number: what the
/// mlflow client sends while training. Any other shape (strings for
/// numbers, params or tags, unknown fields) fails to parse, and the
/// server's general path answers it with MLflow's messages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsBatch<'a> {
    #[serde(borrow)]
    pub run_id: Cow<'a, str>,
    #[serde(borrow)]
    pub metrics: Vec<BatchPoint<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchPoint<'a> {
    #[serde(borrow)]
    pub key: Cow<'a, str>,
    pub value: f64,
    pub timestamp: i64,
    #[serde(default)]
    pub step: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_plain_shape_parses() {
        let plain = br#"{"run_id": "r", "metrics": [{"key": "loss", "value": 0.5, "timestamp": 1}]}"#;
        let batch: MetricsBatch = serde_json::from_slice(plain).unwrap();
        assert_eq!((batch.run_id.as_ref(), batch.metrics[0].step), ("r", 0));
        for other in [
            &br#"{"run_id": "r", "metrics": [{"key": "l", "value": "NaN", "timestamp": 1}]}"#[..],
            br#"{"run_id": "r", "metrics": [], "params": []}"#,
            br#"{"run_id": "r", "metrics": [{"key": "l", "value": 1, "timestamp": "1"}]}"#,
        ] {
            assert!(serde_json::from_slice::<MetricsBatch>(other).is_err());
        }
    }
}
