//! MLflow's file store: the `mlruns` folder of YAML files and plain-text
//! metric histories.
//!
//! ```text
//! mlruns/<exp>/meta.yaml                      experiment (deleted ones under .trash/<exp>)
//! mlruns/<exp>/tags/<key>                     experiment tag value
//! mlruns/<exp>/<run>/meta.yaml                run
//! mlruns/<exp>/<run>/{params,tags}/<key>      value (keys with '/' nest folders)
//! mlruns/<exp>/<run>/metrics/<key>            lines "timestamp value step"
//! mlruns/<exp>/<run>/inputs/<id>/meta.yaml    -> mlruns/<exp>/datasets/<id>/meta.yaml
//! mlruns/<exp>/<run>/outputs/<model>/meta.yaml
//! mlruns/<exp>/models/<model>/...             logged models, same shape as runs
//! mlruns/models/<name>/meta.yaml              registered model; version-<n>/ below
//! ```

use std::path::{Path, PathBuf};

use almanac_core::model::{Dataset, DatasetInput, Metric, MetricPoint, Param, Tag};
use serde_yaml::{Mapping, Value};

use crate::records::{self, Experiment, LoggedModel, ModelVersion, RegisteredModel, Run, Trace};
use crate::{Result, Source, SourceError};

pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    pub fn open(root: &Path) -> Result<FileStore> {
        let looks_like_mlruns = root.join("0").join("meta.yaml").is_file()
            || std::fs::read_dir(root)
                .map_err(|e| SourceError::new("source", root.display().to_string(), e))?
                .flatten()
                .any(|e| e.path().join("meta.yaml").is_file());
        if !looks_like_mlruns {
            return Err(SourceError::new(
                "source",
                root.display().to_string(),
                "not an MLflow file store: no experiment folders with a meta.yaml",
            ));
        }
        // The canonical path names the source the same way every time, so
        // a re-import recognizes what it brought before.
        Ok(FileStore { root: root.canonicalize().unwrap_or_else(|_| root.to_path_buf()) })
    }

    fn experiment_dir(&self, id: &str) -> PathBuf {
        let live = self.root.join(id);
        let trash = self.root.join(".trash").join(id);
        // A live folder without its meta.yaml still holds runs (see
        // `orphaned_experiment`), unless the experiment sits in the trash.
        if live.join("meta.yaml").is_file() || (live.is_dir() && !trash.join("meta.yaml").is_file()) {
            live
        } else {
            trash
        }
    }
}

/// A folder of runs whose experiment's meta.yaml is gone (deleted by hand,
/// or a half-copied store): its runs are still the user's, so they come in
/// under an experiment named for the missing one.
fn orphaned_experiment(dir: &Path) -> Option<Experiment> {
    let id = folder_name(dir);
    let numeric = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
    let holds_runs = subdirs(dir).iter().any(|run| is_run_id(&folder_name(run)) && run.join("meta.yaml").is_file());
    (numeric && holds_runs && !dir.join("meta.yaml").exists()).then(|| records::orphaned_experiment(&id))
}

fn is_run_id(name: &str) -> bool {
    name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

impl FileStore {}

fn read_yaml(path: &Path, entity: &str) -> Result<Mapping> {
    let text = std::fs::read_to_string(path).map_err(|e| SourceError::new(entity, path.display().to_string(), e))?;
    match serde_yaml::from_str::<Value>(&text) {
        Ok(Value::Mapping(m)) => Ok(m),
        Ok(_) => Err(SourceError::new(entity, path.display().to_string(), "meta.yaml is not a mapping")),
        Err(e) => Err(SourceError::new(entity, path.display().to_string(), format!("unreadable meta.yaml: {e}"))),
    }
}

/// Typed access to one meta.yaml, with errors naming the field and file.
struct Meta<'a> {
    map: Mapping,
    path: &'a Path,
    entity: &'a str,
}

