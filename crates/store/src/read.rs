//! Queries over the projection tables.

use std::collections::HashMap;

use std::collections::HashSet;

use almanac_core::Error;
use almanac_core::model::{
    Dataset, DatasetInput, Experiment, LifecycleStage, Metric, MetricPoint, Param, Run, RunInfo, RunStatus, Tag,
};
use almanac_core::model::{LoggedModel, LoggedModelStatus};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::query::{ExperimentQuery, ModelQuery, RunQuery};
use crate::search_sql::{self, Sql, keys_page, prefix_range, view_stages};
use crate::{Result, Store};

/// One page of a metric's history, ordered by step, then timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    pub points: Vec<MetricPoint>,
    /// Whether more points follow this page.
    pub more: bool,
}

fn stage(s: &str) -> LifecycleStage {
    LifecycleStage::parse(s).unwrap_or(LifecycleStage::Active)
}

const EXPERIMENT_COLUMNS: &str =
    "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time";

fn experiment_from_row(r: &Row) -> rusqlite::Result<Experiment> {
    Ok(Experiment {
        experiment_id: r.get(0)?,
        name: r.get(1)?,
        artifact_location: r.get(2)?,
        lifecycle_stage: stage(&r.get::<_, String>(3)?),
        creation_time: r.get(4)?,
        last_update_time: r.get(5)?,
        tags: Vec::new(),
    })
}

fn experiment_tags(conn: &Connection, experiment_id: &str) -> Result<Vec<Tag>> {
    let mut stmt =
        conn.prepare_cached("SELECT key, value FROM experiment_tags WHERE experiment_id = ?1 ORDER BY key")?;
    let tags = stmt
        .query_map([experiment_id], |r| Ok(Tag { key: r.get(0)?, value: r.get(1)? }))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(tags)
}

