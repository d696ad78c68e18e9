//! Importing MLflow's history: experiments, runs, artifacts, logged models
//! and the registry, from any `almanac_mlflow::Source`.
//!
//! Idempotent by construction: every record is compared with what the store
//! already holds, and only the difference is written. Run ids, logged-model
//! ids and version numbers are kept; experiments are matched by name or get
//! a fresh, globally unique id, with the source's id recorded as an alias so
//! old ids and links still resolve. Each run is written in one transaction,
//! artifacts included, so a failure never leaves half a run.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use almanac_core::ids;
use almanac_core::model::{LifecycleStage, Metric, RunStatus, Tag};
use almanac_core::op::Op;
use almanac_mlflow::{Experiment as SourceExperiment, LoggedModel as SourceModel, Run as SourceRun, Source};
use sha2::{Digest, Sha256};

use crate::{App, Result};

/// What to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Only these experiments (by name); all when empty.
    pub experiments: Vec<String>,
    /// Read and compare everything, write nothing.
    pub dry_run: bool,
}

/// Progress, for a progress bar.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportEvent {
    /// The source is open; `source` names it.
    Opened { source: String },
    /// The number of runs the import will look at.
    Counted { runs: u64 },
    /// One run was handled (imported, updated, unchanged or refused).
    RunDone { run_id: String },
    /// The registry is being imported.
    Registry,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// The source, as it names itself ("MLflow database /home/me/mlflow.db").
    pub source: String,
    pub experiments_created: usize,
    pub experiments_matched: usize,
    pub runs_created: usize,
    pub runs_updated: usize,
    pub runs_unchanged: usize,
    pub metric_points: usize,
    pub artifact_files: usize,
    pub artifact_bytes: u64,
    pub logged_models_created: usize,
    pub registered_models_created: usize,
    pub model_versions_created: usize,
    pub traces_created: usize,
    pub traces_unchanged: usize,
    /// One line per record that could not be imported, naming it and where
    /// it came from. The rest was imported.
    pub problems: Vec<String>,
}

/// Three-way decisions for fields both the source and this store may have
/// changed since the last import: a field is written when the source holds
/// a value the last import did not bring, and left alone when only the
/// local side changed it. So a re-import brings the team's MLflow edits and
/// keeps the edits made here.
struct Marks<'a> {
    app: &'a App,
    source: &'a str,
    pending: Vec<(String, String)>,
}

impl<'a> Marks<'a> {
    fn new(app: &'a App, source: &'a str) -> Marks<'a> {
        Marks { app, source, pending: Vec::new() }
    }

    /// Whether to write the source's `value` for `field`, here `local`.
    fn wants(&mut self, field: String, value: &str, local: Option<&str>) -> Result<bool> {
        if local == Some(value) {
            self.pending.push((field, value.to_string()));
            return Ok(false);
        }
        let last = self.app.store().import_mark(self.source, &field)?;
        let changed_at_source = last.as_deref() != Some(value);
        self.pending.push((field, value.to_string()));
        Ok(changed_at_source)
    }

    /// The tags of `source` to write over `local`, for entity `entity`.
    fn tags(&mut self, entity: &str, source: &[Tag], local: &[Tag]) -> Result<Vec<Tag>> {
        let have: HashMap<&str, &str> = local.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect();
        let mut out = Vec::new();
        for tag in source {
            if self.wants(format!("{entity}\ttag\t{}", tag.key), &tag.value, have.get(tag.key.as_str()).copied())? {
                out.push(tag.clone());
            }
        }
        Ok(out)
    }

    /// Records what was brought, once it is written.
    fn commit(self, dry_run: bool) -> Result<()> {
        if !dry_run && !self.pending.is_empty() {
            self.app.store().set_import_marks(self.source, &self.pending)?;
        }
        Ok(())
    }
}

/// The artifact root of a run inside experiment `experiment_id`.
fn run_artifact_root(experiment_id: &str, run_id: &str) -> String {
    format!("{experiment_id}/{run_id}/artifacts")
}

