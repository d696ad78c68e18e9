//! The operation journal: one row per [`Op`], in the transaction that applies it.

use almanac_core::op::{Op, WriteContext};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::Result;

/// One recorded operation, as sync will exchange it.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// Local order of arrival; meaningless on other replicas.
    pub seq: i64,
    /// sha256 of the serialized envelope: the same on every replica.
    pub op_id: String,
    pub entity_id: String,
    pub lamport: i64,
    pub writer: String,
    pub time_ms: i64,
    pub op: Op,
}

/// What a write returns: where its op landed in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub seq: i64,
    pub op_id: String,
    pub lamport: i64,
}

/// An op's id: sha256 over its envelope fields and serialized payload, so
/// every replica derives the same id for the same op.
pub(crate) fn op_id(entity_id: &str, lamport: i64, writer: &str, time_ms: i64, payload: &str) -> String {
    let mut h = Sha256::new();
    for part in [entity_id.as_bytes(), writer.as_bytes(), payload.as_bytes()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.update(lamport.to_le_bytes());
    h.update(time_ms.to_le_bytes());
    hex::encode(h.finalize())
}

/// Appends `op` with the next Lamport time of this store's clock.
pub(crate) fn append(conn: &Connection, ctx: &WriteContext, op: &Op) -> Result<Receipt> {
    let last: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = 'lamport'", [], |r| r.get(0)).optional()?;
    let lamport = last.and_then(|s| s.parse::<i64>().ok()).unwrap_or(0) + 1;
    conn.prepare_cached(
        "INSERT INTO meta(key, value) VALUES ('lamport', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute([lamport.to_string()])?;
    let entity_id = op.entity_id();
    let payload = serde_json::to_string(op)?;
    let op_id = op_id(entity_id, lamport, &ctx.writer, ctx.time_ms, &payload);
    let mut stmt = conn.prepare_cached(
        "INSERT INTO journal(op_id, entity_id, lamport, writer, time_ms, kind, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    stmt.execute(params![op_id, entity_id, lamport, ctx.writer, ctx.time_ms, op.kind(), payload])?;
    Ok(Receipt { seq: conn.last_insert_rowid(), op_id, lamport })
}

/// Journal entries with `seq > after`, oldest first, at most `limit`.
pub(crate) fn read_after(conn: &Connection, after: i64, limit: i64) -> Result<Vec<JournalEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, op_id, entity_id, lamport, writer, time_ms, payload FROM journal WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get::<_, String>(6)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, op_id, entity_id, lamport, writer, time_ms, payload) = row?;
        out.push(JournalEntry { seq, op_id, entity_id, lamport, writer, time_ms, op: serde_json::from_str(&payload)? });
    }
    Ok(out)
}
