//! Exporting to a running MLflow server: experiments, runs with full metric
//! histories, datasets, artifacts, logged models and the registry, through
//! the REST calls the mlflow client makes.
//!
//! MLflow assigns its own ids, so every record written carries its Almanac
//! id in a tag, and a second export compares against those and writes only
//! what is new or changed.

use std::collections::{HashMap, HashSet};

use almanac_core::model::{LifecycleStage, Metric, Run, RunStatus, Tag, ViewType, tags};
use almanac_mlflow::{MlflowServer, RUN_ORIGIN_TAG};
use almanac_store::{ExperimentQuery, ModelQuery, RegistryQuery, RunQuery};

use crate::{ApiError, App, ErrorCode, Result};

/// Progress, for a progress bar.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportEvent {
    /// The server answered; `target` names it.
    Connected {
        target: String,
    },
    Counted {
        runs: u64,
    },
    RunDone,
    Registry,
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// The server, as it names itself.
    pub target: String,
    pub experiments_created: usize,
    pub runs_created: usize,
    pub runs_updated: usize,
    pub runs_unchanged: usize,
    pub metric_points: usize,
    pub artifact_files: usize,
    pub logged_models_created: usize,
    pub registered_models_created: usize,
    pub model_versions_created: usize,
    pub traces_created: usize,
    /// Traces already on the server whose spans an earlier export failed to send.
    pub trace_spans_resent: usize,
    /// One line per record that could not be exported; the rest was.
    pub problems: Vec<String>,
}

fn remote_error(e: almanac_mlflow::SourceError) -> ApiError {
    ApiError { code: ErrorCode::TemporarilyUnavailable, message: e.to_string() }
}

fn point_key(key: &str, p: &almanac_core::model::MetricPoint) -> (String, i64, i64, u64) {
    let value = if p.value.is_nan() { f64::NAN.to_bits() } else { p.value.to_bits() };
    (key.to_string(), p.step, p.timestamp, value)
}

impl App {
    /// Pushes this store (or the named experiments) to the MLflow server at
    /// `url`.
    pub fn export_mlflow_to(
        &self,
        url: &str,
        experiments: &[String],
        progress: &mut dyn FnMut(ExportEvent),
    ) -> Result<ExportSummary> {
        let target = MlflowServer::connect(url).map_err(remote_error)?;
        progress(ExportEvent::Connected { target: target.describe() });
        self.export_mlflow(&target, experiments, progress)
    }

    /// Pushes this store (or the named experiments) to `target`.
    pub(crate) fn export_mlflow(
        &self,
        target: &MlflowServer,
        experiments: &[String],
        progress: &mut dyn FnMut(ExportEvent),
    ) -> Result<ExportSummary> {
        let mut summary = ExportSummary { target: target.describe(), ..Default::default() };
        let q = ExperimentQuery { view: ViewType::All, limit: i64::MAX / 2, ..Default::default() };
        let mut chosen = self.store().search_experiments(&q)?.0;
        for name in experiments {
            if !chosen.iter().any(|e| &e.name == name) {
                return Err(
                    almanac_core::Error::not_found(format!("No experiment named '{name}' in this store")).into()
                );
            }
        }
        if !experiments.is_empty() {
            chosen.retain(|e| experiments.contains(&e.name));
        }
        let mut runs_by_experiment = Vec::new();
        for e in &chosen {
            let q = RunQuery {
                experiment_ids: vec![e.experiment_id.clone()],
                view: ViewType::All,
                limit: i64::MAX / 2,
                ..Default::default()
            };
            runs_by_experiment.push(self.store().search_runs(&q)?.0);
        }
        progress(ExportEvent::Counted { runs: runs_by_experiment.iter().map(|r| r.len() as u64).sum() });

        let mut run_ids: HashMap<String, String> = HashMap::new();
        let mut model_ids: HashMap<String, String> = HashMap::new();
        for (e, mut runs) in chosen.iter().zip(runs_by_experiment) {
            let deleted_here = e.lifecycle_stage == LifecycleStage::Deleted;
            let (dest, deleted_there, have) = match target.experiment_by_name(&e.name).map_err(remote_error)? {
                Some(remote) => (remote.id, remote.deleted, remote.tags),
                None => {
                    summary.experiments_created += 1;
                    let id = target.create_experiment(&e.name, &e.tags).map_err(remote_error)?;
                    (id, false, e.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect())
                }
            };
            let mut exported = target.exported_runs(&dest).map_err(remote_error)?;
            // Deleted on both sides, with every run already there: nothing
            // can have changed, since a deleted experiment's runs take no
            // edits here.
            if deleted_here && deleted_there && runs.iter().all(|r| exported.contains_key(&r.info.run_id)) {
                summary.runs_unchanged += runs.len();
                runs.iter().for_each(|_| progress(ExportEvent::RunDone));
                continue;
            }
            // MLflow takes nothing into a deleted experiment: restore it
            // (which restores its runs), send, and delete it again below.
            if deleted_there {
                target.set_experiment_deleted(&dest, false).map_err(remote_error)?;
                exported = target.exported_runs(&dest).map_err(remote_error)?;
            }
            for tag in &e.tags {
                if have.get(&tag.key) != Some(&tag.value) {
                    target.set_experiment_tag(&dest, tag).map_err(remote_error)?;
                }
            }
            // Parents first, so a child's parent tag can name the parent's new id.
            runs.sort_by_key(|r| r.tags.iter().any(|t| t.key == tags::PARENT_RUN_ID));
            for run in &runs {
                let remote = exported.remove(&run.info.run_id);
                let outcome = self.export_run(target, &dest, run, remote, &mut run_ids, &mut summary);
                match outcome {
                    Ok(Some(created)) => {
                        if created {
                            summary.runs_created += 1;
                        } else {
                            summary.runs_updated += 1;
                        }
                    }
                    Ok(None) => summary.runs_unchanged += 1,
                    Err(e) => summary.problems.push(format!("run {}: {}", run.info.run_id, e.message)),
                }
                progress(ExportEvent::RunDone);
            }
            self.export_logged_models(target, &e.experiment_id, &dest, &run_ids, &mut model_ids, &mut summary)?;
            self.export_traces(target, &e.experiment_id, &dest, &mut summary)?;
            if deleted_here {
                target.set_experiment_deleted(&dest, true).map_err(remote_error)?;
            }
        }

        progress(ExportEvent::Registry);
        if experiments.is_empty() {
            self.export_registry(target, &run_ids, &model_ids, &mut summary)?;
        }
        Ok(summary)
    }

