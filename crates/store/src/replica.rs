//! Replication support: taking in ops other replicas recorded, refolding the
//! projection in the one order every replica agrees on, and the local
//! bookkeeping sync needs (remotes, exported and imported positions).
//!
//! The fold order is (Lamport time, writer id, op id): a total order every
//! replica computes alike, so replicas that hold the same ops hold the same
//! state, whatever order the ops arrived in.

use almanac_core::op::Op;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::entities::{Mode, apply};
use crate::journal::{self, JournalEntry};
use crate::{Result, Store, StoreError};

/// Clocks beyond this are "far in the future": refused, so one hostile
/// replica cannot push every later op to the end of time.
pub const MAX_LAMPORT: i64 = 1 << 53;

/// The most one import may advance this replica's clock. A replica offline
/// while its team wrote a billion ops still catches up in one import; an op
/// whose clock sits near `MAX_LAMPORT` is kept (it wins its own fields) but
/// cannot drag every later op of this replica to the end of the range.
pub const MAX_CLOCK_JUMP: i64 = 1 << 32;

/// What taking in a batch of remote ops did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Ops this store did not have before.
    pub added: usize,
    /// Ops it already had (sent twice, or its own coming back).
    pub known: usize,
    /// (entity id, reason) for each op refused before it reached the journal.
    pub refused: Vec<(String, String)>,
}

/// A configured sync remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub name: String,
    pub url: String,
    /// Where artifact bytes go for this remote (a folder), if set.
    pub artifacts: Option<String>,
}

/// The last sync with a remote, as `almanac sync --status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncState {
    pub last_sync_ms: Option<i64>,
    pub last_error: Option<String>,
    pub ops_in: i64,
    pub ops_out: i64,
}

/// One op in an entity's history, and why the fold refused it, if it did.
#[derive(Debug, Clone, PartialEq)]
pub struct EntityOp {
    pub entry: JournalEntry,
    pub refused: Option<String>,
}

/// Query tables in an order that respects foreign keys when deleting.
const PROJECTION_TABLES: &[&str] = &[
    "trace_tags",
    "trace_metadata",
    "traces",
    "experiment_tags",
    "params",
    "run_tags",
    "metrics",
    "latest_metrics",
    "run_inputs",
    "datasets",
    "run_outputs",
    "run_model_inputs",
    "annotations",
    "saved_views",
    "runs",
    "artifacts",
    "logged_model_tags",
    "logged_model_params",
    "logged_model_metrics",
    "logged_models",
    "registered_model_tags",
    "registered_model_aliases",
    "model_version_tags",
    "model_versions",
    "registered_models",
    "experiment_aliases",
    "rejected_ops",
    "experiments",
];

fn meta_i64(conn: &Connection, key: &str) -> Result<i64> {
    let v: Option<String> =
        conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")?.query_row([key], |r| r.get(0)).optional()?;
    Ok(v.and_then(|s| s.parse().ok()).unwrap_or(0))
}

fn set_meta_i64(conn: &Connection, key: &str, value: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value.to_string()])?;
    Ok(())
}

/// Clears the query tables and folds the whole journal into them again.
/// Returns how many ops the fold refused.
fn refold(conn: &Connection) -> Result<usize> {
    for table in PROJECTION_TABLES {
        conn.execute(&format!("DELETE FROM {table}"), [])?;
    }
    crate::entities::registry::plan_version_numbers(conn)?;
    let mut stmt = conn.prepare("SELECT op_id, time_ms, payload FROM journal ORDER BY lamport, writer, op_id")?;
    let rows: Vec<(String, i64, String)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<rusqlite::Result<_>>()?;
    let mut refused = 0;
    for (op_id, time_ms, payload) in rows {
        let outcome = match serde_json::from_str::<Op>(&payload) {
            Ok(op) => {
                conn.execute_batch("SAVEPOINT fold_op")?;
                match apply(conn, &op, time_ms, Mode::Replay, &op_id) {
                    Ok(()) => {
                        conn.execute_batch("RELEASE fold_op")?;
                        Ok(())
                    }
                    Err(StoreError::Domain(e)) => {
                        conn.execute_batch("ROLLBACK TO fold_op; RELEASE fold_op")?;
                        Err(e.message)
                    }
                    Err(other) => return Err(other),
                }
            }
            Err(e) => Err(format!("unreadable op: {e}")),
        };
        if let Err(reason) = outcome {
            refused += 1;
            conn.prepare_cached("INSERT OR REPLACE INTO rejected_ops(op_id, reason) VALUES (?1, ?2)")?
                .execute(params![op_id, reason])?;
        }
    }
    Ok(refused)
}

