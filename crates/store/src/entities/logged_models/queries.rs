//! Reading logged models: one, and searches.

use almanac_core::Error;
use almanac_core::model::{LifecycleStage, Metric, MetricPoint, Param, Tag};
use almanac_core::model::{LoggedModel, LoggedModelStatus};
use rusqlite::{Connection, OptionalExtension};

use crate::query::ModelQuery;
use crate::search_sql::{self, Sql, keys_page};
use crate::{Result, Store};

use crate::entities::experiments::queries::stage;

pub(crate) fn load_model(c: &Connection, model_id: &str) -> Result<Option<LoggedModel>> {
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