    /// Exports one run. `Ok(Some(true))` created it, `Ok(Some(false))`
    /// updated it, `Ok(None)` found nothing to do.
    fn export_run(
        &self,
        target: &MlflowServer,
        experiment_id: &str,
        run: &Run,
        remote: Option<almanac_mlflow::RemoteRun>,
        run_ids: &mut HashMap<String, String>,
        summary: &mut ExportSummary,
    ) -> Result<Option<bool>> {
        let our_id = &run.info.run_id;
        let mut wanted_tags: Vec<Tag> = run
            .tags
            .iter()
            .map(|t| match (t.key.as_str(), run_ids.get(&t.value)) {
                (tags::PARENT_RUN_ID, Some(parent)) => Tag { key: t.key.clone(), value: parent.clone() },
                _ => t.clone(),
            })
            .collect();
        wanted_tags.push(Tag { key: RUN_ORIGIN_TAG.into(), value: our_id.clone() });
        let created = remote.is_none();
        let remote = match remote {
            Some(r) => r,
            None => {
                let (run_id, artifact_uri) = target
                    .create_run(experiment_id, &run.info.run_name, run.info.start_time, &wanted_tags)
                    .map_err(remote_error)?;
                almanac_mlflow::RemoteRun { run_id, artifact_uri, status: "RUNNING".into(), ..Default::default() }
            }
        };
        run_ids.insert(our_id.clone(), remote.run_id.clone());
        let mut changed = created;

        let params: Vec<_> = run.params.iter().filter(|p| !remote.params.contains_key(&p.key)).cloned().collect();
        let new_tags: Vec<_> = if created {
            vec![]
        } else {
            wanted_tags.into_iter().filter(|t| remote.tags.get(&t.key) != Some(&t.value)).collect()
        };
        let mut metrics = Vec::new();
        for latest in &run.metrics {
            let have: HashSet<_> = if created {
                HashSet::new()
            } else {
                target
                    .metric_history(&remote.run_id, &latest.key)
                    .map_err(remote_error)?
                    .iter()
                    .map(|p| point_key(&latest.key, p))
                    .collect()
            };
            for point in self.store().metric_history(our_id, &latest.key, 0, i64::MAX)?.points {
                if !have.contains(&point_key(&latest.key, &point)) {
                    metrics.push(Metric {
                        key: latest.key.clone(),
                        point,
                        model_id: None,
                        dataset_name: None,
                        dataset_digest: None,
                    });
                }
            }
        }
        if !params.is_empty() || !new_tags.is_empty() || !metrics.is_empty() {
            changed = true;
            summary.metric_points += metrics.len();
            target.log_batch(&remote.run_id, &metrics, &params, &new_tags).map_err(remote_error)?;
        }
        let have_inputs: HashSet<_> = remote.datasets.iter().cloned().collect();
        let inputs: Vec<_> = run
            .inputs
            .iter()
            .filter(|i| !have_inputs.contains(&(i.dataset.name.clone(), i.dataset.digest.clone())))
            .cloned()
            .collect();
        if !inputs.is_empty() {
            changed = true;
            target.log_inputs(&remote.run_id, &inputs).map_err(remote_error)?;
        }
        if let Some(root) = crate::artifacts::proxied_path(&run.info.artifact_uri) {
            let files = self.store().artifacts_under(&root)?;
            if !files.is_empty() {
                let have = target.artifact_sizes(&remote.artifact_uri).map_err(remote_error)?;
                for (path, file) in files {
                    let rel = path.strip_prefix(&format!("{root}/")).unwrap_or(&path).to_string();
                    if have.get(&rel) == Some(&file.size) {
                        continue;
                    }
                    let (handle, _) = self.open_artifact(&path)?;
                    target.upload(&remote.artifact_uri, &rel, handle).map_err(remote_error)?;
                    summary.artifact_files += 1;
                    changed = true;
                }
            }
        }
        let status_differs = run.info.status != RunStatus::Running && remote.status != run.info.status.as_str();
        if status_differs || (run.info.end_time.is_some() && remote.end_time != run.info.end_time) {
            changed = true;
            target.update_run(&remote.run_id, run.info.status, run.info.end_time).map_err(remote_error)?;
        }
        let deleted = run.info.lifecycle_stage == LifecycleStage::Deleted;
        if deleted != (remote.lifecycle == "deleted") && (deleted || !created) {
            changed = true;
            target.set_deleted(&remote.run_id, deleted).map_err(remote_error)?;
        }
        Ok(changed.then_some(created))
    }