impl Store {
    /// Takes in ops recorded by other replicas: checks each (its id must be
    /// the hash of its content, its clock sane), adds the new ones to the
    /// journal, witnesses their clocks, and refolds the projection. All in
    /// one transaction: a failure leaves the store as it was.
    pub fn import_ops(&self, entries: &[JournalEntry]) -> Result<ImportReport> {
        let mut report = ImportReport::default();
        let mut conn = self.write_conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut clock = meta_i64(&tx, "lamport")?;
        let ceiling = clock.saturating_add(MAX_CLOCK_JUMP);
        for e in entries {
            let payload = serde_json::to_string(&e.op)?;
            let expected = journal::op_id(&e.entity_id, e.lamport, &e.writer, e.time_ms, &payload);
            let refusal = if expected != e.op_id {
                Some("its id does not match its content".to_string())
            } else if e.entity_id != e.op.entity_id() {
                Some("its entity id does not match the operation".to_string())
            } else if !(1..MAX_LAMPORT).contains(&e.lamport) {
                Some(format!("its clock {} is out of range", e.lamport))
            } else if e.writer.is_empty() || e.writer.len() > 64 {
                Some("its writer id is malformed".to_string())
            } else {
                None
            };
            if let Some(reason) = refusal {
                report.refused.push((e.entity_id.clone(), reason));
                continue;
            }
            let inserted = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO journal(op_id, entity_id, lamport, writer, time_ms, kind, payload)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![e.op_id, e.entity_id, e.lamport, e.writer, e.time_ms, e.op.kind(), payload])?;
            if inserted == 1 {
                report.added += 1;
                clock = clock.max(e.lamport.min(ceiling));
            } else {
                report.known += 1;
            }
        }
        if report.added > 0 {
            set_meta_i64(&tx, "lamport", clock)?;
            refold(&tx)?;
        }
        tx.commit()?;
        Ok(report)
    }

    /// Refolds the projection from the journal. Returns refused-op count.
    pub fn refold(&self) -> Result<usize> {
        let mut conn = self.write_conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let refused = refold(&tx)?;
        tx.commit()?;
        Ok(refused)
    }

    /// This replica's own ops recorded after local sequence `after`, oldest first.
    pub fn own_ops_after(&self, after: i64) -> Result<Vec<JournalEntry>> {
        let writer = self.writer_id.clone();
        Ok(self.journal_after(after, i64::MAX)?.into_iter().filter(|e| e.writer == writer).collect())
    }

    /// How many of this replica's own ops come after journal position
    /// `after`: counted in SQL, since status displays ask often.
    pub fn count_own_ops_after(&self, after: i64) -> Result<usize> {
        self.with_reader(|c| {
            let n: i64 = c
                .prepare_cached("SELECT count(*) FROM journal WHERE seq > ?1 AND writer = ?2")?
                .query_row(params![after, self.writer_id], |r| r.get(0))?;
            Ok(n.max(0) as usize)
        })
    }

    /// The journal position up to which this replica's ops were exported.
    pub fn exported_seq(&self) -> Result<i64> {
        self.with_reader(|c| meta_i64(c, "exported_seq"))
    }

    pub fn set_exported_seq(&self, seq: i64) -> Result<()> {
        let conn = self.write_conn.lock().unwrap_or_else(|p| p.into_inner());
        set_meta_i64(&conn, "exported_seq", seq)
    }

    pub fn is_pack_imported(&self, path: &str) -> Result<bool> {
        self.with_reader(|c| {
            Ok(c.prepare_cached("SELECT 1 FROM imported_packs WHERE path = ?1")?
                .query_row([path], |_| Ok(()))
                .optional()?
                .is_some())
        })
    }

    pub fn mark_packs_imported(&self, paths: &[String]) -> Result<()> {
        let conn = self.write_conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn.prepare_cached("INSERT OR IGNORE INTO imported_packs(path) VALUES (?1)")?;
        for p in paths {
            stmt.execute([p])?;
        }
        Ok(())
    }

    /// Records, for model-version creations, the position on a remote's
    /// history where each first appeared (first record wins). Returns how
    /// many were new.
    pub fn record_version_claims(&self, claims: &[(String, i64)]) -> Result<usize> {
        let conn = self.write_conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut stmt = conn.prepare_cached("INSERT OR IGNORE INTO version_claims(op_id, position) VALUES (?1, ?2)")?;
        let mut added = 0;
        for (op_id, position) in claims {
            added += stmt.execute(params![op_id, position])?;
        }
        Ok(added)
    }

    /// How far along a remote's history claims were recorded: (commit id,
    /// chain length), so the next sync reads only what is newer.
    pub fn claims_mark(&self, remote: &str) -> Result<Option<(String, i64)>> {
        self.with_reader(|c| {
            let v: Option<String> = c
                .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
                .query_row([format!("claims_mark:{remote}")], |r| r.get(0))
                .optional()?;
            Ok(v.and_then(|v| {
                let (oid, len) = v.split_once(' ')?;
                Some((oid.to_string(), len.parse().ok()?))
            }))
        })
    }

    pub fn set_claims_mark(&self, remote: &str, commit: &str, length: i64) -> Result<()> {
        let conn = self.write_conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.prepare_cached(
            "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![format!("claims_mark:{remote}"), format!("{commit} {length}")])?;
        Ok(())
    }

    /// Every op recorded against `entity_id` (a run id, experiment id, model
    /// name...), in fold order, at most `limit`: the values concurrent edits
    /// lost stay here, where a UI can show them.
    pub fn entity_history(&self, entity_id: &str, limit: i64) -> Result<Vec<EntityOp>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT j.seq, j.op_id, j.lamport, j.writer, j.time_ms, j.payload, r.reason
                 FROM journal j LEFT JOIN rejected_ops r ON r.op_id = j.op_id
                 WHERE j.entity_id = ?1 ORDER BY j.lamport, j.writer, j.op_id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![entity_id, limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get::<_, String>(5)?, r.get(6)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (seq, op_id, lamport, writer, time_ms, payload, refused) = row?;
                let op = serde_json::from_str(&payload)?;
                let entry = JournalEntry { seq, op_id, entity_id: entity_id.to_string(), lamport, writer, time_ms, op };
                out.push(EntityOp { entry, refused });
            }
            Ok(out)
        })
    }

    /// The value an import from `source` last brought for `field`.
    pub fn import_mark(&self, source: &str, field: &str) -> Result<Option<String>> {
        self.with_reader(|c| {
            Ok(c.prepare_cached("SELECT value FROM import_marks WHERE source = ?1 AND field = ?2")?
                .query_row(params![source, field], |r| r.get(0))
                .optional()?)
        })
    }

    pub fn set_import_marks(&self, source: &str, marks: &[(String, String)]) -> Result<()> {
        let mut conn = self.write_conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO import_marks(source, field, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT(source, field) DO UPDATE SET value = excluded.value",
            )?;
            for (field, value) in marks {
                stmt.execute(params![source, field, value])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Why the fold refused an op, if it did.
    pub fn refusal(&self, op_id: &str) -> Result<Option<String>> {
        self.with_reader(|c| {
            Ok(c.prepare_cached("SELECT reason FROM rejected_ops WHERE op_id = ?1")?
                .query_row([op_id], |r| r.get(0))
                .optional()?)
        })
    }

    pub fn add_remote(&self, remote: &Remote) -> Result<()> {
        let conn = self.write_conn.lock().unwrap_or_else(|p| p.into_inner());
        let n = conn.execute(
            "INSERT OR IGNORE INTO remotes(name, url, artifacts) VALUES (?1, ?2, ?3)",
            params![remote.name, remote.url, remote.artifacts],
        )?;
        if n == 0 {
            return Err(almanac_core::Error::already_exists(format!("Remote '{}' already exists.", remote.name)).into());
        }
        Ok(())
    }

    pub fn update_remote(&self, remote: &Remote) -> Result<()> {
        let conn = self.write_conn.lock().unwrap_or_else(|p| p.into_inner());
        let n = conn.execute(
            "UPDATE remotes SET url = ?2, artifacts = ?3 WHERE name = ?1",
            params![remote.name, remote.url, remote.artifacts],
        )?;
        if n == 0 {
            return Err(almanac_core::Error::not_found(format!("No remote named '{}'.", remote.name)).into());
        }
        Ok(())
    }

    pub fn remove_remote(&self, name: &str) -> Result<()> {
        let conn = self.write_conn.lock().unwrap_or_else(|p| p.into_inner());
        let n = conn.execute("DELETE FROM remotes WHERE name = ?1", [name])?;
        conn.execute("DELETE FROM sync_state WHERE remote = ?1", [name])?;
        if n == 0 {
            return Err(almanac_core::Error::not_found(format!("No remote named '{name}'.")).into());
        }
        Ok(())
    }

    pub fn remotes(&self) -> Result<Vec<Remote>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached("SELECT name, url, artifacts FROM remotes ORDER BY name")?;
            let rows = stmt.query_map([], |r| Ok(Remote { name: r.get(0)?, url: r.get(1)?, artifacts: r.get(2)? }))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    pub fn sync_state(&self, remote: &str) -> Result<SyncState> {
        self.with_reader(|c| {
            Ok(c.prepare_cached("SELECT last_sync_ms, last_error, ops_in, ops_out FROM sync_state WHERE remote = ?1")?
                .query_row([remote], |r| {
                    Ok(SyncState {
                        last_sync_ms: r.get(0)?,
                        last_error: r.get(1)?,
                        ops_in: r.get(2)?,
                        ops_out: r.get(3)?,
                    })
                })
                .optional()?
                .unwrap_or_default())
        })
    }

    pub fn record_sync(&self, remote: &str, state: &SyncState) -> Result<()> {
        let conn = self.write_conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.execute(
            "INSERT INTO sync_state(remote, last_sync_ms, last_error, ops_in, ops_out) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(remote) DO UPDATE SET last_sync_ms = excluded.last_sync_ms, last_error = excluded.last_error,
                 ops_in = excluded.ops_in, ops_out = excluded.ops_out",
            params![remote, state.last_sync_ms, state.last_error, state.ops_in, state.ops_out],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod projection_tests {
    use super::*;

    /// A table a migration adds is either folded from the journal (and so
    /// cleared by a refold) or named here as replica-local state.
    #[test]
    fn every_table_is_a_projection_or_known_local_state() {
        // version_claims: where each version creation first appeared on a
        // remote, the input that keeps version numbers stable across refolds.
        const LOCAL: &[&str] =
            &["journal", "meta", "remotes", "sync_state", "imported_packs", "import_marks", "version_claims"];
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), "w1").unwrap();
        let tables: Vec<String> = store
            .with_reader(|c| {
                let mut stmt = c.prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )?;
                Ok(stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?)
            })
            .unwrap();
        let unaccounted: Vec<&String> = tables
            .iter()
            .filter(|t| !PROJECTION_TABLES.contains(&t.as_str()) && !LOCAL.contains(&t.as_str()))
            .collect();
        assert!(unaccounted.is_empty(), "tables neither refolded nor local: {unaccounted:?}");
    }
}