impl Store {
    pub fn experiment(&self, experiment_id: &str) -> Result<Experiment> {
        self.with_reader(|c| {
            let experiment_id = &crate::entities::experiments::canonical_experiment(c, experiment_id)?;
            let found = c
                .prepare_cached(&format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE experiment_id = ?1"))?
                .query_row([experiment_id], experiment_from_row)
                .optional()?;
            let mut e =
                found.ok_or_else(|| Error::not_found(format!("No Experiment with id={experiment_id} exists")))?;
            e.tags = experiment_tags(c, experiment_id)?;
            Ok(e)
        })
    }

    pub fn experiment_by_name(&self, name: &str) -> Result<Option<Experiment>> {
        self.with_reader(|c| {
            let found = c
                .prepare_cached(&format!("SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE name = ?1"))?
                .query_row([name], experiment_from_row)
                .optional()?;
            match found {
                Some(mut e) => {
                    e.tags = experiment_tags(c, &e.experiment_id)?;
                    Ok(Some(e))
                }
                None => Ok(None),
            }
        })
    }

    /// Experiments matching `q`, plus whether more follow this page.
    pub fn search_experiments(&self, q: &ExperimentQuery) -> Result<(Vec<Experiment>, bool)> {
        self.with_reader(|c| {
            let mut sql = Sql::default();
            let mut text = format!(
                "SELECT {EXPERIMENT_COLUMNS} FROM experiments e WHERE e.lifecycle_stage IN {}",
                view_stages(q.view)
            );
            if let Some(f) = &q.filter {
                text.push_str(" AND ");
                text.push_str(&search_sql::experiment_filter(f, &mut sql));
            }
            text.push_str(" ORDER BY ");
            text.push_str(&search_sql::experiment_order(&q.order_by, &mut sql));
            text.push_str(&format!(" LIMIT {} OFFSET {}", q.limit + 1, q.offset));
            let mut stmt = c.prepare(&text)?;
            let mut found: Vec<Experiment> = stmt
                .query_map(rusqlite::params_from_iter(sql.params.iter()), experiment_from_row)?
                .collect::<rusqlite::Result<_>>()?;
            let more = found.len() as i64 > q.limit;
            found.truncate(q.limit as usize);
            for e in &mut found {
                e.tags = experiment_tags(c, &e.experiment_id)?;
            }
            Ok((found, more))
        })
    }

    pub fn run(&self, run_id: &str) -> Result<Run> {
        self.with_reader(|c| {
            let pk: Option<i64> = c
                .prepare_cached("SELECT pk FROM runs WHERE run_id = ?1")?
                .query_row([run_id], |r| r.get(0))
                .optional()?;
            let pk = pk.ok_or_else(|| Error::not_found(format!("Run with id={run_id} not found")))?;
            Ok(hydrate(c, &[pk])?.remove(0))
        })
    }

    /// Runs matching `q`, plus whether more follow this page.
    pub fn search_runs(&self, q: &RunQuery) -> Result<(Vec<Run>, bool)> {
        self.with_reader(|c| {
            let pks = search_run_pks(c, q)?;
            let more = pks.len() as i64 > q.limit;
            let page = &pks[..pks.len().min(q.limit as usize)];
            Ok((hydrate(c, page)?, more))
        })
    }

    /// A page of one metric's history: points `offset..offset+limit`, in
    /// MLflow's order (timestamp, step, value).
    pub fn metric_history(&self, run_id: &str, key: &str, offset: i64, limit: i64) -> Result<HistoryPage> {
        self.with_reader(|c| {
            let pk = run_pk(c, run_id)?;
            let mut stmt = c.prepare_cached(
                "SELECT CASE WHEN is_nan THEN NULL ELSE value END, timestamp, step FROM metrics
                 WHERE run_pk = ?1 AND key = ?2
                 ORDER BY timestamp, step, is_nan, value LIMIT ?3 OFFSET ?4",
            )?;
            let mut points: Vec<MetricPoint> = stmt
                .query_map(params![pk, key, limit.saturating_add(1), offset], point_from_row)?
                .collect::<rusqlite::Result<_>>()?;
            let more = points.len() as i64 > limit;
            points.truncate(limit as usize);
            Ok(HistoryPage { points, more })
        })
    }

    /// All points of a metric with `start_step <= step <= end_step`, for charts.
    pub fn metric_range(&self, run_id: &str, key: &str, start_step: i64, end_step: i64) -> Result<Vec<MetricPoint>> {
        self.with_reader(|c| {
            let pk = run_pk(c, run_id)?;
            let mut stmt = c.prepare_cached(
                "SELECT CASE WHEN is_nan THEN NULL ELSE value END, timestamp, step FROM metrics
                 WHERE run_pk = ?1 AND key = ?2 AND step BETWEEN ?3 AND ?4
                 ORDER BY step, timestamp, is_nan, value",
            )?;
            let points = stmt
                .query_map(params![pk, key, start_step, end_step], point_from_row)?
                .collect::<rusqlite::Result<_>>()?;
            Ok(points)
        })
    }
}

fn run_pk(c: &Connection, run_id: &str) -> Result<i64> {
    let pk: Option<i64> =
        c.prepare_cached("SELECT pk FROM runs WHERE run_id = ?1")?.query_row([run_id], |r| r.get(0)).optional()?;
    Ok(pk.ok_or_else(|| Error::not_found(format!("Run with id={run_id} not found")))?)
}

fn point_from_row(r: &Row) -> rusqlite::Result<MetricPoint> {
    let value: Option<f64> = r.get(0)?;
    Ok(MetricPoint { value: value.unwrap_or(f64::NAN), timestamp: r.get(1)?, step: r.get(2)? })
}

/// `q` with every experiment id resolved through sync's aliases.
pub(crate) fn canonical_query(c: &Connection, q: &RunQuery) -> Result<RunQuery> {
    let mut q = q.clone();
    for id in &mut q.experiment_ids {
        *id = crate::entities::experiments::canonical_experiment(c, id)?;
    }
    Ok(q)
}

fn search_run_pks(c: &Connection, q: &RunQuery) -> Result<Vec<i64>> {
    if q.experiment_ids.is_empty() {
        return Ok(Vec::new());
    }
    let q = canonical_query(c, q)?;
    let mut sql = Sql::default();
    let text = search_sql::run_select(&q, &mut sql);
    let mut stmt = c.prepare(&text)?;
    let pks = stmt
        .query_map(rusqlite::params_from_iter(sql.params.iter()), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(pks)
}

/// Loads whole runs for `pks`, in that order, with four set queries rather
/// than four per run.
fn hydrate(c: &Connection, pks: &[i64]) -> Result<Vec<Run>> {
    if pks.is_empty() {
        return Ok(Vec::new());
    }
    let list = serde_json::to_string(pks)?;
    let mut runs: HashMap<i64, Run> = HashMap::with_capacity(pks.len());
    let mut stmt = c.prepare_cached(
        "SELECT pk, run_id, run_name, experiment_id, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage
         FROM runs WHERE pk IN (SELECT value FROM json_each(?1))",
    )?;
    let rows = stmt.query_map([&list], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            RunInfo {
                run_id: r.get(1)?,
                run_name: r.get(2)?,
                experiment_id: r.get(3)?,
                user_id: r.get(4)?,
                status: RunStatus::parse(&r.get::<_, String>(5)?).unwrap_or(RunStatus::Running),
                start_time: r.get(6)?,
                end_time: r.get(7)?,
                artifact_uri: r.get(8)?,
                lifecycle_stage: stage(&r.get::<_, String>(9)?),
            },
        ))
    })?;
    for row in rows {
        let (pk, info) = row?;
        runs.insert(
            pk,
            Run {
                info,
                metrics: Vec::new(),
                params: Vec::new(),
                tags: Vec::new(),
                inputs: Vec::new(),
                model_inputs: Vec::new(),
                outputs: Vec::new(),
            },
        );
    }

    let mut stmt = c.prepare_cached(
        "SELECT run_pk, key, value, is_nan, timestamp, step FROM latest_metrics
         WHERE run_pk IN (SELECT value FROM json_each(?1)) ORDER BY key",
    )?;
    let rows = stmt.query_map([&list], |r| {
        let value: Option<f64> = r.get(2)?;
        let is_nan: bool = r.get(3)?;
        Ok((
            r.get::<_, i64>(0)?,
            Metric {
                key: r.get(1)?,
                point: MetricPoint {
                    value: if is_nan { f64::NAN } else { value.unwrap_or(f64::NAN) },
                    timestamp: r.get(4)?,
                    step: r.get(5)?,
                },
                ..Default::default()
            },
        ))
    })?;
    for row in rows {
        let (pk, m) = row?;
        if let Some(run) = runs.get_mut(&pk) {
            run.metrics.push(m);
        }
    }

    let mut stmt = c.prepare_cached(
        "SELECT run_pk, key, value FROM params WHERE run_pk IN (SELECT value FROM json_each(?1)) ORDER BY key",
    )?;
    let rows = stmt.query_map([&list], |r| Ok((r.get::<_, i64>(0)?, Param { key: r.get(1)?, value: r.get(2)? })))?;
    for row in rows {
        let (pk, p) = row?;
        if let Some(run) = runs.get_mut(&pk) {
            run.params.push(p);
        }
    }

    let mut stmt = c.prepare_cached(
        "SELECT run_pk, key, value FROM run_tags WHERE run_pk IN (SELECT value FROM json_each(?1)) ORDER BY key",
    )?;
    let rows = stmt.query_map([&list], |r| Ok((r.get::<_, i64>(0)?, Tag { key: r.get(1)?, value: r.get(2)? })))?;
    for row in rows {
        let (pk, t) = row?;
        if let Some(run) = runs.get_mut(&pk) {
            run.tags.push(t);
        }
    }

    let mut stmt = c.prepare_cached(
        "SELECT i.run_pk, i.tags, d.name, d.digest, d.source_type, d.source, d.schema, d.profile
         FROM run_inputs i JOIN datasets d ON d.pk = i.dataset_pk
         WHERE i.run_pk IN (SELECT value FROM json_each(?1)) ORDER BY d.pk",
    )?;
    let rows = stmt.query_map([&list], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            Dataset {
                name: r.get(2)?,
                digest: r.get(3)?,
                source_type: r.get(4)?,
                source: r.get(5)?,
                schema: r.get(6)?,
                profile: r.get(7)?,
            },
        ))
    })?;
    for row in rows {
        let (pk, tags, dataset) = row?;
        if let Some(run) = runs.get_mut(&pk) {
            let mut tags: Vec<Tag> = serde_json::from_str(&tags)?;
            // MLflow lists an input's tags by key.
            tags.sort_by(|a, b| a.key.cmp(&b.key));
            run.inputs.push(DatasetInput { dataset, tags });
        }
    }

    let mut stmt = c.prepare_cached(
        "SELECT run_pk, model_id FROM run_model_inputs WHERE run_pk IN (SELECT value FROM json_each(?1)) ORDER BY model_id",
    )?;
    let rows = stmt.query_map([&list], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (pk, model_id) = row?;
        if let Some(run) = runs.get_mut(&pk) {
            run.model_inputs.push(model_id);
        }
    }

    let mut stmt = c.prepare_cached(
        "SELECT run_pk, model_id, step FROM run_outputs WHERE run_pk IN (SELECT value FROM json_each(?1)) ORDER BY model_id",
    )?;
    let rows = stmt.query_map([&list], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?;
    for row in rows {
        let (pk, model_id, step) = row?;
        if let Some(run) = runs.get_mut(&pk) {
            run.outputs.push((model_id, step));
        }
    }

    Ok(pks.iter().filter_map(|pk| runs.remove(pk)).collect())
}