    /// Sends the experiment's traces the server lacks (trace ids are kept,
    /// so a trace already there is skipped), with their spans. A trace whose
    /// record went out but whose spans did not (an upload cut off last time)
    /// gets its spans now.
    fn export_traces(
        &self,
        target: &MlflowServer,
        experiment_id: &str,
        dest_experiment: &str,
        summary: &mut ExportSummary,
    ) -> Result<()> {
        use almanac_core::trace;
        let traces = self.store().traces(&[experiment_id.to_string()])?;
        if traces.is_empty() {
            return Ok(());
        }
        let on_server = target.trace_locations(dest_experiment).map_err(remote_error)?;
        for mut t in traces {
            let spans = t
                .tag(trace::ARTIFACT_LOCATION_TAG)
                .and_then(crate::artifacts::proxied_path)
                .and_then(|root| self.open_artifact(&format!("{root}/{}", trace::SPANS_FILE)).ok());
            t.tags.retain(|tag| tag.key != trace::ARTIFACT_LOCATION_TAG);
            let sent = match on_server.get(&t.trace_id) {
                Some(location) => {
                    let (Some(location), Some((file, _))) = (location, spans) else { continue };
                    match target.has_artifact(location, trace::SPANS_FILE) {
                        Ok(true) => continue,
                        Ok(false) => {
                            target.upload(location, trace::SPANS_FILE, file).map(|()| &mut summary.trace_spans_resent)
                        }
                        Err(e) => Err(e),
                    }
                }
                None => target
                    .start_trace(&t, dest_experiment)
                    .and_then(|location| match (location, spans) {
                        (Some(location), Some((file, _))) => target.upload(&location, trace::SPANS_FILE, file),
                        _ => Ok(()),
                    })
                    .map(|()| &mut summary.traces_created),
            };
            match sent {
                Ok(count) => *count += 1,
                Err(e) => summary.problems.push(format!("trace {}: {e}", t.trace_id)),
            }
        }
        Ok(())
    }

