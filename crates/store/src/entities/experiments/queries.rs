//! Reading experiments: by id (aliases resolve), by name, and searches.

use almanac_core::Error;
use almanac_core::model::{Experiment, LifecycleStage, Tag};
use rusqlite::{Connection, OptionalExtension, Row};

use crate::query::ExperimentQuery;
use crate::search_sql::{self, Sql, view_stages};
use crate::{Result, Store};

pub(crate) fn stage(s: &str) -> LifecycleStage {
    LifecycleStage::parse(s).unwrap_or(LifecycleStage::Active)
}

pub(crate) const EXPERIMENT_COLUMNS: &str =
    "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time";

pub(crate) fn experiment_from_row(r: &Row) -> rusqlite::Result<Experiment> {
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

pub(crate) fn experiment_tags(conn: &Connection, experiment_id: &str) -> Result<Vec<Tag>> {
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
}
