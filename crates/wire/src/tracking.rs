//! Experiments, runs, metrics, params, tags and datasets: the messages of
//! MLflow's `service.proto` as its REST API writes them (unset fields and
//! empty lists left out).

use almanac_core::model as domain;
use serde::{Deserialize, Serialize};

use crate::codec;

/// A tag or a param: `{"key": .., "value": ..}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyValue {
    #[serde(default, deserialize_with = "codec::text")]
    pub key: String,
    #[serde(default, deserialize_with = "codec::text")]
    pub value: String,
}

impl From<&domain::Tag> for KeyValue {
    fn from(t: &domain::Tag) -> Self {
        KeyValue { key: t.key.clone(), value: t.value.clone() }
    }
}

impl From<&domain::Param> for KeyValue {
    fn from(p: &domain::Param) -> Self {
        KeyValue { key: p.key.clone(), value: p.value.clone() }
    }
}

impl From<KeyValue> for domain::Tag {
    fn from(kv: KeyValue) -> Self {
        domain::Tag { key: kv.key, value: kv.value }
    }
}

impl From<KeyValue> for domain::Param {
    fn from(kv: KeyValue) -> Self {
        domain::Param { key: kv.key, value: kv.value }
    }
}

/// Tags or params as the wire lists them.
pub fn key_values<'a, T: 'a>(items: impl IntoIterator<Item = &'a T>) -> Vec<KeyValue>
where
    KeyValue: From<&'a T>,
{
    items.into_iter().map(KeyValue::from).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Experiment {
    #[serde(default, deserialize_with = "codec::text")]
    pub experiment_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub artifact_location: String,
    #[serde(default)]
    pub lifecycle_stage: String,
    #[serde(default, deserialize_with = "codec::int64")]
    pub last_update_time: i64,
    #[serde(default, deserialize_with = "codec::int64")]
    pub creation_time: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

impl From<&domain::Experiment> for Experiment {
    fn from(e: &domain::Experiment) -> Self {
        Experiment {
            experiment_id: e.experiment_id.clone(),
            name: e.name.clone(),
            artifact_location: e.artifact_location.clone(),
            lifecycle_stage: e.lifecycle_stage.as_str().into(),
            last_update_time: e.last_update_time,
            creation_time: e.creation_time,
            tags: key_values(&e.tags),
        }
    }
}

/// One metric point. Run and model metrics, histories and bulk-interval
/// answers all use this message, each filling its own optional fields.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Metric {
    #[serde(default)]
    pub key: String,
    #[serde(deserialize_with = "codec::float", serialize_with = "codec::serialize_float")]
    pub value: f64,
    #[serde(default, deserialize_with = "codec::int64")]
    pub timestamp: i64,
    #[serde(default, deserialize_with = "codec::int64")]
    pub step: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

impl Metric {
    pub fn point(key: &str, p: &domain::MetricPoint) -> Metric {
        Metric { key: key.into(), value: p.value, timestamp: p.timestamp, step: p.step, ..Default::default() }
    }

    pub fn to_point(&self) -> domain::MetricPoint {
        domain::MetricPoint { value: self.value, timestamp: self.timestamp, step: self.step }
    }
}

impl From<&domain::Metric> for Metric {
    fn from(m: &domain::Metric) -> Self {
        Metric::point(&m.key, &m.point)
    }
}

/// A metric point serialized straight from borrowed parts: histories run
/// to millions of points, and copying each key would dominate.
#[derive(Debug, Serialize)]
pub struct MetricRef<'a> {
    pub key: &'a str,
    #[serde(serialize_with = "codec::serialize_float")]
    pub value: f64,
    pub timestamp: i64,
    pub step: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<&'a str>,
}

impl<'a> MetricRef<'a> {
    pub fn new(key: &'a str, p: &domain::MetricPoint, run_id: Option<&'a str>) -> Self {
        MetricRef { key, value: p.value, timestamp: p.timestamp, step: p.step, run_id }
    }
}

/// `get-history` and `get-history-bulk-interval` answers, written.
#[derive(Debug, Serialize)]
pub struct MetricRefs<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `get-history-bulk`, MLflow UI's route: a plain JSON object from Flask,
/// so the list is written even when empty.
#[derive(Debug, Serialize)]
pub struct MetricsBulk<'a> {
    pub metrics: Vec<MetricRef<'a>>,
}

/// `get-history` and `get-history-bulk-interval` answers, read.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct Metrics {
    #[serde(default)]
    pub metrics: Vec<Metric>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunInfo {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run_uuid: String,
    #[serde(default, deserialize_with = "codec::text")]
    pub experiment_id: String,
    #[serde(default)]
    pub run_name: String,
    #[serde(default)]
    pub user_id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, deserialize_with = "codec::int64")]
    pub start_time: i64,
    #[serde(default, deserialize_with = "codec::opt_int64", skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub artifact_uri: String,
    #[serde(default)]
    pub lifecycle_stage: String,
    #[serde(default)]
    pub run_id: String,
}

