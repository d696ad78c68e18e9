//! Reading traces: one record with its tags and metadata, or every live
//! trace of some experiments (searches filter and sort them in memory).

use almanac_core::model::Tag;
use almanac_core::trace::TraceInfo;
use rusqlite::{Connection, OptionalExtension};

use crate::{Result, Store};

const COLUMNS: &str = "trace_id, experiment_id, client_request_id, request_time_ms, execution_duration_ms, state,
     request_preview, response_preview";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TraceInfo> {
    Ok(TraceInfo {
        trace_id: r.get(0)?,
        experiment_id: r.get(1)?,
        client_request_id: r.get(2)?,
        request_time_ms: r.get(3)?,
        execution_duration_ms: r.get(4)?,
        state: r.get(5)?,
        request_preview: r.get(6)?,
        response_preview: r.get(7)?,
        trace_metadata: Vec::new(),
        tags: Vec::new(),
    })
}

fn pairs(c: &Connection, table: &str, trace_id: &str) -> Result<Vec<Tag>> {
    let mut stmt = c.prepare_cached(&format!("SELECT key, value FROM {table} WHERE trace_id = ?1 ORDER BY key"))?;
    let rows = stmt.query_map([trace_id], |r| Ok(Tag { key: r.get(0)?, value: r.get(1)? }))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every live trace's pairs in one experiment, by trace id, in key order.
fn pairs_of_experiment(
    c: &Connection,
    table: &str,
    experiment_id: &str,
) -> Result<std::collections::HashMap<String, Vec<Tag>>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT p.trace_id, p.key, p.value FROM {table} p JOIN traces t ON t.trace_id = p.trace_id
         WHERE t.experiment_id = ?1 AND t.deleted = 0 ORDER BY p.trace_id, p.key"
    ))?;
    let mut out: std::collections::HashMap<String, Vec<Tag>> = std::collections::HashMap::new();
    let rows =
        stmt.query_map([experiment_id], |r| Ok((r.get::<_, String>(0)?, Tag { key: r.get(1)?, value: r.get(2)? })))?;
    for row in rows {
        let (trace_id, tag) = row?;
        out.entry(trace_id).or_default().push(tag);
    }
    Ok(out)
}

fn complete(c: &Connection, mut info: TraceInfo) -> Result<TraceInfo> {
    info.tags = pairs(c, "trace_tags", &info.trace_id)?;
    info.trace_metadata = pairs(c, "trace_metadata", &info.trace_id)?;
    Ok(info)
}

impl Store {
    /// A live (not deleted) trace.
    pub fn trace(&self, trace_id: &str) -> Result<Option<TraceInfo>> {
        self.with_reader(|c| {
            let found = c
                .prepare_cached(&format!("SELECT {COLUMNS} FROM traces WHERE trace_id = ?1 AND deleted = 0"))?
                .query_row([trace_id], row)
                .optional()?;
            found.map(|info| complete(c, info)).transpose()
        })
    }

    /// Whether this store holds or ever held (then deleted) a trace.
    pub fn trace_ever_held(&self, trace_id: &str) -> Result<bool> {
        self.with_reader(|c| Ok(c.prepare_cached("SELECT 1 FROM traces WHERE trace_id = ?1")?.exists([trace_id])?))
    }

    /// Every live trace of these experiments, newest first. Tags and
    /// metadata come in one query each per experiment, not per trace.
    pub fn traces(&self, experiment_ids: &[String]) -> Result<Vec<TraceInfo>> {
        self.with_reader(|c| {
            let mut out = Vec::new();
            for id in experiment_ids {
                let canonical = crate::entities::experiments::canonical_experiment(c, id)?;
                let mut stmt = c.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM traces WHERE experiment_id = ?1 AND deleted = 0
                     ORDER BY request_time_ms DESC, trace_id"
                ))?;
                let mut rows = stmt.query_map([&canonical], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
                let mut tags = pairs_of_experiment(c, "trace_tags", &canonical)?;
                let mut metadata = pairs_of_experiment(c, "trace_metadata", &canonical)?;
                for info in &mut rows {
                    info.tags = tags.remove(&info.trace_id).unwrap_or_default();
                    info.trace_metadata = metadata.remove(&info.trace_id).unwrap_or_default();
                }
                out.extend(rows);
            }
            Ok(out)
        })
    }
}
