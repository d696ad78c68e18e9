//! Almanac's store: one folder holding `almanac.db` (SQLite, WAL).
//!
//! There is exactly one write path, [`Store::write`]: it validates an
//! [`Op`] against the current state, appends it to the operation journal and
//! folds it into the query tables, all in one transaction. Git sync (a later
//! issue) exchanges the journal; the query tables are a projection of it.
//!
//! Reads go through a small pool of read-only connections, so searches never
//! wait behind writes (WAL lets readers and the writer proceed together).

mod entities;
mod journal;
mod query;
mod replica;
mod schema;
mod search_sql;
mod write;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use almanac_core::ErrorCode;
use rusqlite::{Connection, OpenFlags};

pub use entities::artifacts::queries::{ArtifactEntry, ArtifactFile};
pub use entities::registry::RegistryQuery;
pub use entities::review::queries::{DatasetSummary, MAX_GROUPS, MetricRange, MetricSummary, RunGroup, RunKeys};
pub use entities::runs::queries::HistoryPage;
pub use journal::{JournalEntry, Receipt};
pub use query::{DatasetFilter, ExperimentQuery, ModelOrder, ModelQuery, RunQuery};
pub use replica::{EntityOp, ImportReport, MAX_LAMPORT, Remote, SyncState};
pub use search_sql::model_order_column;

/// What the store can fail with. Domain errors carry MLflow's code; SQLite
/// and IO errors are internal.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Domain(#[from] almanac_core::Error),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot prepare the store folder {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the store at {path} has schema version {found}, newer than this Almanac ({supported}); upgrade Almanac")]
    TooNew { path: PathBuf, found: i64, supported: i64 },
    #[error("corrupt journal payload: {0}")]
    Payload(#[from] serde_json::Error),
}

impl StoreError {
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::Domain(e) => e.code,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
            {
                ErrorCode::TemporarilyUnavailable
            }
            _ => ErrorCode::InternalError,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub const DB_FILE: &str = "almanac.db";

pub struct Store {
    root: PathBuf,
    writer_id: String,
    write_conn: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl Store {
    /// Opens (creating if needed) the store in `root`. `fresh_writer_id` names
    /// this replica in the journal when the store is new; an existing store
    /// keeps the writer id it was created with.
    pub fn open(root: &Path, fresh_writer_id: &str) -> Result<Store> {
        std::fs::create_dir_all(root).map_err(|source| StoreError::Io { path: root.to_path_buf(), source })?;
        let db_path = root.join(DB_FILE);
        let mut conn = Connection::open(&db_path)?;
        configure(&conn)?;
        schema::migrate(&mut conn, &db_path)?;
        let writer_id = schema::writer_id(&conn, fresh_writer_id)?;
        Ok(Store { root: root.to_path_buf(), writer_id, write_conn: Mutex::new(conn), readers: Mutex::new(Vec::new()) })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// This replica's id in the journal.
    pub fn writer_id(&self) -> &str {
        &self.writer_id
    }

    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    self.root.join(DB_FILE),
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
                )?;
                configure(&c)?;
                c
            }
        };
        let out = f(&conn);
        let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < 8 {
            pool.push(conn);
        }
        out
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // WAL + NORMAL: a commit reaches the OS before we answer, so a killed
    // server loses nothing it acknowledged; only an OS crash could.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Another process (a sync, a CLI command) may hold the write lock briefly.
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    conn.set_prepared_statement_cache_capacity(128);
    Ok(())
}

#[cfg(test)]
mod tests;