/// One entry of an artifact folder listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactEntry {
    /// The name inside the listed folder.
    pub name: String,
    pub is_dir: bool,
    /// Bytes, for files.
    pub size: Option<u64>,
}

/// A stored artifact file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactFile {
    pub sha256: String,
    pub size: u64,
}

impl Store {
    pub fn artifact(&self, path: &str) -> Result<Option<ArtifactFile>> {
        self.with_reader(|c| {
            Ok(c.prepare_cached("SELECT sha256, size FROM artifacts WHERE path = ?1")?
                .query_row([path], |r| Ok(ArtifactFile { sha256: r.get(0)?, size: r.get::<_, i64>(1)? as u64 }))
                .optional()?)
        })
    }

    /// The files and folders directly inside folder `dir`, sorted by name.
    pub fn list_artifacts(&self, dir: &str) -> Result<Vec<ArtifactEntry>> {
        self.with_reader(|c| {
            let (low, high) = prefix_range(dir);
            let mut stmt =
                c.prepare_cached("SELECT path, size FROM artifacts WHERE path > ?1 AND path < ?2 ORDER BY path")?;
            let rows = stmt.query_map(params![low, high], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            let mut out: Vec<ArtifactEntry> = Vec::new();
            for row in rows {
                let (path, size) = row?;
                let rest = &path[low.len()..];
                let entry = match rest.split_once('/') {
                    Some((folder, _)) => ArtifactEntry { name: folder.to_string(), is_dir: true, size: None },
                    None => ArtifactEntry { name: rest.to_string(), is_dir: false, size: Some(size as u64) },
                };
                if out.last() != Some(&entry) {
                    out.push(entry);
                }
            }
            out.sort_by(|a, b| a.name.cmp(&b.name).then(a.is_dir.cmp(&b.is_dir)));
            out.dedup();
            Ok(out)
        })
    }

    /// Every artifact file under `dir` (recursively), as (path, file).
    pub fn artifacts_under(&self, dir: &str) -> Result<Vec<(String, ArtifactFile)>> {
        self.with_reader(|c| {
            let (low, high) = prefix_range(dir);
            let mut stmt = c.prepare_cached(
                "SELECT path, sha256, size FROM artifacts WHERE path > ?1 AND path < ?2 ORDER BY path",
            )?;
            let rows = stmt.query_map(params![low, high], |r| {
                Ok((r.get::<_, String>(0)?, ArtifactFile { sha256: r.get(1)?, size: r.get::<_, i64>(2)? as u64 }))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Everything that belongs to these experiments, for moving them
    /// elsewhere: the entity ids whose ops make them up (the experiments and
    /// ids merged into them, their runs and logged models, registered models
    /// with a version from those runs) and the content hashes of their
    /// artifacts.
    pub fn experiments_closure(&self, experiment_ids: &[String]) -> Result<(HashSet<String>, HashSet<String>)> {
        self.with_reader(|c| {
            let mut entities: HashSet<String> = HashSet::new();
            let mut hashes = HashSet::new();
            for id in experiment_ids {
                let id = crate::entities::experiments::canonical_experiment(c, id)?;
                let mut ids = vec![id.clone()];
                let mut aliases = c.prepare_cached("SELECT alias FROM experiment_aliases WHERE canonical = ?1")?;
                ids.extend(aliases.query_map([&id], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?);
                for query in [
                    "SELECT run_id FROM runs WHERE experiment_id = ?1",
                    "SELECT model_id FROM logged_models WHERE experiment_id = ?1",
                    "SELECT DISTINCT v.name FROM model_versions v JOIN runs r ON r.run_id = v.run_id
                     WHERE r.experiment_id = ?1",
                ] {
                    let mut stmt = c.prepare_cached(query)?;
                    entities.extend(
                        stmt.query_map([&id], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?,
                    );
                }
                for prefix in &ids {
                    let mut stmt = c.prepare_cached("SELECT sha256 FROM artifacts WHERE path >= ?1 AND path < ?2")?;
                    let rows =
                        stmt.query_map(params![format!("{prefix}/"), format!("{prefix}0")], |r| r.get::<_, String>(0))?;
                    hashes.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
                }
                entities.extend(ids);
            }
            Ok((entities, hashes))
        })
    }

    /// The size of the content with this hash, if any manifest names it.
    pub fn artifact_size_by_hash(&self, sha256: &str) -> Result<Option<u64>> {
        self.with_reader(|c| {
            Ok(c.prepare_cached("SELECT size FROM artifacts WHERE sha256 = ?1 LIMIT 1")?
                .query_row([sha256], |r| r.get::<_, i64>(0))
                .optional()?
                .map(|s| s as u64))
        })
    }

    /// Content hashes still referenced by a live owner: anything but a
    /// deleted run, logged model or trace, unless a live registered model
    /// version still points at it. Garbage collection keeps these.
    pub fn live_artifact_hashes(&self) -> Result<std::collections::HashSet<String>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT DISTINCT a.sha256 FROM artifacts a
                 WHERE NOT (
                     (EXISTS (SELECT 1 FROM runs r WHERE r.run_id = a.owner AND r.lifecycle_stage = 'deleted')
                      OR EXISTS (SELECT 1 FROM logged_models m WHERE m.model_id = a.owner AND m.lifecycle_stage = 'deleted')
                      OR EXISTS (SELECT 1 FROM traces t WHERE t.trace_id = a.owner AND t.deleted = 1))
                     AND NOT EXISTS (SELECT 1 FROM model_versions v
                                     WHERE v.deleted = 0 AND (v.run_id = a.owner OR v.model_id = a.owner)))",
            )?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

fn load_model(c: &Connection, model_id: &str) -> Result<Option<LoggedModel>> {
    let found = c
        .prepare_cached(
            "SELECT model_id, experiment_id, name, artifact_location, creation_time, last_update_time, status,
                    model_type, source_run_id, lifecycle_stage
             FROM logged_models WHERE model_id = ?1",
        )?
        .query_row([model_id], |r| {
            Ok(LoggedModel {
                model_id: r.get(0)?,
                experiment_id: r.get(1)?,
                name: r.get(2)?,
                artifact_location: r.get(3)?,
                creation_timestamp: r.get(4)?,
                last_updated_timestamp: r.get(5)?,
                status: LoggedModelStatus::from_wire(&r.get::<_, String>(6)?).unwrap_or(LoggedModelStatus::Pending),
                model_type: r.get(7)?,
                source_run_id: r.get(8)?,
                lifecycle_stage: stage(&r.get::<_, String>(9)?),
                tags: Vec::new(),
                params: Vec::new(),
                metrics: Vec::new(),
            })
        })
        .optional()?;
    let Some(mut m) = found else { return Ok(None) };
    let mut stmt = c.prepare_cached(
        "SELECT run_id, key, value, timestamp, step, dataset_name, dataset_digest FROM logged_model_metrics
         WHERE model_id = ?1 ORDER BY key, step, timestamp",
    )?;
    m.metrics = stmt
        .query_map([model_id], |r| {
            let value: Option<f64> = r.get(2)?;
            Ok((
                r.get::<_, String>(0)?,
                Metric {
                    key: r.get(1)?,
                    point: MetricPoint { value: value.unwrap_or(f64::NAN), timestamp: r.get(3)?, step: r.get(4)? },
                    model_id: Some(model_id.to_string()),
                    dataset_name: r.get(5)?,
                    dataset_digest: r.get(6)?,
                },
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = c.prepare_cached("SELECT key, value FROM logged_model_tags WHERE model_id = ?1 ORDER BY key")?;
    m.tags = stmt
        .query_map([model_id], |r| Ok(Tag { key: r.get(0)?, value: r.get(1)? }))?
        .collect::<rusqlite::Result<_>>()?;
    let mut stmt = c.prepare_cached("SELECT key, value FROM logged_model_params WHERE model_id = ?1 ORDER BY key")?;
    m.params = stmt
        .query_map([model_id], |r| Ok(Param { key: r.get(0)?, value: r.get(1)? }))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(m))
}

impl Store {
    /// A logged model; deleted ones only with `allow_deleted`.
    pub fn logged_model(&self, model_id: &str, allow_deleted: bool) -> Result<LoggedModel> {
        self.with_reader(|c| {
            load_model(c, model_id)?
                .filter(|m| allow_deleted || m.lifecycle_stage == LifecycleStage::Active)
                .ok_or_else(|| Error::not_found(format!("Logged model with ID '{model_id}' not found.")).into())
        })
    }

    pub fn search_logged_models(&self, q: &ModelQuery) -> Result<(Vec<LoggedModel>, bool)> {
        self.with_reader(|c| {
            let mut sql = Sql::default();
            let text = search_sql::model_select(q, &mut sql);
            let (ids, more) = keys_page(c, &text, &sql, q.limit)?;
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                out.extend(load_model(c, id)?);
            }
            Ok((out, more))
        })
    }
}
