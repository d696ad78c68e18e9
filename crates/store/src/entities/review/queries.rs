//! Queries for reviewing runs in the UI, beyond MLflow's search: how many
//! runs a filter matches, which columns an experiment has, groups with
//! aggregated metrics, child counts and each metric's min and max.

use std::collections::HashMap;

use almanac_core::Error;
use almanac_core::model::{Annotation, SavedView};
use almanac_core::search::Key;
use rusqlite::{Connection, OptionalExtension};

use crate::entities::runs::queries::canonical_query;
use crate::query::RunQuery;
use crate::search_sql::{self, Sql};
use crate::{Result, Store};

/// A dataset some run of an experiment logged, and the context it was
/// logged in (`mlflow.data.context`), if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetSummary {
    pub experiment_id: String,
    pub name: String,
    pub digest: String,
    pub context: Option<String>,
}

/// The param, metric and tag keys used by an experiment's runs, sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunKeys {
    pub params: Vec<String>,
    pub metrics: Vec<String>,
    pub tags: Vec<String>,
}

/// One metric's latest values aggregated over a group of runs. NaN and
/// missing values are left out; `None` when no run of the group has one.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSummary {
    pub key: String,
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// The runs sharing one value of the grouping key (`None`: runs without it).
#[derive(Debug, Clone, PartialEq)]
pub struct RunGroup {
    pub value: Option<String>,
    pub count: i64,
    pub metrics: Vec<MetricSummary>,
}

