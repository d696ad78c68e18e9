//! The records a source yields, in Almanac's domain types where they fit.

use std::path::PathBuf;

use almanac_core::model::{DatasetInput, LifecycleStage, LoggedModelStatus, Metric, Param, RunStatus, Tag};

#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub id: String,
    pub name: String,
    pub lifecycle: LifecycleStage,
    pub creation_time: i64,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub run_id: String,
    pub experiment_id: String,
    pub run_name: String,
    pub user_id: String,
    pub status: RunStatus,
    pub start_time: i64,
    pub end_time: Option<i64>,
    pub lifecycle: LifecycleStage,
    pub params: Vec<Param>,
    pub tags: Vec<Tag>,
    /// Every point of every history, duplicates collapsed.
    pub metrics: Vec<Metric>,
    pub inputs: Vec<DatasetInput>,
    /// Logged models the run produced, with the step.
    pub outputs: Vec<(String, i64)>,
    /// The folder holding the run's artifacts, if it is on this machine.
    pub artifacts: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoggedModel {
    pub model_id: String,
    pub experiment_id: String,
    pub name: String,
    pub creation_time: i64,
    pub model_type: Option<String>,
    pub source_run_id: Option<String>,
    pub status: LoggedModelStatus,
    pub lifecycle: LifecycleStage,
    pub params: Vec<Param>,
    pub tags: Vec<Tag>,
    /// Metrics linked to the model, each logged on a run: (run id, metric).
    pub metrics: Vec<(String, Metric)>,
    pub artifacts: Option<PathBuf>,
}

/// A trace: its record, with the source's experiment id, and its spans as
/// the `traces.json` document MLflow's client reads (`{"spans": [...]}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub info: almanac_core::trace::TraceInfo,
    pub spans_json: Option<Vec<u8>>,
}

/// A trace's state from any MLflow version's spelling.
pub(crate) fn trace_state(raw: Option<&str>) -> String {
    match raw {
        Some(s @ ("OK" | "ERROR" | "IN_PROGRESS")) => s.to_string(),
        _ => "STATE_UNSPECIFIED".to_string(),
    }
}

/// Source tags that describe where the source kept things; Almanac sets
/// its own.
pub(crate) fn keep_trace_tag(key: &str) -> bool {
    key != almanac_core::trace::ARTIFACT_LOCATION_TAG && key != "mlflow.trace.spansLocation"
}

/// The spans of a trace whose `traces.json` sits in a local folder.
pub(crate) fn local_spans(location: Option<&str>) -> Option<Vec<u8>> {
    let dir = local_dir(location?)?;
    std::fs::read(dir.join(almanac_core::trace::SPANS_FILE)).ok()
}

#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredModel {
    pub name: String,
    pub creation_time: i64,
    pub description: Option<String>,
    pub tags: Vec<Tag>,
    pub aliases: Vec<(String, i64)>,
    pub versions: Vec<ModelVersion>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelVersion {
    pub version: i64,
    pub creation_time: i64,
    pub description: Option<String>,
    pub current_stage: String,
    pub source: String,
    pub storage_location: Option<String>,
    pub run_id: Option<String>,
    pub run_link: Option<String>,
    pub model_id: Option<String>,
    pub tags: Vec<Tag>,
}

/// The stage MLflow's registry gives a deleted model version, which it
/// keeps (redacted) but never shows.
pub(crate) const DELETED_VERSION_STAGE: &str = "Deleted_Internal";

/// The experiment that takes in runs whose own experiment the source no
/// longer holds. Active, so nothing imported is hidden.
pub(crate) fn orphaned_experiment(id: &str) -> Experiment {
    Experiment {
        id: id.to_string(),
        name: format!("Runs of missing experiment {id}"),
        lifecycle: LifecycleStage::Active,
        creation_time: 0,
        tags: vec![Tag {
            key: "almanac.import.note".into(),
            value: format!("The source held these runs under experiment {id}, which it no longer has."),
        }],
    }
}