    fn export_logged_models(
        &self,
        target: &MlflowServer,
        experiment_id: &str,
        dest_experiment: &str,
        run_ids: &HashMap<String, String>,
        model_ids: &mut HashMap<String, String>,
        summary: &mut ExportSummary,
    ) -> Result<()> {
        let q =
            ModelQuery { experiment_ids: vec![experiment_id.to_string()], limit: i64::MAX / 2, ..Default::default() };
        let models = self.store().search_logged_models(&q)?.0;
        if models.is_empty() {
            return Ok(());
        }
        let exported = target.exported_models(dest_experiment).map_err(remote_error)?;
        for m in models {
            if let Some((id, _)) = exported.get(&m.model_id) {
                model_ids.insert(m.model_id.clone(), id.clone());
                continue;
            }
            let mut model_tags = m.tags.clone();
            model_tags.push(Tag { key: almanac_mlflow::MODEL_ORIGIN_TAG.into(), value: m.model_id.clone() });
            let source_run = m.source_run_id.as_ref().and_then(|r| run_ids.get(r)).map(String::as_str);
            let created = target.create_logged_model(
                dest_experiment,
                &m.name,
                source_run,
                m.model_type.as_deref(),
                &m.params,
                &model_tags,
            );
            let (id, location) = match created {
                Ok(c) => c,
                Err(e) => {
                    summary.problems.push(format!("logged model {}: {e}", m.model_id));
                    continue;
                }
            };
            if let Some(root) = crate::artifacts::proxied_path(&m.artifact_location) {
                for (path, _) in self.store().artifacts_under(&root)? {
                    let rel = path.strip_prefix(&format!("{root}/")).unwrap_or(&path).to_string();
                    let (handle, _) = self.open_artifact(&path)?;
                    target.upload(&location, &rel, handle).map_err(remote_error)?;
                }
            }
            target
                .finalize_logged_model(&id, m.status == almanac_core::model::LoggedModelStatus::Ready)
                .map_err(remote_error)?;
            summary.logged_models_created += 1;
            model_ids.insert(m.model_id.clone(), id);
        }
        Ok(())
    }

    fn export_registry(
        &self,
        target: &MlflowServer,
        run_ids: &HashMap<String, String>,
        model_ids: &HashMap<String, String>,
        summary: &mut ExportSummary,
    ) -> Result<()> {
        let q = RegistryQuery { include_prompts: true, limit: i64::MAX / 2, ..Default::default() };
        for model in self.store().search_registered_models(&q)?.0 {
            let existing = target.registered_model(&model.name).map_err(remote_error)?;
            let (have_tags, have_aliases, mut versions) = match existing {
                Some(found) => found,
                None => {
                    target
                        .create_registered_model(&model.name, model.description.as_deref(), &model.tags)
                        .map_err(remote_error)?;
                    summary.registered_models_created += 1;
                    (
                        model.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect(),
                        HashMap::new(),
                        HashMap::new(),
                    )
                }
            };
            for tag in &model.tags {
                if have_tags.get(&tag.key) != Some(&tag.value) {
                    target.set_registered_model_tag(&model.name, tag).map_err(remote_error)?;
                }
            }
            let vq = RegistryQuery {
                filter: almanac_core::search::parse_filter(
                    &format!("name = '{}'", model.name.replace('\'', "\\'")),
                    almanac_core::search::Target::ModelVersions,
                )
                .ok()
                .flatten(),
                include_prompts: true,
                limit: i64::MAX / 2,
                ..Default::default()
            };
            let mut ours = self.store().search_model_versions(&vq)?.0;
            ours.sort_by_key(|v| v.version);
            for v in ours {
                if versions.contains_key(&v.version) {
                    continue;
                }
                // Point the source at the server's copies of our runs and models.
                let (source, model_id) = match almanac_core::validation::runs_uri(&v.source) {
                    Some((run, path)) if run_ids.contains_key(run) => (format!("runs:/{}/{path}", run_ids[run]), None),
                    _ => match v.model_id.as_ref().and_then(|m| model_ids.get(m)) {
                        Some(id) => (format!("models:/{id}"), Some(id.as_str())),
                        None => (v.source.clone(), None),
                    },
                };
                let run = v.run_id.as_ref().and_then(|r| run_ids.get(r)).map(String::as_str);
                let mut version_tags = v.tags.clone();
                version_tags.push(Tag { key: almanac_mlflow::VERSION_ORIGIN_TAG.into(), value: v.version.to_string() });
                match target.create_model_version(
                    &model.name,
                    &source,
                    run,
                    model_id,
                    v.description.as_deref(),
                    &version_tags,
                ) {
                    Ok(number) => {
                        summary.model_versions_created += 1;
                        if v.current_stage != "None" {
                            target.transition_stage(&model.name, number, &v.current_stage).map_err(remote_error)?;
                        }
                        versions.insert(v.version, number);
                    }
                    Err(e) => summary.problems.push(format!("model version {} {}: {e}", model.name, v.version)),
                }
            }
            for (alias, version) in &model.aliases {
                if let Some(number) = versions.get(version)
                    && have_aliases.get(alias) != Some(number)
                {
                    target.set_alias(&model.name, alias, *number).map_err(remote_error)?;
                }
            }
        }
        Ok(())
    }
}