/// The smallest and largest value a run ever logged for a metric (NaN left out).
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRange {
    pub run_id: String,
    pub key: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// More groups than this are not a useful table; the largest are kept.
pub const MAX_GROUPS: i64 = 1000;

const PARENT_TAG: &str = almanac_core::model::tags::PARENT_RUN_ID;

fn view_from_row(r: &rusqlite::Row) -> rusqlite::Result<SavedView> {
    Ok(SavedView {
        view_id: r.get(0)?,
        experiment_id: r.get(1)?,
        name: r.get(2)?,
        spec: r.get(3)?,
        created_ms: r.get(4)?,
        updated_ms: r.get(5)?,
    })
}

fn strings(c: &Connection, text: &str, sql: &Sql) -> Result<Vec<String>> {
    let mut stmt = c.prepare(text)?;
    let out = stmt
        .query_map(rusqlite::params_from_iter(sql.params.iter()), |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(out)
}

impl Store {
    /// How many runs `q` matches, ignoring its order and paging.
    pub fn count_runs(&self, q: &RunQuery) -> Result<i64> {
        if q.experiment_ids.is_empty() {
            return Ok(0);
        }
        self.with_reader(|c| {
            let q = canonical_query(c, q)?;
            let mut sql = Sql::default();
            let text = format!("SELECT count(*) FROM runs r WHERE {}", search_sql::run_where(&q, &mut sql));
            Ok(c.prepare(&text)?.query_row(rusqlite::params_from_iter(sql.params.iter()), |r| r.get(0))?)
        })
    }

    /// Live runs per experiment, for the experiment list.
    pub fn run_counts(&self) -> Result<HashMap<String, i64>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT experiment_id, count(*) FROM runs WHERE lifecycle_stage = 'active' GROUP BY experiment_id",
            )?;
            let counts = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
            Ok(counts)
        })
    }

    /// Every key any run of these experiments uses, for the column chooser.
    pub fn run_keys(&self, experiment_ids: &[String]) -> Result<RunKeys> {
        self.with_reader(|c| {
            let q = canonical_query(c, &RunQuery { experiment_ids: experiment_ids.to_vec(), ..Default::default() })?;
            let keys = |table: &str| -> Result<Vec<String>> {
                let mut sql = Sql::default();
                let list = sql.bind_json_list(&q.experiment_ids);
                let text = format!(
                    "SELECT DISTINCT k.key FROM {table} k JOIN runs r ON r.pk = k.run_pk
                     WHERE r.experiment_id IN (SELECT value FROM json_each({list})) ORDER BY k.key"
                );
                strings(c, &text, &sql)
            };
            Ok(RunKeys { params: keys("params")?, metrics: keys("latest_metrics")?, tags: keys("run_tags")? })
        })
    }

    /// The datasets the runs of these experiments logged as inputs, each
    /// with the context it was logged in: MLflow UI's `search-datasets`.
    /// At most `limit`, as MLflow caps them.
    pub fn dataset_summaries(&self, experiment_ids: &[String], limit: i64) -> Result<Vec<DatasetSummary>> {
        self.with_reader(|c| {
            let q = canonical_query(c, &RunQuery { experiment_ids: experiment_ids.to_vec(), ..Default::default() })?;
            let mut sql = Sql::default();
            let list = sql.bind_json_list(&q.experiment_ids);
            let text = format!(
                "SELECT DISTINCT r.experiment_id, d.name, d.digest, i.context
                 FROM run_inputs i JOIN datasets d ON d.pk = i.dataset_pk JOIN runs r ON r.pk = i.run_pk
                 WHERE r.experiment_id IN (SELECT value FROM json_each({list}))
                 ORDER BY r.experiment_id, d.name, d.digest, i.context LIMIT {limit}"
            );
            let mut stmt = c.prepare(&text)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(sql.params.iter()), |r| {
                Ok(DatasetSummary { experiment_id: r.get(0)?, name: r.get(1)?, digest: r.get(2)?, context: r.get(3)? })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The runs `q` matches, grouped by a param, tag or attribute, largest
    /// group first, with each of `metric_keys` aggregated per group.
    pub fn group_runs(&self, q: &RunQuery, by: &Key, metric_keys: &[String]) -> Result<Vec<RunGroup>> {
        if q.experiment_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.with_reader(|c| {
            let q = canonical_query(c, q)?;
            let mut sql = Sql::default();
            let (mut joins, group) = match by {
                Key::Param(name) | Key::Tag(name) => {
                    let table = if matches!(by, Key::Param(_)) { "params" } else { "run_tags" };
                    let key = sql.bind(name.clone());
                    (format!(" LEFT JOIN {table} g ON g.run_pk = r.pk AND g.key = {key}"), "g.value".to_string())
                }
                Key::Attribute(a) => (String::new(), search_sql::run_column(*a).to_string()),
                Key::Metric(_) | Key::Dataset(_) | Key::Metadata(_) => {
                    return Err(Error::invalid("Runs can be grouped by a param, a tag or an attribute").into());
                }
            };
            let mut columns = Vec::new();
            for (i, key) in metric_keys.iter().enumerate() {
                let key = sql.bind(key.clone());
                joins.push_str(&format!(
                    " LEFT JOIN latest_metrics m{i} ON m{i}.run_pk = r.pk AND m{i}.key = {key} AND m{i}.is_nan = 0"
                ));
                columns.push(format!(", avg(m{i}.value), min(m{i}.value), max(m{i}.value)"));
            }
            let wheres = search_sql::run_where(&q, &mut sql);
            let text = format!(
                "SELECT CAST({group} AS TEXT), count(*){} FROM runs r{joins} WHERE {wheres}
                 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {MAX_GROUPS}",
                columns.concat()
            );
            let mut stmt = c.prepare(&text)?;
            let groups = stmt
                .query_map(rusqlite::params_from_iter(sql.params.iter()), |r| {
                    let metrics = metric_keys
                        .iter()
                        .enumerate()
                        .map(|(i, key)| {
                            Ok(MetricSummary {
                                key: key.clone(),
                                mean: r.get(2 + 3 * i)?,
                                min: r.get(3 + 3 * i)?,
                                max: r.get(4 + 3 * i)?,
                            })
                        })
                        .collect::<rusqlite::Result<_>>()?;
                    Ok(RunGroup { value: r.get(0)?, count: r.get(1)?, metrics })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(groups)
        })
    }

    /// How many live child runs (tagged `mlflow.parentRunId`) each of these runs has.
    pub fn child_counts(&self, run_ids: &[String]) -> Result<HashMap<String, i64>> {
        self.with_reader(|c| {
            let mut sql = Sql::default();
            let key = sql.bind(PARENT_TAG.to_string());
            let list = sql.bind_json_list(run_ids);
            let text = format!(
                "SELECT t.value, count(*) FROM run_tags t JOIN runs r ON r.pk = t.run_pk
                 WHERE t.key = {key} AND t.value IN (SELECT value FROM json_each({list}))
                   AND r.lifecycle_stage = 'active'
                 GROUP BY t.value"
            );
            let mut stmt = c.prepare(&text)?;
            let counts = stmt
                .query_map(rusqlite::params_from_iter(sql.params.iter()), |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok(counts)
        })
    }

    /// The annotations on these runs, by run, metric and step.
    pub fn annotations(&self, run_ids: &[String]) -> Result<Vec<Annotation>> {
        self.with_reader(|c| {
            let mut sql = Sql::default();
            let list = sql.bind_json_list(run_ids);
            let text = format!(
                "SELECT a.annotation_id, r.run_id, a.metric_key, a.step, a.text, a.author, a.created_ms
                 FROM annotations a JOIN runs r ON r.pk = a.run_pk
                 WHERE r.run_id IN (SELECT value FROM json_each({list}))
                 ORDER BY r.run_id, a.metric_key, a.step, a.created_ms, a.annotation_id"
            );
            let mut stmt = c.prepare(&text)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(sql.params.iter()), |r| {
                    Ok(Annotation {
                        annotation_id: r.get(0)?,
                        run_id: r.get(1)?,
                        metric_key: r.get(2)?,
                        step: r.get(3)?,
                        text: r.get(4)?,
                        author: r.get(5)?,
                        created_ms: r.get(6)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(rows)
        })
    }

    /// An experiment's saved views, by name.
    pub fn saved_views(&self, experiment_id: &str) -> Result<Vec<SavedView>> {
        self.with_reader(|c| {
            let experiment = crate::entities::experiments::canonical_experiment(c, experiment_id)?;
            let mut stmt = c.prepare_cached(
                "SELECT view_id, experiment_id, name, spec, created_ms, updated_ms FROM saved_views
                 WHERE experiment_id = ?1 ORDER BY name, view_id",
            )?;
            let views = stmt.query_map([experiment], view_from_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(views)
        })
    }

    pub fn saved_view(&self, view_id: &str) -> Result<SavedView> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT view_id, experiment_id, name, spec, created_ms, updated_ms FROM saved_views WHERE view_id = ?1",
            )?;
            let view = stmt.query_row([view_id], view_from_row).optional()?;
            Ok(view.ok_or_else(|| Error::not_found(format!("No saved view {view_id}")))?)
        })
    }

    /// The min and max of every metric of these runs.
    pub fn metric_ranges(&self, run_ids: &[String]) -> Result<Vec<MetricRange>> {
        self.with_reader(|c| {
            let mut sql = Sql::default();
            let list = sql.bind_json_list(run_ids);
            let text = format!(
                "SELECT r.run_id, m.key, min(CASE WHEN m.is_nan THEN NULL ELSE m.value END),
                        max(CASE WHEN m.is_nan THEN NULL ELSE m.value END)
                 FROM runs r JOIN metrics m ON m.run_pk = r.pk
                 WHERE r.run_id IN (SELECT value FROM json_each({list}))
                 GROUP BY r.run_id, m.key ORDER BY r.run_id, m.key"
            );
            let mut stmt = c.prepare(&text)?;
            let ranges = stmt
                .query_map(rusqlite::params_from_iter(sql.params.iter()), |r| {
                    Ok(MetricRange { run_id: r.get(0)?, key: r.get(1)?, min: r.get(2)?, max: r.get(3)? })
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(ranges)
        })
    }
}