impl Meta<'_> {
    fn text(&self, key: &str) -> Option<String> {
        match self.map.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn require(&self, key: &str) -> Result<String> {
        self.text(key).ok_or_else(|| self.error(format!("missing field '{key}' (truncated file?)")))
    }

    fn int(&self, key: &str) -> Option<i64> {
        self.text(key).and_then(|s| s.parse().ok())
    }

    fn require_int(&self, key: &str) -> Result<i64> {
        self.int(key).ok_or_else(|| self.error(format!("missing or non-numeric field '{key}'")))
    }

    fn error(&self, reason: impl ToString) -> SourceError {
        SourceError::new(self.entity, self.path.display().to_string(), reason)
    }

    fn string_map(&self, key: &str) -> Vec<(String, String)> {
        let Some(Value::Mapping(m)) = self.map.get(key) else { return Vec::new() };
        m.iter()
            .filter_map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                };
                Some((k.as_str()?.to_string(), v))
            })
            .collect()
    }
}

fn meta<'a>(path: &'a Path, entity: &'a str) -> Result<Meta<'a>> {
    Ok(Meta { map: read_yaml(path, entity)?, path, entity })
}

/// Every file below `dir` as (key with '/' separators, path).
fn keyed_files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                out.push((rel.to_string_lossy().replace('\\', "/"), path));
            }
        }
    }
    out.sort();
    out
}

/// The last component of a folder's path: an experiment, model or version id.
fn folder_name(dir: &Path) -> String {
    dir.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
}

/// The folders directly inside `dir`, sorted; none if it does not exist.
fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    dirs
}

fn key_values(dir: &Path, entity: &str) -> Result<Vec<(String, String)>> {
    keyed_files(dir)
        .into_iter()
        .map(|(key, path)| {
            std::fs::read_to_string(&path)
                .map(|v| (key, v))
                .map_err(|e| SourceError::new(entity, path.display().to_string(), e))
        })
        .collect()
}

fn params(dir: &Path, entity: &str) -> Result<Vec<Param>> {
    Ok(key_values(dir, entity)?.into_iter().map(|(key, value)| Param { key, value }).collect())
}

fn tags(dir: &Path, entity: &str) -> Result<Vec<Tag>> {
    Ok(key_values(dir, entity)?.into_iter().map(|(key, value)| Tag { key, value }).collect())
}

fn parse_value(raw: &str) -> Option<f64> {
    match raw.to_ascii_lowercase().as_str() {
        "nan" => Some(f64::NAN),
        "inf" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => raw.parse().ok(),
    }
}

/// One metric file: lines of `timestamp value [step [run_id …]]`.
fn metric_lines(path: &Path, key: &str, entity: &str) -> Result<Vec<(Metric, Option<String>)>> {
    let text = std::fs::read_to_string(path).map_err(|e| SourceError::new(entity, path.display().to_string(), e))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let parsed = match fields.as_slice() {
            [ts, value, rest @ ..] => (|| {
                let timestamp = ts.parse::<i64>().ok()?;
                let value = parse_value(value)?;
                let step = match rest.first() {
                    Some(s) => s.parse::<i64>().ok()?,
                    None => 0,
                };
                Some((MetricPoint { value, timestamp, step }, rest.get(1).map(|s| s.to_string())))
            })(),
            _ => None,
        };
        let Some((point, run_id)) = parsed else {
            return Err(SourceError::new(
                entity,
                format!("{}:{}", path.display(), i + 1),
                format!("bad metric line {line:?}"),
            ));
        };
        out.push((
            Metric { key: key.to_string(), point, model_id: None, dataset_name: None, dataset_digest: None },
            run_id,
        ));
    }
    Ok(out)
}

impl Source for FileStore {
    fn describe(&self) -> String {
        format!("MLflow file store {}", self.root.display())
    }

    fn experiments(&mut self) -> Result<Vec<Experiment>> {
        let mut out = Vec::new();
        for base in [self.root.clone(), self.root.join(".trash")] {
            let Ok(entries) = std::fs::read_dir(&base) else { continue };
            let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
            dirs.sort();
            for dir in dirs {
                let path = dir.join("meta.yaml");
                if dir.file_name().is_some_and(|n| n == "models") {
                    continue;
                }
                if !path.is_file() {
                    out.extend(orphaned_experiment(&dir));
                    continue;
                }
                let id = folder_name(&dir);
                let entity = format!("experiment {id}");
                let m = meta(&path, &entity)?;
                out.push(Experiment {
                    id: m.text("experiment_id").unwrap_or(id),
                    name: m.require("name")?,
                    lifecycle: records::lifecycle(m.text("lifecycle_stage").as_deref()),
                    creation_time: m.int("creation_time").unwrap_or(0),
                    tags: tags(&dir.join("tags"), &entity)?,
                });
            }
        }
        Ok(out)
    }

