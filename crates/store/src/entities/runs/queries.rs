//! Reading runs: one, searches (lowered by `search_sql`), metric histories
//! and step ranges.

use std::collections::HashMap;

use almanac_core::Error;
use almanac_core::model::{Dataset, DatasetInput, Metric, MetricPoint, Param, Run, RunInfo, RunStatus, Tag};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::query::RunQuery;
use crate::search_sql::{self, Sql};
use crate::{Result, Store};

use crate::entities::experiments::queries::stage;

/// One page of a metric's history, ordered by step, then timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    pub points: Vec<MetricPoint>,
    /// Whether more points follow this page.
    pub more: bool,
}

impl Store {
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

pub(crate) fn run_pk(c: &Connection, run_id: &str) -> Result<i64> {
    let pk: Option<i64> =
        c.prepare_cached("SELECT pk FROM runs WHERE run_id = ?1")?.query_row([run_id], |r| r.get(0)).optional()?;
    Ok(pk.ok_or_else(|| Error::not_found(format!("Run with id={run_id} not found")))?)
}

pub(crate) fn point_from_row(r: &Row) -> rusqlite::Result<MetricPoint> {
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

pub(crate) fn search_run_pks(c: &Connection, q: &RunQuery) -> Result<Vec<i64>> {
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
pub(crate) fn hydrate(c: &Connection, pks: &[i64]) -> Result<Vec<Run>> {
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
