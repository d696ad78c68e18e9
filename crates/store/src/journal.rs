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

#[derive(serde::Serialize)]
struct Envelope<'a> {
    entity_id: &'a str,
    lamport: i64,
    writer: &'a str,
    time_ms: i64,
    op: &'a Op,
}

/// Appends `op` with the next Lamport time of this store's clock.
pub(crate) fn append(conn: &Connection, ctx: &WriteContext, op: &Op) -> Result<JournalEntry> {
    let last: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = 'lamport'", [], |r| r.get(0)).optional()?;
    let lamport = last.and_then(|s| s.parse::<i64>().ok()).unwrap_or(0) + 1;
    conn.execute(
        "INSERT INTO meta(key, value) VALUES ('lamport', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [lamport.to_string()],
    )?;
    let entity_id = op.entity_id().to_string();
    let payload = serde_json::to_string(op)?;
    let envelope = serde_json::to_vec(&Envelope {
        entity_id: &entity_id,
        lamport,
        writer: &ctx.writer,
        time_ms: ctx.time_ms,
        op,
    })?;
    let op_id = hex::encode(Sha256::digest(&envelope));
    let mut stmt = conn.prepare_cached(
        "INSERT INTO journal(op_id, entity_id, lamport, writer, time_ms, kind, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    stmt.execute(params![op_id, entity_id, lamport, ctx.writer, ctx.time_ms, op.kind(), payload])?;
    Ok(JournalEntry {
        seq: conn.last_insert_rowid(),
        op_id,
        entity_id,
        lamport,
        writer: ctx.writer.clone(),
        time_ms: ctx.time_ms,
        op: op.clone(),
    })
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
