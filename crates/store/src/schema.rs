//! Versioned migrations. `PRAGMA user_version` holds the applied version;
//! each step runs in its own transaction. Each entity family declares its
//! own tables (`MIGRATIONS` beside its fold); a version runs every family's
//! part of it.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use crate::{Result, StoreError, entities};

/// The store's own tables (meta, the journal, sync and import bookkeeping),
/// by schema version.
pub(crate) const OWN: &[(usize, &str)] = &[
    // 1: tracking core.
    (
        1,
        r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

    -- The operation journal: the source of truth that sync exchanges.
    CREATE TABLE journal (
        seq       INTEGER PRIMARY KEY,
        op_id     TEXT NOT NULL UNIQUE,
        entity_id TEXT NOT NULL,
        lamport   INTEGER NOT NULL,
        writer    TEXT NOT NULL,
        time_ms   INTEGER NOT NULL,
        kind      TEXT NOT NULL,
        payload   TEXT NOT NULL
    );
    CREATE INDEX journal_entity ON journal(entity_id, lamport);
"#,
    ),
    // 6: replication. Remotes and sync bookkeeping are local: they never sync.
    (
        6,
        r#"
    CREATE TABLE remotes (
        name      TEXT PRIMARY KEY,
        url       TEXT NOT NULL,
        artifacts TEXT
    ) WITHOUT ROWID;
    CREATE TABLE sync_state (
        remote        TEXT PRIMARY KEY,
        last_sync_ms  INTEGER,
        last_error    TEXT,
        ops_in        INTEGER NOT NULL DEFAULT 0,
        ops_out       INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    -- Pack files of the sync repository already folded into this store.
    CREATE TABLE imported_packs (
        path TEXT PRIMARY KEY
    ) WITHOUT ROWID;
    -- Ops the fold refused (e.g. a param changed concurrently): kept in the
    -- journal, shown in the entity's history, with the reason.
    CREATE TABLE rejected_ops (
        op_id  TEXT PRIMARY KEY,
        reason TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    ),
    // 10: what an import last brought for each field, per source: a
    // re-import writes a field only when the source changed it since, so a
    // local edit made after an import is not overwritten. Local, not synced.
    (
        10,
        r#"
    CREATE TABLE import_marks (
        source TEXT NOT NULL,
        field  TEXT NOT NULL,
        value  TEXT NOT NULL,
        PRIMARY KEY (source, field)
    ) WITHOUT ROWID;
    "#,
    ),
];

/// Every family's tables, in the order a version's parts run: the store's
/// own first, then experiments before the families that name them.
const FAMILIES: &[&[(usize, &str)]] = &[
    OWN,
    entities::experiments::MIGRATIONS,
    entities::runs::MIGRATIONS,
    entities::artifacts::MIGRATIONS,
    entities::logged_models::MIGRATIONS,
    entities::registry::MIGRATIONS,
    entities::review::MIGRATIONS,
    entities::traces::MIGRATIONS,
];

/// The newest schema version any family declares.
pub(crate) const SCHEMA_VERSION: i64 = 14;

/// The SQL of schema version `version`: each family's part, in family order.
fn migration(version: usize) -> String {
    FAMILIES.iter().flat_map(|f| f.iter()).filter(|(v, _)| *v == version).map(|(_, sql)| *sql).collect()
}

pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::TooNew { path: path.to_path_buf(), found: current, supported: SCHEMA_VERSION });
    }
    for index in current as usize..SCHEMA_VERSION as usize {
        let sql = migration(index + 1);
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have migrated while we waited for the lock.
        let now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if now > index as i64 {
            continue;
        }
        tx.execute_batch(&sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "migrated store schema");
    }
    Ok(())
}

/// Reads this store's writer id, recording `fresh` if the store has none.
pub(crate) fn writer_id(conn: &Connection, fresh: &str) -> Result<String> {
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('writer_id', ?1)", [fresh])?;
    let id: Option<String> =
        conn.query_row("SELECT value FROM meta WHERE key = 'writer_id'", [], |r| r.get(0)).optional()?;
    Ok(id.unwrap_or_else(|| fresh.to_string()))
}

#[cfg(test)]
mod migration_tests {
    use super::*;

    #[test]
    fn every_version_has_sql_and_none_is_beyond_the_schema_version() {
        for version in 1..=SCHEMA_VERSION as usize {
            assert!(!migration(version).trim().is_empty(), "version {version} has no SQL");
        }
        let newest = FAMILIES.iter().flat_map(|f| f.iter()).map(|(v, _)| *v).max();
        assert_eq!(newest, Some(SCHEMA_VERSION as usize));
    }
}