impl RunInfo {
    /// The run's id under either of its names (older servers send only `run_uuid`).
    pub fn id(&self) -> &str {
        if self.run_id.is_empty() { &self.run_uuid } else { &self.run_id }
    }
}

impl From<&domain::RunInfo> for RunInfo {
    fn from(i: &domain::RunInfo) -> Self {
        RunInfo {
            run_uuid: i.run_id.clone(),
            experiment_id: i.experiment_id.clone(),
            run_name: i.run_name.clone(),
            user_id: i.user_id.clone(),
            status: i.status.as_str().into(),
            start_time: i.start_time,
            // MLflow writes no end time for a run that has none (0 included).
            end_time: i.end_time.filter(|e| *e != 0),
            artifact_uri: i.artifact_uri.clone(),
            lifecycle_stage: i.lifecycle_stage.as_str().into(),
            run_id: i.run_id.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunData {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<KeyValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Dataset {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub digest: String,
    #[serde(default)]
    pub source_type: String,
    #[serde(default)]
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DatasetInput {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    #[serde(default)]
    pub dataset: Dataset,
}

impl From<&domain::DatasetInput> for DatasetInput {
    fn from(d: &domain::DatasetInput) -> Self {
        let ds = &d.dataset;
        DatasetInput {
            tags: key_values(&d.tags),
            dataset: Dataset {
                name: ds.name.clone(),
                digest: ds.digest.clone(),
                source_type: ds.source_type.clone(),
                source: ds.source.clone(),
                schema: ds.schema.clone(),
                profile: ds.profile.clone(),
            },
        }
    }
}

impl From<DatasetInput> for domain::DatasetInput {
    fn from(d: DatasetInput) -> Self {
        let ds = d.dataset;
        domain::DatasetInput {
            dataset: domain::Dataset {
                name: ds.name,
                digest: ds.digest,
                source_type: ds.source_type,
                source: ds.source,
                schema: ds.schema,
                profile: ds.profile,
            },
            tags: d.tags.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ModelInput {
    #[serde(default)]
    pub model_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunInputs {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dataset_inputs: Vec<DatasetInput>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_inputs: Vec<ModelInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ModelOutput {
    #[serde(default)]
    pub model_id: String,
    #[serde(default, deserialize_with = "codec::int64")]
    pub step: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RunOutputs {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_outputs: Vec<ModelOutput>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Run {
    #[serde(default)]
    pub info: RunInfo,
    #[serde(default)]
    pub data: RunData,
    #[serde(default)]
    pub inputs: RunInputs,
    #[serde(default)]
    pub outputs: RunOutputs,
}

impl Run {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.data.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
    pub fn param(&self, key: &str) -> Option<&str> {
        self.data.params.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
    pub fn metric(&self, key: &str) -> Option<f64> {
        self.data.metrics.iter().find(|m| m.key == key).map(|m| m.value)
    }
    /// The run's name, or its id when it has none.
    pub fn name(&self) -> &str {
        if self.info.run_name.is_empty() { self.info.id() } else { &self.info.run_name }
    }
    /// Whether the run carries a note (`mlflow.note.content`) with any text.
    pub fn has_note(&self) -> bool {
        self.tag(domain::tags::NOTE).is_some_and(|n| !n.trim().is_empty())
    }
}

impl From<&domain::Run> for Run {
    fn from(r: &domain::Run) -> Self {
        Run {
            info: (&r.info).into(),
            data: RunData {
                metrics: r.metrics.iter().map(Metric::from).collect(),
                params: key_values(&r.params),
                tags: key_values(&r.tags),
            },
            inputs: RunInputs {
                dataset_inputs: r.inputs.iter().map(DatasetInput::from).collect(),
                model_inputs: r.model_inputs.iter().map(|id| ModelInput { model_id: id.clone() }).collect(),
            },
            outputs: RunOutputs {
                model_outputs: r
                    .outputs
                    .iter()
                    .map(|(id, step)| ModelOutput { model_id: id.clone(), step: *step })
                    .collect(),
            },
        }
    }
}

/// `{"experiment": ..}`: get-experiment and get-by-name.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ExperimentReply {
    #[serde(default)]
    pub experiment: Experiment,
}

/// `{"experiment_id": ..}`: create-experiment.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ExperimentCreated {
    #[serde(default, deserialize_with = "codec::text")]
    pub experiment_id: String,
}

/// `{"run": ..}`: create-run and get-run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunReply {
    #[serde(default)]
    pub run: Run,
}

/// `{"run_info": ..}`: update-run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RunInfoReply {
    #[serde(default)]
    pub run_info: RunInfo,
}

/// One dataset of `experiments/search-datasets` (MLflow UI's route).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DatasetSummary {
    #[serde(default, deserialize_with = "codec::text")]
    pub experiment_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DatasetSummaries {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dataset_summaries: Vec<DatasetSummary>,
}

/// An artifact listing entry. `file_size` is an int64, written as a number.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FileInfo {
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub is_dir: bool,
    #[serde(default, deserialize_with = "codec::opt_int64", skip_serializing_if = "Option::is_none")]
    pub file_size: Option<i64>,
}

impl FileInfo {
    /// As MLflow lists them: folders and empty files have no size.
    pub fn new(path: &str, is_dir: bool, size: Option<u64>) -> FileInfo {
        FileInfo { path: path.into(), is_dir, file_size: size.filter(|s| !is_dir && *s > 0).map(|s| s as i64) }
    }
}

/// `artifacts/list` and the logged-model directory listing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ArtifactListing {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub root_uri: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use almanac_core::model::{LifecycleStage, MetricPoint, RunStatus, Tag};

    fn domain_run() -> domain::Run {
        domain::Run {
            info: domain::RunInfo {
                run_id: "r1".into(),
                run_name: "brave-owl".into(),
                experiment_id: "0".into(),
                user_id: "me".into(),
                status: RunStatus::Running,
                start_time: 5,
                end_time: Some(0),
                artifact_uri: String::new(),
                lifecycle_stage: LifecycleStage::Active,
            },
            metrics: vec![domain::Metric {
                key: "loss".into(),
                point: MetricPoint { value: f64::NAN, timestamp: 6, step: 1 },
                model_id: None,
                dataset_name: None,
                dataset_digest: None,
            }],
            params: vec![],
            tags: vec![Tag { key: "t".into(), value: "v".into() }],
            inputs: vec![],
            model_inputs: vec![],
            outputs: vec![("m-1".into(), 2)],
        }
    }

    #[test]
    fn a_run_is_written_as_mlflow_writes_it() {
        let json = serde_json::to_string(&RunReply { run: (&domain_run()).into() }).unwrap();
        assert_eq!(
            json,
            r#"{"run":{"info":{"run_uuid":"r1","experiment_id":"0","run_name":"brave-owl","user_id":"me","status":"RUNNING","start_time":5,"lifecycle_stage":"active","run_id":"r1"},"data":{"metrics":[{"key":"loss","value":"NaN","timestamp":6,"step":1}],"tags":[{"key":"t","value":"v"}]},"inputs":{},"outputs":{"model_outputs":[{"model_id":"m-1","step":2}]}}}"#
        );
    }

    #[test]
    fn a_run_reads_back_from_its_own_json_and_mlflow_s_spellings() {
        let written = serde_json::to_vec(&Run::from(&domain_run())).unwrap();
        let back: Run = serde_json::from_slice(&written).unwrap();
        assert_eq!(back.info.id(), "r1");
        assert!(back.metric("loss").unwrap().is_nan());
        assert_eq!(back.tag("t"), Some("v"));
        // MLflow's own answer: an older server's run_uuid only, int64 as strings.
        let mlflow = r#"{"info": {"run_uuid": "r2", "experiment_id": 7, "start_time": "12", "end_time": "15",
                         "status": "FINISHED", "lifecycle_stage": "deleted"}}"#;
        let run: Run = serde_json::from_str(mlflow).unwrap();
        assert_eq!((run.info.id(), run.info.experiment_id.as_str()), ("r2", "7"));
        assert_eq!((run.info.start_time, run.info.end_time), (12, Some(15)));
    }

    #[test]
    fn an_experiment_keeps_every_field_but_empty_tags() {
        let e = domain::Experiment {
            experiment_id: "1".into(),
            name: "n".into(),
            artifact_location: "mlflow-artifacts:/1".into(),
            lifecycle_stage: LifecycleStage::Deleted,
            creation_time: 3,
            last_update_time: 4,
            tags: vec![],
        };
        assert_eq!(
            serde_json::to_string(&Experiment::from(&e)).unwrap(),
            r#"{"experiment_id":"1","name":"n","artifact_location":"mlflow-artifacts:/1","lifecycle_stage":"deleted","last_update_time":4,"creation_time":3}"#
        );
    }
}
