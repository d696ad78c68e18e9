//! Experiments, runs, params, metrics, tags and inputs: MLflow's tracking
//! semantics over the store.

use almanac_core::downsample::min_max_downsample;
use almanac_core::ids::{self, DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME};
use almanac_core::model::{
    DatasetInput, Experiment, LifecycleStage, Metric, MetricPoint, Param, Run, RunInfo, RunStatus, Tag, ViewType, tags,
};
use almanac_core::op::Op;
use almanac_core::search::{Target, parse_filter, parse_order_by};
use almanac_core::validation::{self as v, MAX_RESULTS_SEARCH_RUNS};
use almanac_core::{Error, ErrorCode, names};
use almanac_store::{ExperimentQuery, RunQuery};

use crate::paging::{self, Page};
use crate::{App, Result};

/// Where run artifacts live, as MLflow's artifact proxy names them.
fn artifact_location(experiment_id: &str) -> String {
    format!("mlflow-artifacts:/{experiment_id}")
}

#[derive(Debug, Clone, Default)]
pub struct CreateRun {
    pub experiment_id: Option<String>,
    pub user_id: Option<String>,
    pub run_name: Option<String>,
    pub start_time: Option<i64>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateRun {
    pub run_id: String,
    pub status: Option<RunStatus>,
    pub end_time: Option<i64>,
    pub run_name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LogBatch {
    pub run_id: String,
    pub metrics: Vec<Metric>,
    pub params: Vec<Param>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default)]
pub struct SearchRuns {
    pub experiment_ids: Vec<String>,
    pub filter: String,
    pub order_by: Vec<String>,
    pub view: ViewType,
    pub max_results: Option<i64>,
    pub page_token: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SearchExperiments {
    pub filter: String,
    pub order_by: Vec<String>,
    pub view: ViewType,
    pub max_results: Option<i64>,
    pub page_token: Option<String>,
}

/// One point of a chart series, with the run it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoint {
    pub run_id: String,
    pub key: String,
    pub point: MetricPoint,
}

/// MLflow's experiment ids are integers; it refuses anything else up front.
pub(crate) fn valid_experiment_id(id: &str) -> Result<()> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            Error::invalid(format!("Invalid experiment ID '{id}'. Experiment ID must be a valid integer.")).into()
        );
    }
    Ok(())
}

pub(crate) fn positive_max(max: Option<i64>, default: i64, limit: i64) -> Result<i64> {
    let n = max.unwrap_or(default);
    if n <= 0 {
        return Err(Error::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be a positive integer"
        ))
        .into());
    }
    if n > limit {
        return Err(Error::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be at most {limit}"
        ))
        .into());
    }
    Ok(n)
}

impl App {
    pub(crate) fn ensure_default_experiment(&self) -> Result<()> {
        if self.store().experiment_by_name(DEFAULT_EXPERIMENT_NAME)?.is_some()
            || self.store().experiment(DEFAULT_EXPERIMENT_ID).is_ok()
        {
            return Ok(());
        }
        self.store().write(
            &self.ctx(),
            Op::CreateExperiment {
                experiment_id: DEFAULT_EXPERIMENT_ID.into(),
                name: DEFAULT_EXPERIMENT_NAME.into(),
                artifact_location: artifact_location(DEFAULT_EXPERIMENT_ID),
                creation_time: self.now(),
                tags: vec![],
            },
        )?;
        Ok(())
    }

    // ----- experiments -----