/// Every file below `dir`, as (path relative to it with '/', full path).
fn files_below(dir: &Path) -> std::io::Result<Vec<(String, std::path::PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                out.push((rel.to_string_lossy().replace('\\', "/"), path));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn sha256_of(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn point_key(m: &Metric) -> (String, i64, i64, u64) {
    (m.key.clone(), m.point.step, m.point.timestamp, m.point.value.to_bits())
}

impl App {
    /// Imports MLflow's history from `location`: an `mlruns` folder, a
    /// `sqlite:///` database or an `http(s)://` server (see
    /// [`import_mlflow`](Self::import_mlflow)).
    pub fn import_mlflow_from(
        &self,
        location: &str,
        options: &ImportOptions,
        progress: &mut dyn FnMut(ImportEvent),
    ) -> Result<ImportSummary> {
        let mut source = almanac_mlflow::open(location).map_err(source_error)?;
        progress(ImportEvent::Opened { source: source.describe() });
        self.import_mlflow(source.as_mut(), options, progress)
    }

    /// Imports everything `source` holds (or the chosen experiments) into
    /// this store. Problems with single records are collected in the
    /// summary; only an unreadable source as a whole is an error.
    pub(crate) fn import_mlflow(
        &self,
        source: &mut dyn Source,
        options: &ImportOptions,
        progress: &mut dyn FnMut(ImportEvent),
    ) -> Result<ImportSummary> {
        let origin = source.describe();
        let mut summary = ImportSummary { source: origin.clone(), ..Default::default() };
        let experiments = source.experiments().map_err(source_error)?;
        for wanted in &options.experiments {
            if !experiments.iter().any(|e| &e.name == wanted) {
                summary.problems.push(format!("no experiment named '{wanted}' in {}", source.describe()));
            }
        }
        let chosen: Vec<SourceExperiment> = experiments
            .into_iter()
            .filter(|e| options.experiments.is_empty() || options.experiments.contains(&e.name))
            .collect();

        let mut runs_by_experiment = Vec::new();
        for e in &chosen {
            match source.run_ids(&e.id) {
                Ok(ids) => runs_by_experiment.push(ids),
                Err(err) => {
                    summary.problems.push(err.to_string());
                    runs_by_experiment.push(Vec::new());
                }
            }
        }
        progress(ImportEvent::Counted { runs: runs_by_experiment.iter().map(|r| r.len() as u64).sum() });

        // Logged models' storage, for registry versions that point at them.
        let mut model_locations: HashMap<String, String> = HashMap::new();
        for (experiment, run_ids) in chosen.iter().zip(runs_by_experiment) {
            let placed = match self.import_experiment(experiment, &origin, options.dry_run, &mut summary) {
                Ok(t) => t,
                Err(e) => {
                    summary.problems.push(format!("experiment {} ({}): {}", experiment.id, experiment.name, e.message));
                    continue;
                }
            };
            let target = placed.id.clone();
            // Logged models first: runs name them as outputs.
            let mut model_metrics: HashMap<String, Vec<Metric>> = HashMap::new();
            for model in source.logged_models(&experiment.id).map_err(source_error)? {
                match model {
                    Ok(model) => match self.import_logged_model(&model, &target, options.dry_run, &mut summary) {
                        Ok((location, created)) => {
                            model_locations.insert(model.model_id.clone(), location);
                            if created {
                                for (run_id, metric) in model.metrics {
                                    model_metrics.entry(run_id).or_default().push(metric);
                                }
                            }
                        }
                        Err(e) => summary.problems.push(format!("logged model {}: {}", model.model_id, e.message)),
                    },
                    Err(e) => summary.problems.push(e.to_string()),
                }
            }
            for run_id in run_ids {
                let outcome = source.run(&experiment.id, &run_id).map_err(|e| e.to_string()).and_then(|run| {
                    let linked = model_metrics.remove(&run_id).unwrap_or_default();
                    self.import_run(&run, &placed, linked, &origin, options.dry_run, &mut summary)
                        .map_err(|e| format!("run {run_id}: {}", e.message))
                });
                if let Err(problem) = outcome {
                    summary.problems.push(problem);
                }
                progress(ImportEvent::RunDone { run_id });
            }
            for trace in source.traces(&experiment.id).map_err(source_error)? {
                match trace {
                    Ok(trace) => {
                        if let Err(e) = self.import_trace(&trace, &target, options.dry_run, &mut summary) {
                            summary.problems.push(format!("trace {}: {}", trace.info.trace_id, e.message));
                        }
                    }
                    Err(e) => summary.problems.push(e.to_string()),
                }
            }
        }

        progress(ImportEvent::Registry);
        if options.experiments.is_empty() {
            for model in source.registered_models().map_err(source_error)? {
                match model {
                    Ok(model) => {
                        if let Err(e) = self.import_registered_model(
                            &model,
                            &model_locations,
                            &origin,
                            options.dry_run,
                            &mut summary,
                        ) {
                            summary.problems.push(format!("registered model {}: {}", model.name, e.message));
                        }
                    }
                    Err(e) => summary.problems.push(e.to_string()),
                }
            }
        }
        Ok(summary)
    }

    /// The store's experiment for a source experiment: the default one, one
    /// of the same name, or a new one. Records the source id as an alias.
    /// Gives it the source's lifecycle before its content comes in, so a
    /// deleted experiment's runs, models and traces arrive each in the state
    /// the source holds it (an active run inside a deleted experiment stays
    /// active, as MLflow's file store keeps it).
    fn import_experiment(
        &self,
        e: &SourceExperiment,
        origin: &str,
        dry_run: bool,
        summary: &mut ImportSummary,
    ) -> Result<PlacedExperiment> {
        let mut ops = Vec::new();
        let mut marks = Marks::new(self, origin);
        let lifecycle_field = format!("experiment {}\tlifecycle", e.id);
        let (target, ends) = if e.id == "0" && e.name == "Default" {
            summary.experiments_matched += 1;
            let here = self.store().experiment("0")?.lifecycle_stage;
            ("0".to_string(), self.settled_lifecycle(&mut marks, &lifecycle_field, e.lifecycle, here)?)
        } else if let Some(existing) = self.store().experiment_by_name(&e.name)? {
            summary.experiments_matched += 1;
            for tag in marks.tags(&format!("experiment {}", e.id), &e.tags, &existing.tags)? {
                ops.push(Op::SetExperimentTag { experiment_id: existing.experiment_id.clone(), tag });
            }
            let ends = self.settled_lifecycle(&mut marks, &lifecycle_field, e.lifecycle, existing.lifecycle_stage)?;
            (existing.experiment_id, ends)
        } else {
            summary.experiments_created += 1;
            let id = ids::experiment_id_from_random(self.random());
            ops.push(Op::CreateExperiment {
                experiment_id: id.clone(),
                name: e.name.clone(),
                artifact_location: format!("mlflow-artifacts:/{id}"),
                creation_time: e.creation_time,
                tags: e.tags.clone(),
            });
            marks.tags(&format!("experiment {}", e.id), &e.tags, &[])?;
            marks.wants(lifecycle_field, e.lifecycle.as_str(), Some(e.lifecycle.as_str()))?;
            (id, e.lifecycle)
        };
        let here = match self.store().experiment(&target) {
            Ok(here) => here.lifecycle_stage,
            Err(_) => LifecycleStage::Active,
        };
        let lifecycle_changed = here != ends;
        if lifecycle_changed {
            ops.push(Op::SetExperimentLifecycle { experiment_id: target.clone(), stage: ends });
        }
        // The old id becomes an alias unless it already names an experiment
        // here (this one, through an earlier import, or another of its own).
        if e.id != target && self.store().experiment(&e.id).is_err() {
            ops.push(Op::AliasExperiment { alias: e.id.clone(), experiment_id: target.clone() });
        }
        if !dry_run && !ops.is_empty() {
            self.store().write_imported(&self.ctx(), ops)?;
        }
        marks.commit(dry_run)?;
        Ok(PlacedExperiment { id: target, lifecycle_changed })
    }

    /// The lifecycle an experiment already here ends the import in: the
    /// source's, if the source changed it since the last import; otherwise
    /// the one here. The first import that meets an experiment already here
    /// (matched by name) leaves its state alone.
    fn settled_lifecycle(
        &self,
        marks: &mut Marks,
        field: &str,
        source: LifecycleStage,
        here: LifecycleStage,
    ) -> Result<LifecycleStage> {
        let first_meeting = self.store().import_mark(marks.source, field)?.is_none();
        if first_meeting {
            marks.wants(field.to_string(), source.as_str(), Some(source.as_str()))?;
            return Ok(here);
        }
        Ok(if marks.wants(field.to_string(), source.as_str(), Some(here.as_str()))? { source } else { here })
    }

    /// Imports a logged model if the store lacks it. Returns its artifact
    /// location here and whether it was new.
    fn import_logged_model(
        &self,
        m: &SourceModel,
        experiment_id: &str,
        dry_run: bool,
        summary: &mut ImportSummary,
    ) -> Result<(String, bool)> {
        if let Ok(existing) = self.store().logged_model(&m.model_id, true) {
            return Ok((existing.artifact_location, false));
        }
        let root = format!("{experiment_id}/models/{}/artifacts", m.model_id);
        let location = format!("mlflow-artifacts:/{root}");
        let mut ops = vec![Op::CreateLoggedModel {
            model_id: m.model_id.clone(),
            experiment_id: experiment_id.to_string(),
            name: m.name.clone(),
            artifact_location: location.clone(),
            creation_time: m.creation_time,
            model_type: m.model_type.clone(),
            source_run_id: m.source_run_id.clone(),
            tags: m.tags.clone(),
            params: m.params.clone(),
        }];
        // A model that never logged a file has no folder at all.
        if let Some(dir) = &m.artifacts
            && dir.exists()
        {
            ops.extend(self.stage_artifacts(dir, &root, dry_run, summary)?);
        }
        ops.push(Op::FinalizeLoggedModel { model_id: m.model_id.clone(), status: m.status });
        if m.lifecycle == LifecycleStage::Deleted {
            ops.push(Op::DeleteLoggedModel { model_id: m.model_id.clone() });
        }
        summary.logged_models_created += 1;
        if !dry_run {
            self.store().write_imported(&self.ctx(), ops)?;
        }
        Ok((location, true))
    }

    /// Imports a trace the store has never held (a trace deleted here stays
    /// deleted), with its spans, in one transaction.
    fn import_trace(
        &self,
        t: &almanac_mlflow::Trace,
        experiment_id: &str,
        dry_run: bool,
        summary: &mut ImportSummary,
    ) -> Result<()> {
        use almanac_core::trace;
        if self.store().trace_ever_held(&t.info.trace_id)? {
            summary.traces_unchanged += 1;
            return Ok(());
        }
        let folder = trace::artifact_folder(experiment_id, &t.info.trace_id);
        let mut info = t.info.clone();
        info.experiment_id = experiment_id.to_string();
        info.tags.push(Tag { key: trace::ARTIFACT_LOCATION_TAG.into(), value: format!("mlflow-artifacts:/{folder}") });
        trace::validate_trace(&info)?;
        summary.traces_created += 1;
        if dry_run {
            return Ok(());
        }
        let mut ops = vec![Op::PutTrace { info }];
        if let Some(spans) = &t.spans_json {
            let temp_name = format!("{:016x}{:016x}", self.random(), self.random());
            let blob = self.inner.blobs.put(&spans[..], Some(spans.len() as u64), &temp_name)?;
            summary.artifact_files += 1;
            summary.artifact_bytes += blob.size;
            ops.push(Op::PutArtifact {
                path: format!("{folder}/{}", trace::SPANS_FILE),
                sha256: blob.sha256,
                size: blob.size,
            });
        }
        self.store().write_imported(&self.ctx(), ops)?;
        Ok(())
    }

    /// Stores the bytes of every file below `dir` and returns the manifest
    /// ops that put them under `root`, skipping files already there.
    fn stage_artifacts(&self, dir: &Path, root: &str, dry_run: bool, summary: &mut ImportSummary) -> Result<Vec<Op>> {
        let unreadable = |e: std::io::Error| {
            crate::ApiError::from(almanac_core::Error::invalid(format!(
                "artifacts in {} cannot be read: {e}",
                dir.display()
            )))
        };
        let mut ops = Vec::new();
        for (rel, file) in files_below(dir).map_err(unreadable)? {
            let path = format!("{root}/{rel}");
            let size = std::fs::metadata(&file).map_err(unreadable)?.len();
            if let Some(existing) = self.store().artifact(&path)?
                && existing.size == size
                && existing.sha256 == sha256_of(&file).map_err(unreadable)?
            {
                continue;
            }
            summary.artifact_files += 1;
            summary.artifact_bytes += size;
            if dry_run {
                continue;
            }
            let reader = std::fs::File::open(&file).map_err(unreadable)?;
            let temp_name = format!("{:016x}{:016x}", self.random(), self.random());
            let blob = self.inner.blobs.put(reader, Some(size), &temp_name)?;
            ops.push(Op::PutArtifact { path, sha256: blob.sha256, size: blob.size });
        }
        Ok(ops)
    }

    fn import_run(
        &self,
        run: &SourceRun,
        placed: &PlacedExperiment,
        model_metrics: Vec<Metric>,
        origin: &str,
        dry_run: bool,
        summary: &mut ImportSummary,
    ) -> Result<()> {
        let experiment_id = placed.id.as_str();
        let mut marks = Marks::new(self, origin);
        let entity = format!("run {}", run.run_id);
        // Older stores keep the name only in the `mlflow.runName` tag.
        let run_name = match run.tags.iter().find(|t| t.key == almanac_core::model::tags::RUN_NAME) {
            Some(tag) if run.run_name.is_empty() => tag.value.as_str(),
            _ => run.run_name.as_str(),
        };
        if !ids::is_valid_run_id(&run.run_id) {
            return Err(almanac_core::Error::invalid(format!("'{}' is not a run id", run.run_id)).into());
        }
        let existing = self.store().run(&run.run_id).ok();
        let root = match &existing {
            Some(e) => crate::artifacts::proxied_path(&e.info.artifact_uri)
                .unwrap_or_else(|| run_artifact_root(experiment_id, &run.run_id)),
            None => run_artifact_root(experiment_id, &run.run_id),
        };
        let mut ops = Vec::new();
        let new_points = match &existing {
            None => {
                ops.push(Op::CreateRun {
                    run_id: run.run_id.clone(),
                    experiment_id: experiment_id.to_string(),
                    run_name: run_name.to_string(),
                    user_id: run.user_id.clone(),
                    start_time: run.start_time,
                    status: RunStatus::Running,
                    artifact_uri: format!("mlflow-artifacts:/{root}"),
                    tags: run.tags.clone(),
                });
                marks.tags(&entity, &run.tags, &[])?;
                ops.push(Op::LogBatch {
                    run_id: run.run_id.clone(),
                    metrics: vec![],
                    params: run.params.clone(),
                    tags: vec![],
                });
                run.metrics.clone()
            }
            Some(have) => {
                let params: HashSet<&str> = have.params.iter().map(|p| p.key.as_str()).collect();
                let missing_params: Vec<_> =
                    run.params.iter().filter(|p| !params.contains(p.key.as_str())).cloned().collect();
                let changed_tags = marks.tags(&entity, &run.tags, &have.tags)?;
                if !missing_params.is_empty() || !changed_tags.is_empty() {
                    ops.push(Op::LogBatch {
                        run_id: run.run_id.clone(),
                        metrics: vec![],
                        params: missing_params,
                        tags: changed_tags,
                    });
                }
                let keys: HashSet<&str> = run.metrics.iter().map(|m| m.key.as_str()).collect();
                let mut held = HashSet::new();
                for key in keys {
                    for p in self.store().metric_history(&run.run_id, key, 0, i64::MAX)?.points {
                        held.insert((key.to_string(), p.step, p.timestamp, p.value.to_bits()));
                    }
                }
                run.metrics.iter().filter(|m| !held.contains(&point_key(m))).cloned().collect()
            }
        };
        summary.metric_points += new_points.len();
        // One op per series keeps ops small and their columns compact.
        let mut series: Vec<Metric> = new_points;
        series.extend(model_metrics);
        series.sort_by(|a, b| a.key.cmp(&b.key));
        for chunk in series.chunk_by(|a, b| a.key == b.key) {
            for part in chunk.chunks(10_000) {
                ops.push(Op::LogBatch {
                    run_id: run.run_id.clone(),
                    metrics: part.to_vec(),
                    params: vec![],
                    tags: vec![],
                });
            }
        }
        let have_inputs: HashSet<(&str, &str)> = existing
            .as_ref()
            .map(|e| e.inputs.iter().map(|i| (i.dataset.name.as_str(), i.dataset.digest.as_str())).collect())
            .unwrap_or_default();
        let inputs: Vec<_> = run
            .inputs
            .iter()
            .filter(|i| !have_inputs.contains(&(i.dataset.name.as_str(), i.dataset.digest.as_str())))
            .cloned()
            .collect();
        if !inputs.is_empty() {
            ops.push(Op::LogInputs { run_id: run.run_id.clone(), datasets: inputs, models: Vec::new() });
        }
        let have_outputs: HashSet<&str> =
            existing.as_ref().map(|e| e.outputs.iter().map(|(m, _)| m.as_str()).collect()).unwrap_or_default();
        let outputs: Vec<_> = run.outputs.iter().filter(|(m, _)| !have_outputs.contains(m.as_str())).cloned().collect();
        if !outputs.is_empty() && outputs.iter().all(|(m, _)| self.store().logged_model(m, true).is_ok() || dry_run) {
            ops.push(Op::LogRunOutputs { run_id: run.run_id.clone(), models: outputs });
        }
        let (status, end_time, name) = match &existing {
            Some(e) => (e.info.status, e.info.end_time, e.info.run_name.as_str()),
            None => (RunStatus::Running, None, run_name),
        };
        let end_text = |t: Option<i64>| t.map(|t| t.to_string()).unwrap_or_default();
        let new_status = marks.wants(format!("{entity}\tstatus"), run.status.as_str(), Some(status.as_str()))?;
        let new_end = marks.wants(format!("{entity}\tend"), &end_text(run.end_time), Some(&end_text(end_time)))?;
        let new_name = existing.is_some() && marks.wants(format!("{entity}\tname"), run_name, Some(name))?;
        if new_status || new_end || new_name {
            ops.push(Op::UpdateRun {
                run_id: run.run_id.clone(),
                status: new_status.then_some(run.status),
                end_time: if new_end { run.end_time } else { None },
                run_name: new_name.then(|| run_name.to_string()),
            });
        }
        if let Some(dir) = &run.artifacts
            && dir.exists()
        {
            ops.extend(self.stage_artifacts(dir, &root, dry_run, summary)?);
        }
        let stage = existing.as_ref().map_or(LifecycleStage::Active, |e| e.info.lifecycle_stage);
        // Changing the experiment's lifecycle just now took all its runs
        // along; each run is put back in the state the source holds it.
        let moved_by_experiment = placed.lifecycle_changed && existing.is_some() && run.lifecycle != stage;
        if marks.wants(format!("{entity}\tlifecycle"), run.lifecycle.as_str(), Some(stage.as_str()))?
            || moved_by_experiment
        {
            ops.push(Op::SetRunLifecycle { run_id: run.run_id.clone(), stage: run.lifecycle });
        }
        match (&existing, ops.is_empty()) {
            (None, _) => summary.runs_created += 1,
            (Some(_), true) => summary.runs_unchanged += 1,
            (Some(_), false) => summary.runs_updated += 1,
        }
        if !dry_run && !ops.is_empty() {
            self.store().write_imported(&self.ctx(), ops)?;
        }
        marks.commit(dry_run)
    }

    fn import_registered_model(
        &self,
        m: &almanac_mlflow::RegisteredModel,
        model_locations: &HashMap<String, String>,
        origin: &str,
        dry_run: bool,
        summary: &mut ImportSummary,
    ) -> Result<()> {
        almanac_core::registry::validate_model_name(&m.name)?;
        let mut ops = Vec::new();
        let mut marks = Marks::new(self, origin);
        let entity = format!("registered model {}", m.name);
        let existing = self.store().registered_model(&m.name).ok();
        match &existing {
            None => {
                summary.registered_models_created += 1;
                ops.push(Op::CreateRegisteredModel {
                    name: m.name.clone(),
                    creation_time: m.creation_time,
                    description: m.description.clone().filter(|d| !d.is_empty()),
                    tags: m.tags.clone(),
                });
                marks.tags(&entity, &m.tags, &[])?;
            }
            Some(have) => {
                for tag in marks.tags(&entity, &m.tags, &have.tags)? {
                    ops.push(Op::SetRegisteredModelTag { name: m.name.clone(), tag });
                }
            }
        }
        for v in &m.versions {
            let have = existing.as_ref().and_then(|_| self.store().model_version(&m.name, v.version).ok());
            match have {
                None => {
                    summary.model_versions_created += 1;
                    let storage = v
                        .model_id
                        .as_ref()
                        .and_then(|id| model_locations.get(id).cloned())
                        .or_else(|| v.storage_location.clone())
                        .unwrap_or_else(|| v.source.clone());
                    ops.push(Op::CreateModelVersion {
                        name: m.name.clone(),
                        version: v.version,
                        creation_time: v.creation_time,
                        source: v.source.clone(),
                        storage_location: storage,
                        run_id: v.run_id.clone(),
                        run_link: v.run_link.clone(),
                        description: v.description.clone(),
                        model_id: v.model_id.clone(),
                        tags: v.tags.clone(),
                    });
                    marks.tags(&format!("{entity} version {}", v.version), &v.tags, &[])?;
                    if v.current_stage != "None" {
                        ops.push(Op::TransitionModelVersionStage {
                            name: m.name.clone(),
                            version: v.version,
                            stage: v.current_stage.clone(),
                            archive_existing_versions: false,
                            version_op: None,
                        });
                    }
                }
                Some(have) => {
                    for tag in marks.tags(&format!("{entity} version {}", v.version), &v.tags, &have.tags)? {
                        ops.push(Op::SetModelVersionTag {
                            name: m.name.clone(),
                            version: v.version,
                            tag,
                            version_op: None,
                        });
                    }
                }
            }
        }
        for (alias, version) in &m.aliases {
            let here = self.store().alias_version(&m.name, alias).ok().flatten().map(|v| v.to_string());
            if marks.wants(format!("{entity}\talias\t{alias}"), &version.to_string(), here.as_deref())? {
                ops.push(Op::SetRegisteredModelAlias {
                    name: m.name.clone(),
                    alias: alias.clone(),
                    version: *version,
                    version_op: None,
                });
            }
        }
        if !dry_run && !ops.is_empty() {
            self.store().write_all(&self.ctx(), ops)?;
        }
        marks.commit(dry_run)
    }
}

/// Where a source experiment landed.
struct PlacedExperiment {
    /// The experiment's id in this store.
    id: String,
    /// The import deleted or restored it (the source had), which took its
    /// runs along.
    lifecycle_changed: bool,
}

fn source_error(e: almanac_mlflow::SourceError) -> crate::ApiError {
    crate::ApiError { code: crate::ErrorCode::InvalidParameterValue, message: e.to_string() }
}