/// MLflow's numeric run status (file store) or its name (SQL).
pub(crate) fn run_status(raw: &str) -> Option<RunStatus> {
    match raw {
        "1" => Some(RunStatus::Running),
        "2" => Some(RunStatus::Scheduled),
        "3" => Some(RunStatus::Finished),
        "4" => Some(RunStatus::Failed),
        "5" => Some(RunStatus::Killed),
        name => RunStatus::parse(name),
    }
}

pub(crate) fn logged_model_status(raw: i64) -> LoggedModelStatus {
    match raw {
        2 => LoggedModelStatus::Ready,
        3 => LoggedModelStatus::Failed,
        _ => LoggedModelStatus::Pending,
    }
}

pub(crate) fn lifecycle(raw: Option<&str>) -> LifecycleStage {
    match raw {
        Some("deleted") => LifecycleStage::Deleted,
        _ => LifecycleStage::Active,
    }
}

/// A local folder for an artifact URI: `file:///…` or a plain absolute path.
pub(crate) fn local_dir(uri: &str) -> Option<PathBuf> {
    let path = uri.strip_prefix("file://").unwrap_or(uri);
    (path.starts_with('/') && !path.contains("://")).then(|| PathBuf::from(path))
}

/// Sorts a history and drops exact repeats: MLflow's file store appends a
/// point again when it is linked to a logged model.
pub(crate) fn collapse(metrics: &mut Vec<Metric>) {
    metrics.sort_by(|a, b| {
        (&a.key, a.point.step, a.point.timestamp, a.point.value.to_bits()).cmp(&(
            &b.key,
            b.point.step,
            b.point.timestamp,
            b.point.value.to_bits(),
        ))
    });
    metrics.dedup_by(|a, b| a.key == b.key && same_point(a, b));
}

/// Equal points, NaN included (NaN != NaN as floats).
fn same_point(a: &Metric, b: &Metric) -> bool {
    a.point.step == b.point.step
        && a.point.timestamp == b.point.timestamp
        && a.point.value.to_bits() == b.point.value.to_bits()
}

#[cfg(test)]
mod tests {
    use almanac_core::model::MetricPoint;

    use super::*;

    #[test]
    fn statuses_stages_and_local_folders() {
        for (raw, status) in [("3", Some(RunStatus::Finished)), ("FAILED", Some(RunStatus::Failed)), ("9", None)] {
            assert_eq!(run_status(raw), status, "{raw}");
        }
        assert_eq!(logged_model_status(2), LoggedModelStatus::Ready);
        assert_eq!(lifecycle(Some("deleted")), LifecycleStage::Deleted);
        assert_eq!(lifecycle(None), LifecycleStage::Active);
        for (uri, dir) in [
            ("file:///data/mlruns/1/abc/artifacts", Some("/data/mlruns/1/abc/artifacts")),
            ("/data/art", Some("/data/art")),
            ("s3://bucket/x", None),
            ("mlflow-artifacts:/1/abc", None),
            ("relative/dir", None),
        ] {
            assert_eq!(local_dir(uri), dir.map(PathBuf::from), "{uri}");
        }
    }

    #[test]
    fn repeated_points_collapse_nan_included() {
        let m = |key: &str, value: f64, timestamp: i64, step: i64| Metric {
            key: key.into(),
            point: MetricPoint { value, timestamp, step },
            model_id: None,
            dataset_name: None,
            dataset_digest: None,
        };
        let mut metrics = vec![
            m("loss", 1.0, 5, 0),
            m("loss", f64::NAN, 6, 1),
            m("acc", 1.0, 5, 0),
            m("loss", 1.0, 5, 0),
            m("loss", f64::NAN, 6, 1),
            m("loss", 0.5, 7, 1),
        ];
        collapse(&mut metrics);
        let got: Vec<(&str, i64, i64)> =
            metrics.iter().map(|x| (x.key.as_str(), x.point.step, x.point.timestamp)).collect();
        assert_eq!(got, [("acc", 0, 5), ("loss", 0, 5), ("loss", 1, 6), ("loss", 1, 7)]);
    }
}