    fn run_ids(&mut self, experiment_id: &str) -> Result<Vec<String>> {
        let dir = self.experiment_dir(experiment_id);
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| SourceError::new(format!("experiment {experiment_id}"), dir.display().to_string(), e))?;
        let mut ids: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().to_string())
            // A run folder is named by its 32-hex id; one without a readable
            // meta.yaml is still listed, so that reading it reports why.
            .filter(|name| {
                is_run_id(name)
                    || dir.join(name).join("meta.yaml").is_file() && !matches!(name.as_str(), "models" | "datasets")
            })
            .collect();
        ids.sort();
        Ok(ids)
    }

    fn run(&mut self, experiment_id: &str, run_id: &str) -> Result<Run> {
        let exp_dir = self.experiment_dir(experiment_id);
        let dir = exp_dir.join(run_id);
        let entity = format!("run {run_id}");
        let path = dir.join("meta.yaml");
        let m = meta(&path, &entity)?;
        let status_raw = m.require("status")?;
        let status = records::run_status(&status_raw).ok_or_else(|| m.error(format!("unknown status {status_raw}")))?;
        let mut metrics = Vec::new();
        for (key, file) in keyed_files(&dir.join("metrics")) {
            metrics.extend(metric_lines(&file, &key, &entity)?.into_iter().map(|(m, _)| m));
        }
        records::collapse(&mut metrics);
        let mut inputs = Vec::new();
        for (rel, file) in keyed_files(&dir.join("inputs")) {
            if !rel.ends_with("meta.yaml") {
                continue;
            }
            let input = meta(&file, &entity)?;
            if input.text("source_type").as_deref() != Some("DATASET") {
                continue;
            }
            let dataset_id = input.require("source_id")?;
            let ds_path = exp_dir.join("datasets").join(&dataset_id).join("meta.yaml");
            let ds = meta(&ds_path, &entity)?;
            inputs.push(DatasetInput {
                dataset: Dataset {
                    name: ds.require("name")?,
                    digest: ds.require("digest")?,
                    source_type: ds.require("source_type")?,
                    source: ds.require("source")?,
                    schema: ds.text("schema"),
                    profile: ds.text("profile"),
                },
                tags: input.string_map("tags").into_iter().map(|(key, value)| Tag { key, value }).collect(),
            });
        }
        let mut outputs = Vec::new();
        for (rel, file) in keyed_files(&dir.join("outputs")) {
            if rel.ends_with("meta.yaml") {
                let out = meta(&file, &entity)?;
                if out.text("destination_type").as_deref() == Some("MODEL_OUTPUT") {
                    outputs.push((out.require("destination_id")?, out.int("step").unwrap_or(0)));
                }
            }
        }
        let artifacts = m.text("artifact_uri").and_then(|u| records::local_dir(&u));
        if let Some(folder) = &artifacts
            && folder.starts_with(&dir)
            && !folder.is_dir()
        {
            // The file store creates this folder with the run: gone means lost.
            return Err(SourceError::new(
                &entity,
                folder.display().to_string(),
                "the run's artifact folder is missing",
            ));
        }
        Ok(Run {
            run_id: m.text("run_id").unwrap_or_else(|| run_id.to_string()),
            experiment_id: experiment_id.to_string(),
            run_name: m.text("run_name").unwrap_or_default(),
            user_id: m.text("user_id").unwrap_or_default(),
            status,
            start_time: m.require_int("start_time")?,
            end_time: m.int("end_time"),
            lifecycle: records::lifecycle(m.text("lifecycle_stage").as_deref()),
            params: params(&dir.join("params"), &entity)?,
            tags: tags(&dir.join("tags"), &entity)?,
            metrics,
            inputs,
            outputs,
            artifacts,
        })
    }

    fn logged_models(&mut self, experiment_id: &str) -> Result<Vec<Result<LoggedModel>>> {
        Ok(subdirs(&self.experiment_dir(experiment_id).join("models"))
            .into_iter()
            .map(|dir| {
                let id = folder_name(&dir);
                let entity = format!("logged model {id}");
                let path = dir.join("meta.yaml");
                let m = meta(&path, &entity)?;
                let model_id = m.require("model_id")?;
                let mut metrics = Vec::new();
                for (key, file) in keyed_files(&dir.join("metrics")) {
                    for (mut metric, run_id) in metric_lines(&file, &key, &entity)? {
                        let Some(run_id) = run_id else { continue };
                        metric.model_id = Some(model_id.clone());
                        metrics.push((run_id, metric));
                    }
                }
                Ok(LoggedModel {
                    experiment_id: experiment_id.to_string(),
                    name: m.require("name")?,
                    creation_time: m.int("creation_timestamp").unwrap_or(0),
                    model_type: m.text("model_type"),
                    source_run_id: m.text("source_run_id"),
                    status: records::logged_model_status(m.int("status").unwrap_or(1)),
                    lifecycle: records::lifecycle(m.text("lifecycle_stage").as_deref()),
                    params: params(&dir.join("params"), &entity)?,
                    tags: tags(&dir.join("tags"), &entity)?,
                    metrics,
                    artifacts: m.text("artifact_location").and_then(|u| records::local_dir(&u)),
                    model_id,
                })
            })
            .collect())
    }

    fn traces(&mut self, experiment_id: &str) -> Result<Vec<Result<Trace>>> {
        Ok(subdirs(&self.experiment_dir(experiment_id).join("traces"))
            .into_iter()
            .map(|dir| {
                let entity = format!("trace {}", folder_name(&dir));
                let path = dir.join("trace_info.yaml");
                let m = meta(&path, &entity)?;
                let trace_id = m
                    .text("trace_id")
                    .or_else(|| m.text("request_id"))
                    .ok_or_else(|| m.error("missing field 'trace_id' (truncated file?)"))?;
                let request_time_ms = match m.text("request_time") {
                    Some(t) => almanac_core::trace::parse_rfc3339_ms(&t)
                        .ok_or_else(|| m.error(format!("unreadable request_time '{t}'")))?,
                    None => m.require_int("timestamp_ms")?,
                };
                let all_tags = tags(&dir.join("tags"), &entity)?;
                let location = all_tags
                    .iter()
                    .find(|t| t.key == almanac_core::trace::ARTIFACT_LOCATION_TAG)
                    .map(|t| t.value.clone());
                let spans_json = records::local_spans(location.as_deref())
                    .or_else(|| std::fs::read(dir.join("artifacts").join(almanac_core::trace::SPANS_FILE)).ok());
                Ok(Trace {
                    info: almanac_core::trace::TraceInfo {
                        trace_id,
                        experiment_id: experiment_id.to_string(),
                        client_request_id: m.text("client_request_id"),
                        request_time_ms,
                        execution_duration_ms: m.int("execution_duration_ms").or_else(|| m.int("execution_time_ms")),
                        state: records::trace_state(m.text("state").or_else(|| m.text("status")).as_deref()),
                        request_preview: m.text("request_preview"),
                        response_preview: m.text("response_preview"),
                        trace_metadata: tags(&dir.join("request_metadata"), &entity)?,
                        tags: all_tags.into_iter().filter(|t| records::keep_trace_tag(&t.key)).collect(),
                    },
                    spans_json,
                })
            })
            .collect())
    }

    fn registered_models(&mut self) -> Result<Vec<Result<RegisteredModel>>> {
        Ok(subdirs(&self.root.join("models"))
            .into_iter()
            .map(|dir| {
                let folder = folder_name(&dir);
                let entity = format!("registered model {folder}");
                let path = dir.join("meta.yaml");
                let m = meta(&path, &entity)?;
                let mut versions = Vec::new();
                let Ok(children) = std::fs::read_dir(&dir) else { return Err(m.error("cannot list versions")) };
                let mut version_dirs: Vec<PathBuf> = children
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("version-")))
                    .collect();
                version_dirs.sort();
                for vdir in version_dirs {
                    let vpath = vdir.join("meta.yaml");
                    let v = meta(&vpath, &entity)?;
                    // MLflow keeps a deleted version's folder, redacted, so
                    // its number is never reused; clients never see it.
                    if v.text("current_stage").as_deref() == Some(records::DELETED_VERSION_STAGE) {
                        continue;
                    }
                    versions.push(ModelVersion {
                        version: v.require_int("version")?,
                        creation_time: v.int("creation_timestamp").unwrap_or(0),
                        description: v.text("description"),
                        current_stage: v.text("current_stage").unwrap_or_else(|| "None".into()),
                        source: v.text("source").unwrap_or_default(),
                        storage_location: v.text("storage_location"),
                        run_id: v.text("run_id"),
                        run_link: v.text("run_link"),
                        model_id: v.text("model_id"),
                        tags: tags(&vdir.join("tags"), &entity)?,
                    });
                }
                versions.sort_by_key(|v| v.version);
                let mut aliases = Vec::new();
                // The map in meta.yaml, or (older stores) one file per alias.
                let mut named = m.string_map("aliases");
                if named.is_empty() {
                    named = key_values(&dir.join("aliases"), &entity)?
                        .into_iter()
                        .map(|(alias, version)| (alias, version.trim().to_string()))
                        .collect();
                }
                for (alias, version) in named {
                    let version = version.parse().map_err(|_| m.error(format!("alias {alias} names no version")))?;
                    aliases.push((alias, version));
                }
                Ok(RegisteredModel {
                    name: m.require("name")?,
                    creation_time: m.int("creation_timestamp").unwrap_or(0),
                    description: m.text("description"),
                    tags: tags(&dir.join("tags"), &entity)?,
                    aliases,
                    versions,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_lines_read_mlflow_text_and_name_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("loss");
        std::fs::write(&file, "100 0.5 1\n101 nan 2\n102 -inf\n\n103 1e-3 4 m-run-id\n").unwrap();
        let points: Vec<(i64, i64, String, Option<String>)> = metric_lines(&file, "loss", "run r")
            .unwrap()
            .into_iter()
            .map(|(m, run)| (m.point.timestamp, m.point.step, format!("{:?}", m.point.value), run))
            .collect();
        assert_eq!(
            points,
            [
                (100, 1, "0.5".into(), None),
                (101, 2, "NaN".into(), None),
                (102, 0, "-inf".into(), None),
                (103, 4, "0.001".into(), Some("m-run-id".into())),
            ]
        );
        for bad in ["100\n", "x 1 2\n", "100 one 2\n", "100 1 two\n"] {
            std::fs::write(&file, bad).unwrap();
            let err = metric_lines(&file, "loss", "run r").unwrap_err();
            assert!(err.location.ends_with(":1") && err.entity == "run r", "{bad:?}: {err}");
        }
    }

    #[test]
    fn older_registries_keep_aliases_as_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("0")).unwrap();
        std::fs::write(root.join("0/meta.yaml"), "experiment_id: '0'\nname: Default\n").unwrap();
        let model = root.join("models/churn");
        std::fs::create_dir_all(model.join("aliases")).unwrap();
        std::fs::create_dir_all(model.join("version-1")).unwrap();
        std::fs::write(model.join("meta.yaml"), "name: churn\ncreation_timestamp: 5\n").unwrap();
        std::fs::write(model.join("aliases/champion"), "1\n").unwrap();
        std::fs::write(model.join("version-1/meta.yaml"), "version: 1\nsource: runs:/r/model\n").unwrap();
        let mut store = FileStore::open(root).unwrap();
        let models: Vec<RegisteredModel> = store.registered_models().unwrap().into_iter().map(|m| m.unwrap()).collect();
        assert_eq!(models[0].aliases, [("champion".to_string(), 1)]);
        assert_eq!(models[0].versions[0].source, "runs:/r/model");
    }

    #[test]
    fn a_truncated_meta_yaml_names_the_missing_field_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.yaml");
        // Cut at a line end: it reads, but a field is missing.
        std::fs::write(&path, "artifact_uri: file:///x\nend_time: 5\n").unwrap();
        let m = meta(&path, "run r").unwrap();
        let err = m.require("status").unwrap_err();
        assert!(err.reason.contains("'status'") && err.location == path.display().to_string(), "{err}");
        // Cut mid-line: it does not read.
        for cut in ["artifact_uri: file:///x\nend_time: 5\nexperim", "name: [unclosed"] {
            std::fs::write(&path, cut).unwrap();
            let Err(err) = meta(&path, "run r") else { panic!("{cut:?} read") };
            assert!(err.reason.starts_with("unreadable meta.yaml") && err.entity == "run r", "{err}");
        }
    }
}