    pub fn create_experiment(
        &self,
        name: &str,
        artifact_location_override: Option<&str>,
        tags: Vec<Tag>,
    ) -> Result<String> {
        v::validate_experiment_name(name)?;
        tags.iter().try_for_each(v::validate_experiment_tag)?;
        if let Some(loc) = artifact_location_override.filter(|l| !l.is_empty()) {
            v::validate_artifact_location(loc)?;
        }
        let experiment_id = ids::experiment_id_from_random(self.random());
        let location = artifact_location_override
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| artifact_location(&experiment_id));
        self.store().write(
            &self.ctx(),
            Op::CreateExperiment {
                experiment_id: experiment_id.clone(),
                name: name.to_string(),
                artifact_location: location,
                creation_time: self.now(),
                tags,
            },
        )?;
        Ok(experiment_id)
    }

    pub fn experiment(&self, experiment_id: &str) -> Result<Experiment> {
        valid_experiment_id(experiment_id)?;
        Ok(self.store().experiment(experiment_id)?)
    }

    pub fn experiment_by_name(&self, name: &str) -> Result<Experiment> {
        self.store()
            .experiment_by_name(name)?
            .ok_or_else(|| Error::not_found(format!("Could not find experiment with name '{name}'")).into())
    }

    pub fn search_experiments(&self, req: &SearchExperiments) -> Result<Page<Experiment>> {
        let limit = positive_max(req.max_results, 1000, v::MAX_RESULTS_SEARCH_EXPERIMENTS)?;
        let offset = paging::decode(req.page_token.as_deref())?;
        let filter = parse_filter(&req.filter, Target::Experiments)?;
        let order_by = req
            .order_by
            .iter()
            .filter(|o| !o.trim().is_empty())
            .map(|o| parse_order_by(o, Target::Experiments))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let (items, more) =
            self.store().search_experiments(&ExperimentQuery { filter, order_by, view: req.view, limit, offset })?;
        Ok(paging::page(items, offset, more))
    }

    pub fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        v::validate_experiment_name(new_name)?;
        let e = self.experiment(experiment_id)?;
        if e.lifecycle_stage != LifecycleStage::Active {
            return Err(Error::new(ErrorCode::InvalidState, "Cannot rename a non-active experiment.").into());
        }
        self.store()
            .write(&self.ctx(), Op::RenameExperiment { experiment_id: experiment_id.into(), name: new_name.into() })?;
        Ok(())
    }

    pub fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        self.set_experiment_stage(experiment_id, LifecycleStage::Active, LifecycleStage::Deleted)
    }

    pub fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        self.set_experiment_stage(experiment_id, LifecycleStage::Deleted, LifecycleStage::Active)
    }

    fn set_experiment_stage(&self, experiment_id: &str, from: LifecycleStage, to: LifecycleStage) -> Result<()> {
        // MLflow answers "does not exist" for deleting a deleted experiment
        // (and restoring an active one).
        let e = self.experiment(experiment_id)?;
        if e.lifecycle_stage != from {
            return Err(Error::not_found(format!("No Experiment with id={experiment_id} exists")).into());
        }
        self.store()
            .write(&self.ctx(), Op::SetExperimentLifecycle { experiment_id: experiment_id.into(), stage: to })?;
        Ok(())
    }

    pub fn set_experiment_tag(&self, experiment_id: &str, tag: Tag) -> Result<()> {
        v::validate_experiment_tag(&tag)?;
        self.store().write(&self.ctx(), Op::SetExperimentTag { experiment_id: experiment_id.into(), tag })?;
        Ok(())
    }

    pub fn delete_experiment_tag(&self, experiment_id: &str, key: &str) -> Result<()> {
        self.store()
            .write(&self.ctx(), Op::DeleteExperimentTag { experiment_id: experiment_id.into(), key: key.into() })?;
        Ok(())
    }

    // ----- runs -----

    pub fn create_run(&self, req: CreateRun) -> Result<Run> {
        let experiment_id =
            req.experiment_id.filter(|e| !e.is_empty()).unwrap_or_else(|| DEFAULT_EXPERIMENT_ID.to_string());
        let experiment = self.experiment(&experiment_id)?;
        let mut tags = req.tags;
        warn_if_cut(v::fit_run_values(&mut [], &mut tags));
        tags.iter().try_for_each(v::validate_run_tag)?;
        let tag_name = tags.iter().find(|t| t.key == tags::RUN_NAME).map(|t| t.value.clone());
        let given = req.run_name.filter(|n| !n.is_empty());
        if let (Some(a), Some(b)) = (&given, &tag_name)
            && a != b
        {
            return Err(Error::invalid(format!(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='{a}', mlflow.runName='{b}')."
            ))
            .into());
        }
        let run_name = given.or(tag_name.clone()).unwrap_or_else(|| names::run_name_from_random(self.random()));
        v::validate_run_name(&run_name)?;
        if tag_name.is_none() {
            tags.push(Tag { key: tags::RUN_NAME.into(), value: run_name.clone() });
        }
        let run_id = ids::run_id_from_random(self.random_bytes());
        let artifact_uri = format!("{}/{run_id}/artifacts", experiment.artifact_location.trim_end_matches('/'));
        self.store().write(
            &self.ctx(),
            Op::CreateRun {
                run_id: run_id.clone(),
                experiment_id,
                run_name,
                user_id: req.user_id.unwrap_or_default(),
                start_time: req.start_time.unwrap_or(0),
                status: RunStatus::Running,
                artifact_uri,
                tags,
            },
        )?;
        self.run(&run_id)
    }

    pub fn run(&self, run_id: &str) -> Result<Run> {
        Ok(self.store().run(run_id)?)
    }

    pub fn update_run(&self, req: UpdateRun) -> Result<RunInfo> {
        let run_name = req.run_name.filter(|n| !n.is_empty());
        if let Some(name) = &run_name {
            v::validate_run_name(name)?;
        }
        self.store().write(
            &self.ctx(),
            Op::UpdateRun { run_id: req.run_id.clone(), status: req.status, end_time: req.end_time, run_name },
        )?;
        Ok(self.run(&req.run_id)?.info)
    }

    pub fn delete_run(&self, run_id: &str) -> Result<()> {
        self.store()
            .write(&self.ctx(), Op::SetRunLifecycle { run_id: run_id.into(), stage: LifecycleStage::Deleted })?;
        Ok(())
    }

    pub fn restore_run(&self, run_id: &str) -> Result<()> {
        self.store()
            .write(&self.ctx(), Op::SetRunLifecycle { run_id: run_id.into(), stage: LifecycleStage::Active })?;
        Ok(())
    }

    pub fn search_runs(&self, req: &SearchRuns) -> Result<Page<Run>> {
        req.experiment_ids.iter().try_for_each(|id| valid_experiment_id(id))?;
        let limit = positive_max(req.max_results, 1000, MAX_RESULTS_SEARCH_RUNS)?;
        let offset = paging::decode(req.page_token.as_deref())?;
        let filter = parse_filter(&req.filter, Target::Runs)?;
        let order_by = req
            .order_by
            .iter()
            .filter(|o| !o.trim().is_empty())
            .map(|o| parse_order_by(o, Target::Runs))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let query =
            RunQuery { experiment_ids: req.experiment_ids.clone(), filter, order_by, view: req.view, limit, offset };
        let (items, more) = self.store().search_runs(&query)?;
        Ok(paging::page(items, offset, more))
    }

    pub fn log_metric(&self, run_id: &str, metric: Metric) -> Result<()> {
        self.log_batch(LogBatch { run_id: run_id.into(), metrics: vec![metric], ..Default::default() })
    }

    pub fn log_param(&self, run_id: &str, param: Param) -> Result<()> {
        self.log_batch(LogBatch { run_id: run_id.into(), params: vec![param], ..Default::default() })
    }

    pub fn set_tag(&self, run_id: &str, tag: Tag) -> Result<()> {
        self.log_batch(LogBatch { run_id: run_id.into(), tags: vec![tag], ..Default::default() })
    }

    pub fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        self.store().write(&self.ctx(), Op::DeleteRunTag { run_id: run_id.into(), key: key.into() })?;
        Ok(())
    }

    pub fn log_batch(&self, mut req: LogBatch) -> Result<()> {
        warn_if_cut(v::fit_run_values(&mut req.params, &mut req.tags));
        v::validate_batch(&req.metrics, &req.params, &req.tags)?;
        // Within one batch the last value of a tag wins, as in MLflow.
        let mut tags: Vec<Tag> = Vec::with_capacity(req.tags.len());
        for t in req.tags {
            match tags.iter_mut().find(|x| x.key == t.key) {
                Some(existing) => existing.value = t.value,
                None => tags.push(t),
            }
        }
        self.store()
            .write(&self.ctx(), Op::LogBatch { run_id: req.run_id, metrics: req.metrics, params: req.params, tags })?;
        Ok(())
    }

    /// Records the datasets a run read, and the logged models it used.
    /// Limits are MLflow's (`mlflow/utils/validation.py`).
    pub fn log_inputs(&self, run_id: &str, datasets: Vec<DatasetInput>, models: Vec<String>) -> Result<()> {
        for d in &datasets {
            let ds = &d.dataset;
            for (what, value, limit) in [
                ("name", &ds.name, 500usize),
                ("digest", &ds.digest, 36),
                ("source_type", &ds.source_type, 500),
                ("source", &ds.source, 65_535),
            ] {
                if value.is_empty() {
                    return Err(
                        Error::invalid(format!("Missing value for required parameter 'dataset.{what}'.")).into()
                    );
                }
                if value.chars().count() > limit {
                    return Err(Error::invalid(format!("Dataset {what} exceeds the maximum length of {limit}")).into());
                }
            }
            for (what, value, limit) in [("schema", &ds.schema, 1_048_575usize), ("profile", &ds.profile, 16_777_215)] {
                if value.as_ref().is_some_and(|v| v.chars().count() > limit) {
                    return Err(Error::invalid(format!("Dataset {what} exceeds the maximum length of {limit}")).into());
                }
            }
            for tag in &d.tags {
                if tag.key.chars().count() > 255 {
                    return Err(Error::invalid("InputTag key exceeds the maximum length of 255").into());
                }
                if tag.value.chars().count() > 500 {
                    return Err(Error::invalid("InputTag value exceeds the maximum length of 500").into());
                }
            }
        }
        for model_id in &models {
            self.logged_model(model_id, false)?;
        }
        self.store().write(&self.ctx(), Op::LogInputs { run_id: run_id.into(), datasets, models })?;
        Ok(())
    }

    // ----- metric histories -----

    /// One page of a metric's history; `max_results: None` returns it all.
    pub fn metric_history(
        &self,
        run_id: &str,
        key: &str,
        max_results: Option<i64>,
        page_token: Option<&str>,
    ) -> Result<Page<MetricPoint>> {
        if let Some(n) = max_results
            && n <= 0
        {
            return Err(Error::invalid(format!(
                "Invalid value {n} for parameter 'max_results' supplied. It must be a positive integer."
            ))
            .into());
        }
        let offset = paging::decode(page_token)?;
        let limit = max_results.unwrap_or(i64::MAX - 1);
        match self.store().metric_history(run_id, key, offset, limit) {
            Ok(h) => Ok(paging::page(h.points, offset, h.more)),
            // MLflow answers an unknown run with an empty history.
            Err(almanac_store::StoreError::Domain(e)) if e.code == ErrorCode::ResourceDoesNotExist => {
                Ok(Page { items: vec![], next_page_token: None })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Chart data for up to 100 runs: each series downsampled to at most
    /// `max_results` points, keeping its first and last points and every
    /// bucket's minimum and maximum, so no spike or dip is lost.
    pub fn metric_history_bulk_interval(
        &self,
        run_ids: &[String],
        key: &str,
        steps: Option<(i64, i64)>,
        max_results: Option<i64>,
    ) -> Result<Vec<SeriesPoint>> {
        if run_ids.is_empty() {
            return Err(Error::invalid("GetMetricHistoryBulkInterval request must specify at least one run_id.").into());
        }
        if run_ids.len() > 100 {
            return Err(Error::invalid(format!(
                "GetMetricHistoryBulkInterval request must specify at most 100 run_ids. Received {} run_ids.",
                run_ids.len()
            ))
            .into());
        }
        let max = max_results.unwrap_or(2500);
        if !(1..=2500).contains(&max) {
            return Err(Error::invalid("max_results must be between 1 and 2500.").into());
        }
        let (start, end) = match steps {
            Some((s, e)) if s > e => {
                return Err(Error::invalid(format!(
                    "end_step must be greater than start_step. Found start_step={s} and end_step={e}."
                ))
                .into());
            }
            Some(range) => range,
            None => (i64::MIN, i64::MAX),
        };
        let mut out = Vec::new();
        for run_id in run_ids {
            let points = match self.store().metric_range(run_id, key, start, end) {
                Ok(p) => p,
                Err(almanac_store::StoreError::Domain(e)) if e.code == ErrorCode::ResourceDoesNotExist => continue,
                Err(e) => return Err(e.into()),
            };
            out.extend(min_max_downsample(&points, max as usize).into_iter().map(|point| SeriesPoint {
                run_id: run_id.clone(),
                key: key.to_string(),
                point,
            }));
        }
        Ok(out)
    }
}

impl App {
    /// MLflow's `get-history-bulk`, the route its UI reads charts from: one
    /// metric's whole history on each of `run_ids` (at most 100), each run's
    /// points by (timestamp, step, value), at most `max_results` (25,000 at
    /// most) in all. An unknown run contributes nothing, as in MLflow.
    pub fn metric_history_bulk(
        &self,
        run_ids: &[String],
        key: Option<&str>,
        max_results: Option<i64>,
    ) -> Result<Vec<SeriesPoint>> {
        const MAX_RUNS: usize = 100;
        const MAX_POINTS: i64 = 25_000;
        if run_ids.is_empty() {
            return Err(Error::invalid("GetMetricHistoryBulk request must specify at least one run_id.").into());
        }
        if run_ids.len() > MAX_RUNS {
            return Err(Error::invalid(format!(
                "GetMetricHistoryBulk request cannot specify more than {MAX_RUNS} run_ids. Received {} run_ids.",
                run_ids.len()
            ))
            .into());
        }
        let Some(key) = key else {
            return Err(Error::invalid("GetMetricHistoryBulk request must specify a metric_key.").into());
        };
        let limit = max_results.unwrap_or(MAX_POINTS).clamp(0, MAX_POINTS) as usize;
        let mut out = Vec::new();
        for run_id in run_ids {
            if out.len() >= limit {
                break;
            }
            let points = match self.store().metric_history(run_id, key, 0, (limit - out.len()) as i64) {
                Ok(history) => history.points,
                Err(almanac_store::StoreError::Domain(e)) if e.code == ErrorCode::ResourceDoesNotExist => continue,
                Err(e) => return Err(e.into()),
            };
            out.extend(points.into_iter().map(|point| SeriesPoint {
                run_id: run_id.clone(),
                key: key.to_string(),
                point,
            }));
        }
        Ok(out)
    }
}

fn warn_if_cut(values: usize) {
    if values > 0 {
        tracing::warn!(values, "param or tag values over MLflow's length limits were truncated to them");
    }
}
