//! The artifact manifest: which path names which blob. Bytes live in
//! `almanac-blobs`; only the manifest is folded here.

pub(crate) mod queries;

use almanac_core::op::Op;
use rusqlite::{Connection, params};

use super::Mode;
use crate::Result;

/// Folds one of this family's ops into its tables.
pub(super) fn apply(conn: &Connection, op: &Op, _time_ms: i64, _mode: Mode, _op_id: &str) -> Result<()> {
    match op {
        Op::PutArtifact { path, sha256, size } => {
            conn.prepare_cached(
                "INSERT INTO artifacts(path, sha256, size, owner) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(path) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size",
            )?
            .execute(params![path, sha256, *size as i64, almanac_core::op::artifact_owner(path)])?;
        }
        Op::DeleteArtifacts { path } => {
            let (low, high) = crate::search_sql::prefix_range(path);
            conn.prepare_cached("DELETE FROM artifacts WHERE path = ?1 OR (path > ?2 AND path < ?3)")?
                .execute(params![path, low, high])?;
        }
        other => return Err(super::not_this_family(other, "artifacts")),
    }
    Ok(())
}

/// This family's tables, by schema version (see `crate::schema`).
pub(crate) const MIGRATIONS: &[(usize, &str)] = &[
    // 2: artifact manifests. Bytes live in the blob store by sha256.
    (
        2,
        r#"
    CREATE TABLE artifacts (
        path   TEXT PRIMARY KEY,
        sha256 TEXT NOT NULL,
        size   INTEGER NOT NULL,
        owner  TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX artifacts_by_owner ON artifacts(owner);
    CREATE INDEX artifacts_by_sha ON artifacts(sha256);
    "#,
    ),
];
